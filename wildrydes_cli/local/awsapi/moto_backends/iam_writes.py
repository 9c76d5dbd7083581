"""A number that changes whenever moto's IAM may have changed: what a cache of IAM's answers is keyed on.

Why: an AWS_IAM method's caller is found and judged from moto's IAM as it is
at the request (iam_users.py), so a policy detached or a key deactivated counts
at once; reading it afresh costs a scan of every user and an evaluation of its
policies on each request (about 3x the signature check itself). A cache keyed
on this generation keeps both: any change moves the number, and the next
request reads IAM again.

What moves it, after the change is made (so an answer computed before a change
is stored under the old number and never served after it):
- every IAM action that is not a read (``Get``/``List``/... by name) through
  moto's IAM responses: the API on the local target, the journal's replay at
  start (it goes through the same responses), ``mock_aws`` in tests;
- every CloudFormation action that is not a read: a stack creates, updates and
  deletes IAM users, groups, keys and policies inside moto without going
  through IAM's responses (``ManagedPolicy.attach_to``, for one);
- a reset of moto's IAM backend (``BaseBackend.reset``: the mock's end, moto's
  reset API);
- ``bump()``, for code that writes into moto's IAM directly (forgetting an
  expired role session's key).
A read that is not named as one (an unknown action) moves it too: a spurious
change costs one fresh read, a missed one would serve a stale answer.
"""
from __future__ import annotations

import threading
from typing import Any

READ_PREFIXES = ("Get", "List", "Describe", "Validate", "Estimate", "Simulate")

_lock = threading.Lock()
_state = {"generation": 0, "watching": False}


def generation() -> int:
    """The current number; equal numbers mean moto's IAM has not been written in between."""
    return _state["generation"]


def bump() -> None:
    with _lock:
        _state["generation"] += 1


def _after_writes(response_class: Any) -> None:
    original = response_class.call_action

    def call_action(self: Any) -> Any:
        try:
            return original(self)
        finally:
            try:
                action = str(self._get_action() or "")
            except Exception:     # an action moto cannot name: counted as a write
                action = ""
            if not action.startswith(READ_PREFIXES):
                bump()

    call_action.__wrapped__ = original  # type: ignore[attr-defined]
    response_class.call_action = call_action


def watch() -> None:
    """Make moto's IAM and CloudFormation writes and IAM resets move the generation (once per process)."""
    with _lock:
        if _state["watching"]:
            return
        _state["watching"] = True
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.iam.models import IAMBackend
    from moto.iam.responses import IamResponse

    _after_writes(IamResponse)
    _after_writes(CloudFormationResponse)
    reset = IAMBackend.reset

    def reset_and_bump(self: Any) -> None:
        try:
            reset(self)
        finally:
            bump()

    IAMBackend.reset = reset_and_bump  # type: ignore[method-assign]
