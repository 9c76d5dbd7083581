"""Real AWS behaviour that moto lacks, layered over moto on botocore's own event system.

Why a second functional layer: moto models the *state* after each call well,
but it is synchronous and forgiving, so every ``--target aws`` path that only
ran against moto had never met an in-progress stack, a rollback, a throttled
call or an S3 403. ``AwsBehaviour`` keeps moto as the store and scripts the
behaviour on top through botocore's client events, so botocore's parameter
validation (``_convert_to_request_dict``) always runs first and the code under
test sees ordinary boto3 clients:

* ``before-parameter-build``: remember the API parameters of the call;
* ``before-call``: answer instead of moto (scripted errors, stack events);
* ``before-send``: per HTTP attempt, inside botocore's retry loop (throttling);
* ``after-call``: edit moto's parsed answer in place (states, regions).

It is installed into ``botocore.handlers.BUILTIN_HANDLERS`` ahead of moto's
stubber, so every session the CLI creates gets it. Behaviours reproduced,
and where the documentation says so:

1. Asynchronous stack states (CloudFormation User Guide, "Stack status
   codes"; DescribeStacks API): after CreateStack/UpdateStack/DeleteStack the
   stack reports ``*_IN_PROGRESS`` for a few polls; during CREATE_IN_PROGRESS
   there are no ``Outputs``; UpdateStack meanwhile is a ValidationError
   "... is in UPDATE_IN_PROGRESS state and can not be updated"
   (``stack_in_progress`` scripts a stack found that way).
2. Rollbacks with failed events (User Guide, "Troubleshooting CloudFormation"
   / "Viewing stack events"): a failed create ends ROLLBACK_COMPLETE, a failed
   update UPDATE_ROLLBACK_COMPLETE; the cause is the first ``*_FAILED`` event's
   ResourceStatusReason, the stack's own reason only says "The following
   resource(s) failed to create: [...]" (``fail_next``); any status
   (ROLLBACK_FAILED, UPDATE_ROLLBACK_FAILED, DELETE_FAILED) via ``set_status``.
3. Lambda ``LastUpdateStatus: InProgress`` after UpdateFunctionCode /
   UpdateFunctionConfiguration, and ``ResourceConflictException`` (409) for
   an update meanwhile (Lambda Developer Guide, "Lambda function states").
4. S3 403 AccessDenied for a missing key when the caller lacks
   ``s3:ListBucket`` (S3 API Reference, GetObject/HeadObject "Permissions")
   (``deny_list_bucket``).
5. A bucket in another region: HeadBucket's ``BucketRegion`` /
   ``x-amz-bucket-region`` (S3 API Reference, HeadBucket), and a Lambda
   ``Code.S3Bucket`` outside the stack's region failing the create with
   PermanentRedirect (AWS::Lambda::Function Code: "must be in the same
   region") (``bucket_in_region``).
6. API Gateway stage snapshots (API Gateway Developer Guide, "Deploying a
   REST API"; AWS::ApiGateway::Deployment is immutable): a stage serves the
   API as of its last CreateDeployment; a stack update that changes methods
   or resources leaves it stale (``stale_stages``).
7. Throttling that succeeds on retry (AWS SDKs and Tools Reference Guide,
   "Retry behavior", standard mode): ``Throttling`` / ``TooManyRequestsException``
   / ``SlowDown`` for the first attempts of an operation (``throttle``).
8. Another account behind the same profile name (STS GetCallerIdentity)
   (``use_account``).
9. DeleteObjects answering HTTP 200 with per-key ``Errors`` (S3 API Reference,
   DeleteObjects: "the result of each key") (``refuse_delete``).
10. A create or update that makes a named resource which already exists fails
   on that resource with AlreadyExists and rolls back (CloudFormation CLI
   User Guide, "Resource type handler error codes": AlreadyExists, "the
   specified resource already existed before the execution of this handler";
   the create handler of AWS::Logs::LogGroup): always on, for a log group
   named by ``LogGroupName`` that exists outside the stack. moto instead
   answers the CloudFormation call with the Logs service's JSON error, which
   botocore cannot parse.
11. A Lambda function's role must be an existing role's exact ARN, its IAM path
   included (Lambda Developer Guide, "Lambda execution role"; CreateFunction
   InvalidParameterValueException "The role defined for the function cannot be
   assumed by Lambda"): always on; moto takes any ARN.
12. ``LastUpdatedTime`` in DescribeStacks once a stack was updated
   (CloudFormation API Reference, Stack): always on; moto omits it.
13. DeleteStack refused while another operation runs on the stack
   (ValidationError "... cannot be deleted while in status UPDATE_IN_PROGRESS",
   CloudFormation User Guide, "Stack status codes"): with ``stack_in_progress``.
14. Every call into an opt-in region the account has not enabled answers
   InvalidClientTokenId, "The security token included in the request is
   invalid" (AWS Account Management Reference Guide, "Enable or disable AWS
   Regions in your account": opt-in regions are disabled until enabled)
   (``region_not_enabled``).
15. A bucket name taken by another account: bucket names are global, and
   HeadBucket on it answers 403 (S3 API Reference, HeadBucket: "403 Forbidden"
   when the caller has no permission) (``foreign_bucket``).
16. A call the caller's identity may not make: 403 ``AccessDenied`` (IAM User
   Guide, "Troubleshoot access denied error messages"), e.g. a deployer
   allowed iam:PassRole but not iam:GetRolePolicy (``deny``).
17. SageMaker training jobs: asynchronous states, failure, spot interruption, stop,
    a missing iam:PassRole and the quota (``sagemaker_behaviour.py``, mixed in).
18. Lambda versions: a published version is Pending until Active, and PublishVersion during
    an update in progress is a ResourceConflictException (``lambda_version_behaviour.py``, mixed in).
19. API keys and usage plans (API Gateway Developer Guide, "Usage plans and API keys";
   AWS::ApiGateway::ApiKey, UsagePlan, UsagePlanKey): CloudFormation creates the template's
   key (enabled), plan and association, replaces a key whose ``Name`` changed ("If you must
   replace the resource, specify a new name") and deletes them with the stack; moto's
   CloudFormation skips them, so they are made here with API Gateway calls
   (``stack_keys.wanted`` reads the template). A method's ``ApiKeyRequired`` is part of what a
   stage snapshots (behaviour 6): a parameter that flips it (``Auth``) leaves stage prod
   serving the old requirement until the next CreateDeployment ("a key takes effect only
   after the stage is deployed"). Throttling and quotas are applied "on a best-effort basis"
   (same guide, "Usage plans and API keys": not hard limits), which no call to moto can show:
   ``USAGE_PLANS_BEST_EFFORT`` records it for the tests of what the CLI says on this target.
20. API Gateway's IAM authorization of an invoke URL (``execute_api_behaviour.py``, mixed in): unsigned,
   an unknown key, a signature over 5 minutes off, a bad signature, a caller without
   ``execute-api:Invoke``: 403s in API Gateway's words, by the rows of ``tests/execute_api_rules.py``
   (the table the local target is held to too); a method that requires a key: 403 Forbidden without an
   enabled key, each request let through counted, and GetUsage answered from those counts (moto: 404).

Every call is logged in ``calls`` as (service, operation, params) so tests
can assert what was *not* done (no upload before a failing preflight).
"""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from cfn_names import existing_log_group, missing_role
from execute_api_behaviour import ExecuteApiBehaviour
from lambda_version_behaviour import LambdaVersionBehaviour
from moto.core.botocore_stubber import MockRawResponse
from sagemaker_behaviour import SageMakerBehaviour

_PARAMS = "awsbehaviour_params"
USAGE_PLANS_BEST_EFFORT = True   # behaviour 19: API Gateway's throttling and quotas are not hard limits
_THROTTLE = {  # protocol-shaped throttling answers, as the services send them
    "query": (400, {}, "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                       "<Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>"),
    "rest-json": (429, {"x-amzn-ErrorType": "TooManyRequestsException"}, '{"message": "Rate exceeded"}'),
    "json": (400, {}, '{"__type": "ThrottlingException", "message": "Rate exceeded"}'),
    "rest-xml": (503, {}, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
                          "</Error>"),
}


# What a failed create leaves: a stack, and no resource in it.
_EMPTY_STACK = ('{"Conditions": {"Never": {"Fn::Equals": ["a", "b"]}}, '
                '"Resources": {"Nothing": {"Type": "AWS::SNS::Topic", "Condition": "Never"}}}')


def _response(status: int) -> AWSResponse:
    return AWSResponse("https://awsbehaviour.invalid/", status, {}, MockRawResponse(b""))


def _error(status: int, code: str, message: str) -> tuple[AWSResponse, dict]:
    return _response(status), {"Error": {"Code": code, "Message": message},
                               "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}}}


@dataclass
class _Stack:
    pending: list[str] = field(default_factory=list)     # statuses still to report, one per poll
    sticky: str | None = None                             # final status overriding moto's
    reason: str | None = None
    events: list[dict] = field(default_factory=list)      # newest first, as DescribeStackEvents
    last: dict | None = None                              # moto's last description (for DELETE_IN_PROGRESS)
    fail: tuple[str, str] | None = None                   # (resource, reason) for the next operation
    fail_type: str = "AWS::Lambda::Function"              # the failing resource's type
    updated: datetime | None = None                        # LastUpdatedTime


class AwsBehaviour(SageMakerBehaviour, LambdaVersionBehaviour, ExecuteApiBehaviour):
    """Scripted AWS behaviour over moto; use as a context manager (see tests/realaws/conftest.py)."""

    def __init__(self, region: str = "us-east-1", settle_polls: int = 2) -> None:
        self.region = region
        self.settle_polls = settle_polls
        self.calls: list[tuple[str, str, dict]] = []
        self.stacks: dict[str, _Stack] = {}
        self.busy_functions: dict[str, int] = {}
        self.no_list_buckets: set[str] = set()
        self.bucket_regions: dict[str, str] = {}
        self.throttles: dict[tuple[str, str], int] = {}
        self.throttled: list[tuple[str, str]] = []
        self.account: str | None = None
        self.undeletable: set[str] = set()
        self.denied: set[tuple[str, str]] = set()
        self.api_current: dict[str, str] = {}                 # api id -> fingerprint of its methods
        self.stage_served: dict[tuple[str, str], str] = {}    # (api id, stage) -> fingerprint deployed
        self.deployment_ids: dict[str, list[str]] = {}        # api id -> the template's Deployment ids
        self.disabled_regions: set[str] = set()
        self.foreign_buckets: set[str] = set()
        self._local = threading.local()
        self._sagemaker_init()
        self._lambda_versions_init()
        self._execute_api_init()
        self._handlers = [("before-parameter-build", self._remember), ("before-call", self._before_call),
                          ("before-send", self._before_send), ("after-call", self._after_call)]

    # -- installation -------------------------------------------------------------
    def __enter__(self) -> AwsBehaviour:
        for index, handler in enumerate(self._handlers):
            BUILTIN_HANDLERS.insert(index, handler)   # ahead of moto's before-send stubber
        self._execute_api_install()
        return self

    def __exit__(self, *exc: object) -> None:
        self._execute_api_uninstall()
        for handler in self._handlers:
            BUILTIN_HANDLERS.remove(handler)

    def raw(self, service: str) -> Any:
        """A boto3 client that bypasses the scripted behaviour (moto's plain state)."""
        import boto3
        client = boto3.client(service, region_name=self.region)
        client.meta.events.register_first("before-parameter-build", self._mark_raw)
        return client

    @staticmethod
    def _mark_raw(context: dict, **_: Any) -> None:
        context["awsbehaviour_raw"] = True

    # -- scripting API --------------------------------------------------------------
    def stack_in_progress(self, name: str, status: str = "UPDATE_IN_PROGRESS", polls: int = 3) -> None:
        self._stack(name).pending = [status] * polls

    def fail_next(self, name: str, resource: str, reason: str) -> None:
        """The next create/update of ``name`` fails on ``resource`` and rolls back."""
        self._stack(name).fail = (resource, reason)

    def set_status(self, name: str, status: str, reason: str = "") -> None:
        stack = self._stack(name)
        stack.sticky, stack.reason, stack.pending = status, reason or None, []

    def function_busy(self, name: str, polls: int = 2) -> None:
        self.busy_functions[name] = polls

    def deny_list_bucket(self, bucket: str) -> None:
        self.no_list_buckets.add(bucket)

    def bucket_in_region(self, bucket: str, region: str) -> None:
        self.bucket_regions[bucket] = region

    def throttle(self, service: str, operation: str, times: int = 2) -> None:
        self.throttles[(service, operation)] = times

    def refuse_delete(self, key: str) -> None:
        """DeleteObjects answers 200 with a per-key AccessDenied for ``key`` (and keeps it)."""
        self.undeletable.add(key)

    def deny(self, service: str, operation: str) -> None:
        """Every ``operation`` of ``service`` answers AccessDenied for the caller."""
        self.denied.add((service, operation))

    def use_account(self, account: str) -> None:
        self.account = account

    def foreign_bucket(self, bucket: str) -> None:
        """A bucket of another account: every S3 call on it is 403 (the name is global)."""
        self.foreign_buckets.add(bucket)

    def region_not_enabled(self, region: str) -> None:
        """An opt-in region this account has not enabled: every call there is InvalidClientTokenId."""
        self.disabled_regions.add(region)

    def stale_stages(self) -> set[tuple[str, str]]:
        """Stages whose snapshot differs from their API's current methods and resources."""
        return {key for key, served in self.stage_served.items() if self.api_current.get(key[0]) != served}

    def operations(self, service: str | None = None) -> list[str]:
        return [op for svc, op, _ in self.calls if service in (None, svc)]

    # -- event handlers -------------------------------------------------------------
    def _remember(self, params: dict, context: dict, event_name: str, **_: Any) -> None:
        context[_PARAMS] = dict(params)
        if not context.get("awsbehaviour_raw"):
            _, service, operation = event_name.split(".")
            self.calls.append((service, operation, dict(params)))

    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        if request.context.get("awsbehaviour_raw"):
            return None
        _, service, operation = event_name.split(".")
        left = self.throttles.get((service, operation), 0)
        if not left:
            return None
        self.throttles[(service, operation)] = left - 1
        self.throttled.append((service, operation))
        protocol = {"cloudformation": "query", "sts": "query", "iam": "query", "s3": "rest-xml"}.get(
            service, "rest-json")
        status, headers, body = _THROTTLE[protocol]
        return AWSResponse(request.url, status, headers, MockRawResponse(body))

    def _before_call(self, context: dict, event_name: str, **_: Any) -> tuple | None:
        if context.get("awsbehaviour_raw"):
            return None
        _, service, operation = event_name.split(".")
        params = context.get(_PARAMS, {})
        if (service, operation) in self.denied:
            return _error(403, "AccessDenied", f"User: arn:aws:iam::123456789012:user/deployer is not authorized "
                          f"to perform: {service}:{operation} because no identity-based policy allows the "
                          f"{service}:{operation} action")
        if context.get("client_region") in self.disabled_regions:
            code = "InvalidClientTokenId" if service in ("sts", "iam", "cloudformation") else \
                "UnrecognizedClientException"
            return _error(403, code, "The security token included in the request is invalid.")
        if service == "sagemaker":
            return self._before_sagemaker(operation, params)
        if service == "api-gateway" and operation == "GetUsage":     # behaviour 20: moto answers 404
            status, answer = self.get_usage(params)
            return (_response(status), {**answer, "ResponseMetadata": {"HTTPStatusCode": status}}) if status == 200 \
                else _error(status, answer["Error"]["Code"], answer["Error"]["Message"])
        if service == "cloudformation":
            return self._before_cloudformation(operation, params)
        if service == "s3" and params.get("Bucket") in self.foreign_buckets:
            return _error(403, "403" if operation == "HeadBucket" else "AccessDenied",
                          "Forbidden" if operation == "HeadBucket" else "Access Denied")
        if service == "s3" and operation == "DeleteObjects":
            objects = params.get("Delete", {}).get("Objects", [])
            refused = [o for o in objects if o["Key"] in self.undeletable]
            if refused:
                rest = [o for o in objects if o["Key"] not in self.undeletable]
                if rest:
                    self.raw("s3").delete_objects(Bucket=params["Bucket"], Delete={"Objects": rest, "Quiet": True})
                errors = [{"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"} for o in refused]
                return _response(200), {"Errors": errors, "ResponseMetadata": {"HTTPStatusCode": 200}}
        if service == "lambda" and operation in ("PublishVersion", "CreateAlias", "UpdateAlias"):
            conflict = self._before_lambda_version(operation, params)
            if conflict:
                return _error(409, "ResourceConflictException", conflict)
        if service == "lambda" and operation in ("UpdateFunctionConfiguration", "UpdateFunctionCode"):
            name = params.get("FunctionName", "")
            if self.busy_functions.get(name):
                return _error(409, "ResourceConflictException", "The operation cannot be performed at this time. "
                              f"An update is in progress for resource: {name}")
        return None

    def _before_cloudformation(self, operation: str, params: dict) -> tuple | None:
        stack = self.stacks.get(params.get("StackName", ""))
        if operation in ("UpdateStack", "CreateStack"):
            if stack and stack.pending and operation == "UpdateStack":
                return _error(400, "ValidationError", f"Stack:arn:aws:cloudformation:{self.region}:123456789012:"
                              f"stack/{params['StackName']}/x is in {stack.pending[0]} state and can not be updated.")
            taken = existing_log_group(self.raw, self.region, params, operation)
            if taken:
                logical, group = taken
                identifier = json.dumps({"/properties/LogGroupName": group}, separators=(",", ":"))
                return self._failing(params["StackName"], operation, logical, "AWS::Logs::LogGroup", (
                    f"Resource handler returned message: \"Resource of type 'AWS::Logs::LogGroup' with identifier "
                    f"'{identifier}' already exists.\" (RequestToken: {uuid.uuid4()}, HandlerErrorCode: "
                    "AlreadyExists)"))
            unknown = missing_role(self.raw, self.region, params, operation)
            if unknown:
                return self._failing(params["StackName"], operation, unknown[0], "AWS::Lambda::Function", (
                    "Resource handler returned message: \"The role defined for the function cannot be assumed by "
                    f"Lambda. (Service: Lambda, Status Code: 400, Request ID: {uuid.uuid4()})\" "
                    "(HandlerErrorCode: InvalidRequest)"))
        if operation == "DeleteStack" and stack and stack.pending and stack.pending[0] != "DELETE_IN_PROGRESS":
            return _error(400, "ValidationError", f"Stack [{params['StackName']}] cannot be deleted while in "
                          f"status {stack.pending[0]}")
        if operation == "DescribeStackEvents" and stack and stack.events:
            return _response(200), {"StackEvents": [dict(e) for e in stack.events],
                                    "ResponseMetadata": {"HTTPStatusCode": 200}}
        if operation == "DescribeStacks" and stack and stack.last is not None and stack.pending and \
                stack.pending[0] == "DELETE_IN_PROGRESS":
            status = stack.pending.pop(0)
            return _response(200), {"Stacks": [{**stack.last, "StackStatus": status}],
                                    "ResponseMetadata": {"HTTPStatusCode": 200}}
        return None

    def _after_call(self, http_response: Any, parsed: dict, context: dict, event_name: str, **_: Any) -> None:
        if context.get("awsbehaviour_raw"):
            return
        _, service, operation = event_name.split(".")
        params = context.get(_PARAMS, {})
        handler = getattr(self, f"_after_{service.replace('-', '_')}", None)
        if handler is not None:
            handler(operation, params, parsed, http_response)

    # -- per service ------------------------------------------------------------------
    def _stack(self, name: str) -> _Stack:
        return self.stacks.setdefault(name, _Stack())

    def _failing(self, name: str, operation: str, logical: str, kind: str, reason: str) -> tuple:
        """CreateStack/UpdateStack accepted, then failing on ``logical`` and rolled back; moto is not called,
        so an update leaves the stack as it was, and a create leaves a stack with nothing in it."""
        cfn = self.raw("cloudformation")
        if operation == "CreateStack":
            cfn.create_stack(StackName=name, TemplateBody=_EMPTY_STACK)
        stack_id = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
        stack = self._stack(name)
        stack.fail, stack.fail_type = (logical, reason), kind
        return _response(200), {"StackId": stack_id, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def _after_cloudformation(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        if http.status_code >= 300:
            return
        name = params.get("StackName", "")
        if operation in ("CreateStack", "UpdateStack"):
            if operation == "UpdateStack":
                self._stack(name).updated = datetime.now(UTC)
            self._started(name, "CREATE" if operation == "CreateStack" else "UPDATE", params)
        elif operation == "DeleteStack":
            self._keys_and_plans(name, deleted=True)
            stack = self._stack(name)
            stack.sticky, stack.reason, stack.events, stack.fail = None, None, [], None
            stack.pending = ["DELETE_IN_PROGRESS"] * self.settle_polls if stack.last else []
        elif operation == "DescribeStacks":
            for item in parsed.get("Stacks", []):
                stack = self.stacks.get(item["StackName"])
                if stack is None:
                    continue
                if stack.updated is not None:
                    item["LastUpdatedTime"] = stack.updated
                stack.last = dict(item)
                if stack.pending:
                    item["StackStatus"] = stack.pending.pop(0)
                    if item["StackStatus"] == "CREATE_IN_PROGRESS":
                        item.pop("Outputs", None)
                elif stack.sticky:
                    item["StackStatus"] = stack.sticky
                    if stack.reason:
                        item["StackStatusReason"] = stack.reason
                    if stack.sticky.startswith(("ROLLBACK", "CREATE_FAILED")):
                        item.pop("Outputs", None)

    def _started(self, name: str, kind: str, params: dict) -> None:
        stack = self._stack(name)
        stack.pending = [f"{kind}_IN_PROGRESS"] * self.settle_polls
        stack.sticky, stack.reason = None, None
        bucket = next((p.get("ParameterValue") for p in params.get("Parameters", [])
                       if p.get("ParameterKey") == "DataBucket"), None)
        other = self.bucket_regions.get(bucket or "")
        if stack.fail is None and other and other != self.region:
            stack.fail = ("ModelInferenceFunction",
                          f"Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: "
                          f"PermanentRedirect. S3 Error Message: The bucket is in this region: {other}. "
                          f"Please use this region to retry the request\" (Service: Lambda, Status Code: 400)")
        if stack.fail is not None:
            resource, reason = stack.fail
            stack.fail = None
            final = "ROLLBACK_COMPLETE" if kind == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
            stack.sticky = final
            verb = "create" if kind == "CREATE" else "update"
            stack.reason = (f"The following resource(s) failed to {verb}: [{resource}]. "
                            "Rollback requested by user." if kind == "CREATE" else None)
            stack.events = _failure_events(name, kind, resource, reason, final, stack.fail_type)
            stack.fail_type = "AWS::Lambda::Function"
            return   # rolled back: the API is as it was
        self._snapshot_api(name, params.get("TemplateBody", ""), kind, params)
        self._keys_and_plans(name)

    def _keys_and_plans(self, name: str, deleted: bool = False) -> None:
        """What CloudFormation makes of the template's ApiKey, UsagePlan and UsagePlanKey (behaviour 19)."""
        from wildrydes_cli.local.awsapi import moto_backends, stack_keys, stack_rules
        gw = self.raw("apigateway")
        mine = [k for k in gw.get_api_keys(includeValues=True)["items"]
                if (k.get("tags") or {}).get(stack_keys.STACK_TAG) == name]
        plans = [p for p in gw.get_usage_plans()["items"] if (p.get("tags") or {}).get(stack_keys.STACK_TAG) == name]
        want = stack_keys.Wanted()
        if not deleted:
            stack = self.raw("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
            values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
            values.update(stack_rules.pseudo_parameters(stack["StackId"].split(":")[4], self.region, name))
            values.update({r["LogicalResourceId"]: r.get("PhysicalResourceId") or "" for r in
                           self.raw("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
                           if r.get("LogicalResourceId")})
            body = self.raw("cloudformation").get_template(StackName=name)["TemplateBody"]
            want = stack_keys.wanted(moto_backends.parse_template(body) if isinstance(body, str) else body, values)
        tags = {stack_keys.STACK_TAG: name}
        key_ids = {}
        for spec in want.keys:
            found = next((k for k in mine if k["name"] == spec.name), None)
            key_ids[spec.logical] = found["id"] if found else gw.create_api_key(
                name=spec.name, enabled=spec.enabled, tags=tags)["id"]
        for plan in plans:   # plans are made again with the template's limits (AWS updates them in place)
            for key in gw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]:
                gw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
            gw.delete_usage_plan(usagePlanId=plan["id"])
        for spec in want.plans:
            plan_id = gw.create_usage_plan(
                name=spec.name, apiStages=[{"apiId": a, "stage": st} for a, st in spec.stages], tags=tags,
                throttle={"rateLimit": spec.rate or 0.0, "burstLimit": spec.burst or 0},
                **({"quota": {"limit": spec.quota_limit, "period": spec.quota_period or "DAY"}}
                   if spec.quota_limit is not None else {}))["id"]
            for plan_logical, key_logical in want.links:
                if plan_logical == spec.logical and key_logical in key_ids:
                    gw.create_usage_plan_key(usagePlanId=plan_id, keyId=key_ids[key_logical], keyType="API_KEY")
        for key in mine:
            if key["id"] not in key_ids.values():
                gw.delete_api_key(apiKey=key["id"])

    def _snapshot_api(self, name: str, body: str, kind: str, params: dict | None = None) -> None:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in
                   (self.raw("cloudformation").describe_stacks(StackName=name)["Stacks"][0].get("Outputs") or [])}
        api = outputs.get("ApiId")
        if not api or not body:
            return
        values = {p.get("ParameterKey"): p.get("ParameterValue") for p in (params or {}).get("Parameters", [])}
        fingerprint, deployment_ids = _api_fingerprint(body, values)
        renamed = deployment_ids != self.deployment_ids.get(api)   # a new Deployment deploys the stage
        self.api_current[api], self.deployment_ids[api] = fingerprint, deployment_ids
        if kind == "CREATE" or renamed:
            self.stage_served[(api, "prod")] = fingerprint

    def _after_s3(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        bucket = params.get("Bucket", "")
        if operation == "HeadBucket" and bucket in self.bucket_regions and http.status_code < 300:
            parsed["BucketRegion"] = self.bucket_regions[bucket]
            parsed.setdefault("ResponseMetadata", {}).setdefault("HTTPHeaders", {})[
                "x-amz-bucket-region"] = self.bucket_regions[bucket]
        if operation in ("HeadObject", "GetObject") and bucket in self.no_list_buckets and http.status_code == 404:
            http.status_code = 403
            code, message = ("403", "Forbidden") if operation == "HeadObject" else ("AccessDenied", "Access Denied")
            parsed["Error"] = {"Code": code, "Message": message}
            parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 403

    def _after_lambda(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        if http.status_code >= 300:
            return
        self._after_lambda_version(operation, params, parsed)
        name = params.get("FunctionName", "")
        if operation in ("UpdateFunctionConfiguration", "UpdateFunctionCode"):
            self.busy_functions[name] = self.settle_polls
            parsed["LastUpdateStatus"] = "InProgress"
        elif operation in ("GetFunctionConfiguration", "GetFunction"):
            config = parsed.get("Configuration", parsed)
            left = self.busy_functions.get(name, 0)
            if left:
                config["LastUpdateStatus"] = "InProgress"
                self.busy_functions[name] = left - 1
            else:
                config["LastUpdateStatus"] = "Successful"

    def _after_api_gateway(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        if operation == "CreateDeployment" and http.status_code < 300 and params.get("stageName"):
            api = params["restApiId"]
            if api in self.api_current:
                self.stage_served[(api, params["stageName"])] = self.api_current[api]

    def _after_sts(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        if operation == "GetCallerIdentity" and self.account and http.status_code < 300:
            parsed["Account"] = self.account
            parsed["Arn"] = f"arn:aws:iam::{self.account}:user/workshop"


def _failure_events(name: str, kind: str, resource: str, reason: str, final: str,
                    resource_type: str = "AWS::Lambda::Function") -> list[dict]:
    """A stack's events for a failed operation, newest first, as CloudFormation writes them."""
    start = datetime.now(UTC)
    stack_id = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/{uuid.uuid4()}"
    rows = [
        (name, "AWS::CloudFormation::Stack", f"{kind}_IN_PROGRESS", "User Initiated"),
        ("ModelInferenceFunctionRole", "AWS::IAM::Role", f"{kind}_COMPLETE", None),
        (resource, resource_type, f"{kind}_IN_PROGRESS", None),
        (resource, resource_type, f"{kind}_FAILED", reason),
        ("ModelInferenceApi", "AWS::ApiGateway::RestApi", f"{kind}_FAILED", "Resource creation cancelled"),
        (name, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS" if kind == "CREATE"
         else "UPDATE_ROLLBACK_IN_PROGRESS",
         f"The following resource(s) failed to {kind.lower()}: [ModelInferenceApi, {resource}]."),
        (name, "AWS::CloudFormation::Stack", final, None),
    ]
    events = []
    for index, (logical, kind_, status, why) in enumerate(rows):
        event = {"StackId": stack_id, "EventId": str(uuid.uuid4()), "StackName": name,
                 "LogicalResourceId": logical, "ResourceType": kind_, "ResourceStatus": status,
                 "Timestamp": start + timedelta(seconds=index)}
        if why:
            event["ResourceStatusReason"] = why
        events.append(event)
    return list(reversed(events))


def _api_fingerprint(body: str, values: dict | None = None) -> tuple[str, list[str]]:
    """The template's API methods and resources (what a stage snapshots) with the parameters they
    depend on (``Auth`` flips ApiKeyRequired), and whether the Deployment resource is new (a new
    logical id makes CloudFormation deploy the stage)."""
    from cfnlint.decode import decode_str
    template, _ = decode_str(body)
    resources = (template or {}).get("Resources", {})
    api = {k: v for k, v in resources.items()
           if str(v.get("Type", "")).startswith("AWS::ApiGateway::")
           and v.get("Type") not in ("AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage")}
    deployments = sorted(k for k, v in resources.items() if v.get("Type") == "AWS::ApiGateway::Deployment")
    methods = {k: v for k, v in api.items() if v.get("Type") == "AWS::ApiGateway::Method"}
    conditions = (template or {}).get("Conditions", {})
    used = [c for c in conditions if f'"{c}"' in json.dumps(methods, default=str)]
    depends = {p: v for p, v in sorted((values or {}).items())
               if any(f'"{p}"' in json.dumps(conditions[c], default=str) for c in used)}
    return json.dumps([api, depends], sort_keys=True, default=str), deployments

