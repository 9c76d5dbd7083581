"""Stack states as real CloudFormation has them: wait for ``*_IN_PROGRESS``, say why a stack failed.

Why: moto is synchronous, so every stack it shows is settled. On AWS a stack
can be found ``CREATE_IN_PROGRESS`` (an interrupted or concurrent deploy; it
has no Outputs yet) or in a state that needs a person (``*_FAILED``), and the
reason a stack failed is in its events (the first ``*_FAILED``
ResourceStatusReason), not in its own status reason, which only says
"The following resource(s) failed to create: [...]". These rules live here, as
pure functions of a stack's status and events; the wrapper (``client.Aws``) polls
with them (``settled_stack``, ``wait_stack``, ``usable_prerequisites``).
"""
from __future__ import annotations

import logging

from wildrydes_cli.errors import AwsError

LOG = logging.getLogger(__name__)

# States that need manual action, with what to do (CloudFormation User Guide, "Stack status codes").
MANUAL = {
    "ROLLBACK_FAILED": "its rollback failed: delete it in the CloudFormation console (or `aws cloudformation "
                       "delete-stack --stack-name {name}`), then deploy again.",
    "UPDATE_ROLLBACK_FAILED": "its update rollback failed: fix the resource named in its events, then run "
                              "`aws cloudformation continue-update-rollback --stack-name {name}` (skip the "
                              "resource with --resources-to-skip if it is gone), then deploy again.",
    "DELETE_FAILED": "its deletion failed: delete it again in the console, choosing to retain the resource "
                     "named in its events, or remove that resource first.",
}
# A stack that only exists to be deleted (a failed create).
DEAD = ("ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_IN_PROGRESS")
# Stack events that follow the real failure and say nothing about it.
_NOISE = ("Resource creation cancelled", "Resource update cancelled")


def in_progress(status: str) -> bool:
    return status.endswith("_IN_PROGRESS")


def failed(status: str, action: str) -> bool:
    """A settled stack whose ``action`` did not do what was asked (a rollback counts as failed)."""
    return "FAILED" in status or "ROLLBACK" in status or (action == "create" and status != "CREATE_COMPLETE")


def dead(status: str) -> bool:
    """A stack that can only be deleted: its resources were never made, or are being removed."""
    return status in DEAD or status == "DELETE_FAILED"


# What to do when a stack stays busy with an operation we did not start.
SOMEONE_ELSES = "another deploy or a console action is running: wait for it to finish, then run again"


def check_usable(name: str, stack: dict | None) -> None:
    """Refuse a stack in a state that needs a person, with what to do."""
    if stack is None:
        return
    status = stack["StackStatus"]
    if status in MANUAL:
        raise AwsError(f"Stack {name} is {status}: " + MANUAL[status].format(name=name))


def first_failure(events: list[dict]) -> str | None:
    """'Resource: reason' of the first ``*_FAILED`` event of the latest operation.

    ``events`` come newest first (DescribeStackEvents); the latest operation
    starts at the newest stack-level event with reason "User Initiated".
    """
    chronological = list(reversed(events))
    start = 0
    for index, event in enumerate(chronological):
        if event.get("ResourceType") == "AWS::CloudFormation::Stack" and \
                event.get("ResourceStatusReason") == "User Initiated":
            start = index
    for event in chronological[start:]:
        reason = event.get("ResourceStatusReason") or ""
        if event.get("ResourceStatus", "").endswith("_FAILED") and reason not in _NOISE:
            return f"{event.get('LogicalResourceId')}: {reason}"
    return None


def failure_message(name: str, status: str, reason: str, action: str) -> str:
    """What a failed stack operation tells the user (and what to do next)."""
    if status == "UPDATE_ROLLBACK_COMPLETE":
        return (f"Stack {name} update failed and was rolled back (UPDATE_ROLLBACK_COMPLETE): {reason}. "
                "The stack still serves the previous deployment; fix the cause and deploy again.")
    if status in MANUAL:
        return f"Stack {name} ended {status}: {reason}. The stack is " + MANUAL[status].format(name=name)
    return (f"Stack {name} ended {status}: {reason}. `wildrydes cleanup` removes it; fix the cause and "
            f"{'deploy' if action != 'delete' else 'run cleanup'} again.")


def prerequisites_failed(name: str, status: str, reason: str) -> str:
    """Why a failed prerequisites stack is refused, and the way out."""
    return (f"Stack {name} is {status} ({reason}): its bucket and role were not created. Delete it "
            f"(`aws cloudformation delete-stack --stack-name {name}`), then run `wildrydes bootstrap` again.")
