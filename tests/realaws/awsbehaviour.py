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
and where the documentation says so (a mixed-in module says it for its own):

1. Asynchronous stack states: ``*_IN_PROGRESS`` for a few polls, no ``Outputs`` meanwhile, UpdateStack
   refused (``stack_in_progress``); ``stack_behaviour.py``, mixed in, as 2 and 10-13.
2. Rollbacks with failed events: ROLLBACK_COMPLETE / UPDATE_ROLLBACK_COMPLETE, the cause in the first
   ``*_FAILED`` event (``fail_next``); any status via ``set_status``.
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
6. API Gateway stage snapshots: a stage serves the API as of its last CreateDeployment
   (``stale_stages``); ``api_stage_behaviour.py``, mixed in, as 19.
7. Throttling that succeeds on retry (AWS SDKs and Tools Reference Guide,
   "Retry behavior", standard mode): ``Throttling`` / ``TooManyRequestsException``
   / ``SlowDown`` for the first attempts of an operation (``throttle``).
8. Another account behind the same profile name (STS GetCallerIdentity)
   (``use_account``).
9. DeleteObjects answering HTTP 200 with per-key ``Errors`` (S3 API Reference,
   DeleteObjects: "the result of each key") (``refuse_delete``).
10. A create or update that makes a named log group which already exists fails with AlreadyExists
   and rolls back (moto answers the Logs service's JSON error, which botocore cannot parse).
11. A Lambda function's role must be an existing role's exact ARN, its IAM path included (moto takes any).
12. ``LastUpdatedTime`` in DescribeStacks once a stack was updated (moto omits it).
13. DeleteStack refused while another operation runs on the stack (with ``stack_in_progress``).
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
    a missing iam:PassRole, the quota, and a job failing when its execution role may not read its
    channels or write its model (``sagemaker_behaviour.py``, mixed in).
18. Lambda versions: a published version is Pending until Active, and PublishVersion during
    an update in progress is a ResourceConflictException (``lambda_version_behaviour.py``, mixed in).
19. API keys and usage plans: what CloudFormation makes of a template's ApiKey, UsagePlan and
   UsagePlanKey (moto's CloudFormation skips them), a method's ``ApiKeyRequired`` as part of what a
   stage snapshots (6), throttling and quotas applied on a best-effort basis
   (``USAGE_PLANS_BEST_EFFORT``).
20. API Gateway's IAM authorization of an invoke URL (``execute_api_behaviour.py``, mixed in): unsigned,
   an unknown key, a signature over 5 minutes off, a bad signature, a caller without
   ``execute-api:Invoke``: 403s in API Gateway's words, by the rows of ``tests/execute_api_rules.py``
   (the table the local target is held to too); a method that requires a key: 403 Forbidden without an
   enabled key, each request let through counted, and GetUsage answered from those counts (moto: 404).
21. A stack update changes an IAM role's inline policies and trust policy in place (moto's keeps the
   old ones) (``stack_behaviour.py``).

Every call is logged in ``calls`` as (service, operation, params) so tests
can assert what was *not* done (no upload before a failing preflight).
"""
from __future__ import annotations

import threading
from typing import Any

from answers import error, response
from api_stage_behaviour import ApiStageBehaviour
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from execute_api_behaviour import ExecuteApiBehaviour
from lambda_version_behaviour import LambdaVersionBehaviour
from moto.core.botocore_stubber import MockRawResponse
from sagemaker_behaviour import SageMakerBehaviour
from stack_behaviour import StackBehaviour

_PARAMS = "awsbehaviour_params"
_THROTTLE = {  # protocol-shaped throttling answers, as the services send them
    "query": (400, {}, "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                       "<Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>"),
    "rest-json": (429, {"x-amzn-ErrorType": "TooManyRequestsException"}, '{"message": "Rate exceeded"}'),
    "json": (400, {}, '{"__type": "ThrottlingException", "message": "Rate exceeded"}'),
    "rest-xml": (503, {}, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
                          "</Error>"),
}


class AwsBehaviour(StackBehaviour, ApiStageBehaviour, SageMakerBehaviour, LambdaVersionBehaviour,
                   ExecuteApiBehaviour):
    """Scripted AWS behaviour over moto; use as a context manager (see tests/realaws/conftest.py)."""

    def __init__(self, region: str = "us-east-1", settle_polls: int = 2) -> None:
        self.region = region
        self.settle_polls = settle_polls
        self.calls: list[tuple[str, str, dict]] = []
        self.busy_functions: dict[str, int] = {}
        self.no_list_buckets: set[str] = set()
        self.bucket_regions: dict[str, str] = {}
        self.throttles: dict[tuple[str, str], int] = {}
        self.throttled: list[tuple[str, str]] = []
        self.account: str | None = None
        self.undeletable: set[str] = set()
        self.denied: set[tuple[str, str]] = set()
        self.disabled_regions: set[str] = set()
        self.foreign_buckets: set[str] = set()
        self._local = threading.local()
        self._stacks_init()
        self._api_stages_init()
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
            return error(403, "AccessDenied", f"User: arn:aws:iam::123456789012:user/deployer is not authorized "
                         f"to perform: {service}:{operation} because no identity-based policy allows the "
                         f"{service}:{operation} action")
        if context.get("client_region") in self.disabled_regions:
            code = "InvalidClientTokenId" if service in ("sts", "iam", "cloudformation") else \
                "UnrecognizedClientException"
            return error(403, code, "The security token included in the request is invalid.")
        if service == "sagemaker":
            return self._before_sagemaker(operation, params)
        if service == "api-gateway" and operation == "GetUsage":     # behaviour 20: moto answers 404
            status, answer = self.get_usage(params)
            return (response(status), {**answer, "ResponseMetadata": {"HTTPStatusCode": status}}) if status == 200 \
                else error(status, answer["Error"]["Code"], answer["Error"]["Message"])
        if service == "cloudformation":
            return self._before_cloudformation(operation, params)
        if service == "s3" and params.get("Bucket") in self.foreign_buckets:
            return error(403, "403" if operation == "HeadBucket" else "AccessDenied",
                         "Forbidden" if operation == "HeadBucket" else "Access Denied")
        if service == "s3" and operation == "DeleteObjects":
            objects = params.get("Delete", {}).get("Objects", [])
            refused = [o for o in objects if o["Key"] in self.undeletable]
            if refused:
                rest = [o for o in objects if o["Key"] not in self.undeletable]
                if rest:
                    self.raw("s3").delete_objects(Bucket=params["Bucket"], Delete={"Objects": rest, "Quiet": True})
                errors = [{"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"} for o in refused]
                return response(200), {"Errors": errors, "ResponseMetadata": {"HTTPStatusCode": 200}}
        if service == "lambda" and operation in ("PublishVersion", "CreateAlias", "UpdateAlias"):
            conflict = self._before_lambda_version(operation, params)
            if conflict:
                return error(409, "ResourceConflictException", conflict)
        if service == "lambda" and operation in ("UpdateFunctionConfiguration", "UpdateFunctionCode"):
            name = params.get("FunctionName", "")
            if self.busy_functions.get(name):
                return error(409, "ResourceConflictException", "The operation cannot be performed at this time. "
                             f"An update is in progress for resource: {name}")
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

    def _after_sts(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        if operation == "GetCallerIdentity" and self.account and http.status_code < 300:
            parsed["Account"] = self.account
            parsed["Arn"] = f"arn:aws:iam::{self.account}:user/workshop"

