"""The AWS wrapper's CloudFormation intents (``Aws`` inherits them): deploy a stack, wait for it, read it, delete it.

Why apart from client.py: a stack is the workshop's unit of deployment and has the most
rules of its own: a stack found in progress is waited for (up to half an hour, said while
it lasts), one in a dead state is explained with its first failure from the events (which
real AWS shows and moto does not), and an update with nothing to change is no error.
"""
from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from wildrydes_cli.aws import settle
from wildrydes_cli.aws.boto_errors import message_of
from wildrydes_cli.errors import AwsError, NotFoundError, WildrydesError

LOG = logging.getLogger(__name__)


def outputs_of(stack: dict | None) -> dict[str, str]:
    """A DescribeStacks entry's outputs by key ({} for no stack)."""
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs") or []}


def parameters_of(stack: dict | None) -> dict[str, str]:
    """A DescribeStacks entry's parameters by key ({} for no stack)."""
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters") or []}


class StackIntents:
    """Mixed into ``Aws``: ``client``, ``translate``, ``poll_until``, ``settings``, ``target`` come from there."""

    client: Any
    translate: Any
    poll_until: Any
    settings: Any
    target: Any

    def stack(self, name: str) -> dict | None:
        """The stack's description, or None when it does not exist (or is deleted)."""
        try:
            with self.translate(f"describe stack {name}"):
                stacks = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        except NotFoundError:
            return None
        if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
            return None
        return stacks[0]

    def stack_outputs(self, name: str) -> dict[str, str]:
        stack = self.stack(name)
        if stack is None:
            raise NotFoundError(f"Stack {name} does not exist in {self.settings.region}.")
        return outputs_of(stack)

    def stack_parameters(self, name: str) -> dict[str, str]:
        return parameters_of(self.stack(name))

    def stack_resource_ids(self, stack: str) -> dict[str, str]:
        """Physical ids of the stack's resources, by logical id ({} without a stack)."""
        if self.stack(stack) is None:
            return {}
        with self.translate(f"read the resources of stack {stack}"):
            resources = self.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
        return {r["LogicalResourceId"]: r.get("PhysicalResourceId") or "" for r in resources
                if r.get("LogicalResourceId")}

    def stack_resources(self, name: str) -> list[dict]:
        """The stack's resources (LogicalResourceId, ResourceType, PhysicalResourceId when it has one)."""
        with self.translate(f"read the resources of stack {name}"):
            return list(self.client("cloudformation").describe_stack_resources(StackName=name)["StackResources"])

    def stack_resource_physical_id(self, stack: str, logical_id: str) -> str:
        """What the workshop's Step 1 reads with describe-stack-resources."""
        with self.translate(f"read {logical_id} of stack {stack}"):
            resources = self.client("cloudformation").describe_stack_resources(
                StackName=stack, LogicalResourceId=logical_id)["StackResources"]
        physical = resources[0].get("PhysicalResourceId") if resources else None
        if not physical:
            raise NotFoundError(f"Stack {stack} has no {logical_id}.")
        return physical

    def deploy_stack(self, name: str, template_body: str, parameters: dict[str, str]) -> str:
        """Create the stack or update it in place; returns created, updated or unchanged.

        Only parameters change between runs of one template, which is what
        both CloudFormation and the emulator handle without replacing the API.
        """
        cfn = self.client("cloudformation")
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
        caps = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
        existing = self.stack(name)
        if existing is not None and existing["StackStatus"] in ("ROLLBACK_COMPLETE", "CREATE_FAILED"):
            raise AwsError(f"Stack {name} is {existing['StackStatus']} and cannot be updated: "
                           "run `wildrydes cleanup` and deploy again.")
        if existing is None:
            with self.translate(f"create stack {name}"):
                cfn.create_stack(StackName=name, TemplateBody=template_body, Parameters=params,
                                 Capabilities=caps, Tags=[{"Key": "wildrydes", "Value": "true"}])
            self.wait_stack(name, "create")
            return "created"
        if self._stack_matches(name, existing, template_body, parameters):
            return "unchanged"
        try:
            cfn.update_stack(StackName=name, TemplateBody=template_body, Parameters=params, Capabilities=caps)
        except ClientError as exc:
            if "No updates are to be performed" in message_of(exc):
                return "unchanged"
            with self.translate(f"update stack {name}"):
                raise
        self.wait_stack(name, "update")
        return "updated"

    def stack_is_current(self, name: str, template_body: str, parameters: dict[str, str]) -> bool:
        """Whether the stack exists and was last made from this template with these parameters."""
        stack = self.stack(name)
        return stack is not None and self._stack_matches(name, stack, template_body, parameters)

    def _stack_matches(self, name: str, stack: dict, template_body: str, parameters: dict[str, str]) -> bool:
        """Same template and parameters: skip the update (the emulator would 'update' anyway)."""
        current = parameters_of(stack)
        if any(current.get(k) != v for k, v in parameters.items()):
            return False
        with self.translate(f"read the template of stack {name}"):
            body = self.client("cloudformation").get_template(StackName=name).get("TemplateBody")
        return isinstance(body, str) and body.strip() == template_body.strip()

    def wait_stack(self, name: str, action: str, timeout: float | None = None, poll: float = 3.0) -> str:
        """Wait for our own ``action`` on the stack to finish; a failure names its reason (first failed event)."""
        stack = self.settled_stack(name, timeout=timeout, poll=poll, busy=self.target.stack_stuck_hint)
        if stack is None:
            if action == "delete":
                return "DELETE_COMPLETE"
            raise AwsError(f"Stack {name} disappeared while waiting for {action}.")
        status = stack["StackStatus"]
        if settle.failed(status, action):
            reason = self.first_failure(name) or stack.get("StackStatusReason", "no reason given")
            raise AwsError(settle.failure_message(name, status, reason, action))
        return status

    def settled_stack(self, name: str, timeout: float | None = None, poll: float = 5.0,
                      busy: str = settle.SOMEONE_ELSES) -> dict | None:
        """The stack once no operation runs on it (None when it does not exist or was deleted).

        On AWS a stack is found ``*_IN_PROGRESS`` (an interrupted or concurrent deploy, a console
        action); the emulator's are always settled. Waits at most the target's ``stack_timeout_s``;
        past it, says what is still running and ``busy``: what to do about it.
        """
        found: list[dict | None] = []

        def settled() -> bool:
            found[:] = [self.stack(name)]
            return found[0] is None or not settle.in_progress(found[0]["StackStatus"])

        def still() -> str:
            status = found[0]["StackStatus"] if found and found[0] else "in progress"
            return f"Stack {name} is still {status}"

        self.poll_until(settled, still, busy, timeout=self.target.stack_timeout_s if timeout is None else timeout,
                        poll=poll)
        return found[0]

    def usable_prerequisites(self, name: str) -> dict | None:
        """The prerequisites stack when it is usable, None when absent; a failed one is refused.

        A stack in ROLLBACK_COMPLETE has outputs naming a bucket that was never made (or rolled
        back): writing it to the scratchpad would send every later command to a missing bucket.
        """
        stack = self.settled_stack(name)
        if stack is None:
            return None
        settle.check_usable(name, stack)
        status = stack["StackStatus"]
        if settle.dead(status):
            reason = self.first_failure(name) or stack.get("StackStatusReason") or "no reason given"
            raise AwsError(settle.prerequisites_failed(name, status, reason))
        return stack

    def delete_stack(self, name: str) -> bool:
        """Delete and wait; False when there was no such stack."""
        if self.stack(name) is None:
            return False
        with self.translate(f"delete stack {name}"):
            self.client("cloudformation").delete_stack(StackName=name)
        self.wait_stack(name, "delete")
        return True

    def stack_events(self, name: str) -> list[dict]:
        """The stack's events, newest first (first page: the latest operation's are there)."""
        with self.translate(f"read the events of stack {name}"):
            return list(self.client("cloudformation").describe_stack_events(StackName=name).get("StackEvents", []))

    def first_failure(self, name: str) -> str | None:
        """'Resource: reason' of the first *_FAILED event of the stack's latest operation."""
        try:
            return settle.first_failure(self.stack_events(name))
        except WildrydesError as exc:   # the reason is a courtesy: never hide the failure behind it
            LOG.debug("could not read the events of %s: %s", name, exc)
            return None

    def stack_template(self, name: str) -> str | None:
        """The template body the stack runs now (None without a stack)."""
        if self.stack(name) is None:
            return None
        with self.translate(f"read the template of stack {name}"):
            body = self.client("cloudformation").get_template(StackName=name).get("TemplateBody")
        return body if isinstance(body, str) else None
