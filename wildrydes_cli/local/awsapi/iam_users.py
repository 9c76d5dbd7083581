"""The emulator account's IAM users as callers of an AWS_IAM method: their access keys, their policies, IAM's word.

Why: on AWS any IAM identity of the account may call a method with
``AuthorizationType: AWS_IAM`` when its policies allow ``execute-api:Invoke``
on the method's ARN, and a user made with ``aws iam create-user`` and
``create-access-key`` is the usual such caller (a CI job, a partner). Without
this, the local target knew only its own credentials and the functions' role
sessions, so such a user got "The security token included in the request is
invalid" locally and an answer by its policies on AWS.

What is read, from moto's IAM as it is at the request (a policy changed or a
key deactivated counts at once): the user an *active* access key belongs to,
its secret (the SigV4 gate checks the signature with it), and the policies that
apply to it: its inline policies, the managed policies attached to it (their
default version), and the same two of every group it is in. They are evaluated
by ``iam_policy.py`` (explicit Deny wins, then Allow, else the implicit deny;
wildcards in ARNs). Not evaluated, as for role sessions: permissions
boundaries, SCPs, the API's resource policy.

These keys are admitted for execute-api requests only: the AWS API calls the
emulator serves still take the local target's own credentials or a function's
role session (auth.py), since nothing checks a user's policy there.

Cached, and still at once: the user found for a key and the decision for
(key, region, method ARN) are kept until moto's IAM generation moves
(``moto_backends.iam_generation``: any IAM or CloudFormation write, a reset),
so a policy attached, detached or given a new default version, a user taken
out of a group, a key deactivated or deleted all count on the very next
request, and a request in between costs two dictionary lookups instead of a
scan of every user and an evaluation of its policies. A decision that could
change with the clock alone (a policy naming ``aws:EpochTime`` or
``aws:CurrentTime``) is never kept. Both caches are bounded (``MAX_CALLERS``,
``MAX_DECISIONS``): unknown keys sent by anyone cannot grow them.

moto's IAM is read through the adapter (``moto_backends.user_by_access_key``).
"""
from __future__ import annotations

import time
from collections.abc import Callable

from wildrydes_cli.local.awsapi import iam_policy
from wildrydes_cli.local.awsapi.moto_backends import (
    UserRecord,
    iam_generation,
    user_by_access_key,
    watch_iam_writes,
)

MAX_PARSED = 512        # parsed policy documents kept (by their text)
MAX_CALLERS = 1024      # access keys -> user (or None: nobody's key) kept for one IAM generation
MAX_DECISIONS = 4096    # (access key, region, method ARN) -> decision kept for one IAM generation
CLOCK_KEYS = ("aws:epochtime", "aws:currenttime")   # in a policy, its decision may change with time alone
_MISSING = object()


class UserCalls:
    """Finds a user by access key and decides its ``execute-api:Invoke``; runs on the event loop's thread."""

    def __init__(self, find: Callable[[str], UserRecord | None] = user_by_access_key,
                 clock: Callable[[], float] = time.time):
        self._find = find
        self.clock = clock
        self._parsed = iam_policy.ParsedPolicies(MAX_PARSED)
        self._generation = -1
        self._callers: dict[str, UserRecord | None] = {}
        self._decisions: dict[tuple[str, str, str, str], str | None] = {}
        watch_iam_writes()

    def _current(self) -> None:
        """Forget every kept answer when moto's IAM was written since they were computed."""
        generation = iam_generation()
        if generation != self._generation:
            self._callers.clear()
            self._decisions.clear()
            self._generation = generation

    def find(self, access_key: str) -> UserRecord | None:
        self._current()
        found = self._callers.get(access_key, _MISSING)
        if found is _MISSING:
            found = self._find(access_key)
            if len(self._callers) >= MAX_CALLERS:
                self._callers.clear()
            self._callers[access_key] = found
        return found      # type: ignore[return-value]

    def invoke_refusal(self, user: UserRecord, region: str, method_arn: str) -> str | None:
        """None when the user's policies allow ``execute-api:Invoke`` on the method, else API Gateway's message."""
        self._current()
        key = (user.access_key_id, user.arn, region, method_arn)
        decided = self._decisions.get(key, _MISSING)
        if decided is not _MISSING:
            return decided      # type: ignore[return-value]
        decided = self._decide(user, region, method_arn)
        if not any(clock in text.lower() for _, text in user.policies for clock in CLOCK_KEYS):
            if len(self._decisions) >= MAX_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = decided
        return decided

    def _decide(self, user: UserRecord, region: str, method_arn: str) -> str | None:
        try:
            policies = [self._parse(name, text) for name, text in user.policies]
        except iam_policy.PolicyError as exc:
            return f"User: {user.arn} is not authorized to perform: execute-api:Invoke on resource: {method_arn} ({exc})"
        now = int(self.clock())
        context = iam_policy.context(**{
            "aws:PrincipalArn": user.arn, "aws:PrincipalAccount": user.account_id, "aws:PrincipalType": "User",
            "aws:userid": user.user_id, "aws:username": user.name, "aws:RequestedRegion": region,
            "aws:SourceIp": "127.0.0.1", "aws:SecureTransport": "true", "aws:EpochTime": str(now),
            "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})
        decision = iam_policy.evaluate(policies, iam_policy.Request("execute-api:Invoke", method_arn, context))
        return None if decision.allowed else denied_message(user.arn, method_arn, decision)

    def _parse(self, name: str, text: str) -> iam_policy.Policy:
        return self._parsed.get(name, text)


def denied_message(caller_arn: str, method_arn: str, decision: iam_policy.Decision) -> str:
    """API Gateway's words for an AWS_IAM refusal, " with an explicit deny" when a Deny decided it."""
    message = f"User: {caller_arn} is not authorized to perform: execute-api:Invoke on resource: {method_arn}"
    return message + " with an explicit deny" if decision.effect == iam_policy.EXPLICIT_DENY else message
