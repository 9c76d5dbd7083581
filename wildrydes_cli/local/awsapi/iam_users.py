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

The reading of moto's IAM backend below belongs with ``moto_backends.py``'s
IAM section; it is kept here so that module's split stays a move.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wildrydes_cli.local.awsapi import iam_policy

MAX_PARSED = 512        # parsed policy documents kept (by their text)


@dataclass(frozen=True)
class UserRecord:
    """An IAM user found by one of its active access keys, with what decides its calls."""

    arn: str
    name: str
    user_id: str
    account_id: str
    access_key_id: str
    secret_access_key: str
    policies: tuple[tuple[str, str], ...]     # (where it comes from, document): inline and managed, groups' too

    def __repr__(self) -> str:                # never print the secret
        return f"UserRecord(arn={self.arn!r}, access_key_id={self.access_key_id!r})"


def _document(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)


def _managed(holder: Any, what: str) -> list[tuple[str, str]]:
    out = []
    for arn, policy in list(holder.managed_policies.items()):
        version = next((v for v in policy.versions if v.version_id == policy.default_version_id), None)
        if version is not None:
            out.append((f"managed policy {arn} attached to {what}", _document(version.document)))
    return out


def user_by_access_key(access_key: str) -> UserRecord | None:
    """The user whose *active* access key this is, in any account moto has made, or None."""
    from moto.iam.models import iam_backends

    for account_id, per_account in list(dict.items(iam_backends)):
        for backend in list(dict.values(per_account)):
            for user in list(backend.users.values()):
                key = next((k for k in list(user.access_keys) if k.access_key_id == access_key), None)
                if key is None:
                    continue
                if key.status != "Active":
                    return None
                policies = [(f"inline policy {name} of user {user.name}", _document(doc))
                            for name, doc in list(user.policies.items())]
                policies += _managed(user, f"user {user.name}")
                for group in list(backend.groups.values()):
                    if any(member is user for member in list(group.users)):
                        policies += [(f"inline policy {name} of group {group.name}", _document(doc))
                                     for name, doc in list(group.policies.items())]
                        policies += _managed(group, f"group {group.name}")
                return UserRecord(arn=user.arn, name=user.name, user_id=user.id, account_id=account_id,
                                  access_key_id=access_key, secret_access_key=key.secret_access_key,
                                  policies=tuple(policies))
    return None


class UserCalls:
    """Finds a user by access key and decides its ``execute-api:Invoke``; runs on the event loop's thread."""

    def __init__(self, find: Callable[[str], UserRecord | None] = user_by_access_key,
                 clock: Callable[[], float] = time.time):
        self._find = find
        self.clock = clock
        self._parsed: dict[tuple[str, str], iam_policy.Policy] = {}

    def find(self, access_key: str) -> UserRecord | None:
        return self._find(access_key)

    def invoke_refusal(self, user: UserRecord, region: str, method_arn: str) -> str | None:
        """None when the user's policies allow ``execute-api:Invoke`` on the method, else API Gateway's message."""
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
        cached = self._parsed.get((name, text))
        if cached is None:
            if len(self._parsed) >= MAX_PARSED:
                self._parsed.clear()
            cached = self._parsed[(name, text)] = iam_policy.parse(text, name)
        return cached


def denied_message(caller_arn: str, method_arn: str, decision: iam_policy.Decision) -> str:
    """API Gateway's words for an AWS_IAM refusal, " with an explicit deny" when a Deny decided it."""
    message = f"User: {caller_arn} is not authorized to perform: execute-api:Invoke on resource: {method_arn}"
    return message + " with an explicit deny" if decision.effect == iam_policy.EXPLICIT_DENY else message
