"""Real CloudFormation stack behaviour that moto lacks, for ``AwsBehaviour`` (mixed into it).

moto's CloudFormation is synchronous and forgiving: a stack is complete as soon
as it is asked for, and it takes what AWS refuses. CloudFormation does this
instead, and so does this layer (the numbers are those of awsbehaviour.py's
index):

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
21. An update that changes an ``AWS::IAM::Role``'s ``Policies`` or
   ``AssumeRolePolicyDocument`` changes them in place (AWS::IAM::Role reference: both
   "Update requires: No interruption"): always on; moto's update keeps the old ones (the
   local target's fix, ``moto_backends.apply_role_updates``, applied here too).
And the stack's half of behaviour 5: a Lambda ``Code.S3Bucket`` outside the
stack's region fails the create with PermanentRedirect (AWS::Lambda::Function
Code: "must be in the same region") (``bucket_in_region``).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from answers import error, response
from cfn_names import existing_log_group, missing_role

# What a failed create leaves: a stack, and no resource in it.
_EMPTY_STACK = ('{"Conditions": {"Never": {"Fn::Equals": ["a", "b"]}}, '
                '"Resources": {"Nothing": {"Type": "AWS::SNS::Topic", "Condition": "Never"}}}')


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


class StackBehaviour:
    """Mixed into ``AwsBehaviour``: ``region``, ``settle_polls``, ``bucket_regions`` and ``raw`` come from there,
    ``_snapshot_api`` and ``_keys_and_plans`` from ``ApiStageBehaviour``."""

    region: str
    settle_polls: int
    bucket_regions: dict[str, str]
    raw: Callable[[str], Any]
    _snapshot_api: Callable[..., None]
    _keys_and_plans: Callable[..., None]

    def _stacks_init(self) -> None:
        self.stacks: dict[str, _Stack] = {}

    # -- scripting API --------------------------------------------------------------
    def stack_in_progress(self, name: str, status: str = "UPDATE_IN_PROGRESS", polls: int = 3) -> None:
        self._stack(name).pending = [status] * polls

    def fail_next(self, name: str, resource: str, reason: str) -> None:
        """The next create/update of ``name`` fails on ``resource`` and rolls back."""
        self._stack(name).fail = (resource, reason)

    def set_status(self, name: str, status: str, reason: str = "") -> None:
        stack = self._stack(name)
        stack.sticky, stack.reason, stack.pending = status, reason or None, []

    # -- handlers -------------------------------------------------------------------
    def _before_cloudformation(self, operation: str, params: dict) -> tuple | None:
        stack = self.stacks.get(params.get("StackName", ""))
        if operation in ("UpdateStack", "CreateStack"):
            if stack and stack.pending and operation == "UpdateStack":
                return error(400, "ValidationError", f"Stack:arn:aws:cloudformation:{self.region}:123456789012:"
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
            return error(400, "ValidationError", f"Stack [{params['StackName']}] cannot be deleted while in "
                         f"status {stack.pending[0]}")
        if operation == "DescribeStackEvents" and stack and stack.events:
            return response(200), {"StackEvents": [dict(e) for e in stack.events],
                                   "ResponseMetadata": {"HTTPStatusCode": 200}}
        if operation == "DescribeStacks" and stack and stack.last is not None and stack.pending and \
                stack.pending[0] == "DELETE_IN_PROGRESS":
            status = stack.pending.pop(0)
            return response(200), {"Stacks": [{**stack.last, "StackStatus": status}],
                                   "ResponseMetadata": {"HTTPStatusCode": 200}}
        return None

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
        return response(200), {"StackId": stack_id, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def _after_cloudformation(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        if http.status_code >= 300:
            return
        name = params.get("StackName", "")
        if operation in ("CreateStack", "UpdateStack"):
            if operation == "UpdateStack":
                self._stack(name).updated = datetime.now(UTC)
                from wildrydes_cli.local.awsapi.moto_backends import apply_role_updates
                apply_role_updates("123456789012", self.region, name)
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

