"""Reading a failed stack's events: the first *_FAILED of the latest operation, not the noise after it."""
from __future__ import annotations

from wildrydes_cli.aws import settle


def _event(logical: str, status: str, reason: str | None = None, stack: bool = False) -> dict:
    event = {"LogicalResourceId": logical, "ResourceStatus": status,
             "ResourceType": "AWS::CloudFormation::Stack" if stack else "AWS::Lambda::Function"}
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def test_first_failure_of_the_latest_operation():
    chronological = [
        _event("s", "CREATE_IN_PROGRESS", "User Initiated", stack=True),
        _event("Old", "CREATE_FAILED", "an old failure"),
        _event("s", "UPDATE_IN_PROGRESS", "User Initiated", stack=True),
        _event("Api", "UPDATE_FAILED", "Resource update cancelled"),
        _event("Fn", "UPDATE_FAILED", "Memory size out of range"),
        _event("Other", "UPDATE_FAILED", "a consequence"),
    ]
    assert settle.first_failure(list(reversed(chronological))) == "Fn: Memory size out of range"


def test_no_failure_without_failed_events():
    assert settle.first_failure([_event("s", "CREATE_COMPLETE", stack=True)]) is None


def test_messages_name_the_next_step():
    assert "still serves the previous deployment" in settle.failure_message("s", "UPDATE_ROLLBACK_COMPLETE", "r", "update")
    assert "continue-update-rollback --stack-name s" in settle.failure_message("s", "UPDATE_ROLLBACK_FAILED", "r", "update")
    assert "`wildrydes cleanup` removes it" in settle.failure_message("s", "ROLLBACK_COMPLETE", "r", "create")
