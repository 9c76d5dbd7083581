"""A deployed function's credentials: its execution role, assumed through the emulator's STS as Lambda does.

Why: Lambda runs a function with temporary credentials of the function's role
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``), so
whatever the role may not do fails on AWS. The local runner used to hand the
function the local target's own credentials, which may do anything: a role
that could not read the model worked here and answered 503 on AWS. Now the
runner asks this module for the role's credentials: the role must exist and
trust ``lambda.amazonaws.com`` (as Lambda requires; ``iam_policy`` evaluates
the trust policy, since moto's evaluator raises on a Service principal), then
moto's STS backend issues a session named after the function, as Lambda names
it, for an hour. The SigV4 gate (``auth.py``) finds sessions here by access key
and ``role_calls.py`` checks what they ask against the role's policies.

Expiry: a worker's environment is fixed when it starts, so the runner replaces
a pool whose credentials would expire before a request could finish: a worker
never outlives its credentials. An expired session stays known for a grace
period (a late request is told ``ExpiredToken``, not "unknown key"), then it
is dropped here and from moto, so a daemon that runs for weeks does not grow.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from wildrydes_cli.local.awsapi import iam_policy, moto_backends
from wildrydes_cli.local.awsapi.moto_backends import AssumedCredentials, LambdaFunction, RoleRecord

LOG = logging.getLogger(__name__)

DURATION_SECONDS = 3600                 # STS AssumeRole's default session
FORGET_AFTER_SECONDS = 600              # an expired session is still recognised this long
LAMBDA_SERVICE = "lambda.amazonaws.com"
CANNOT_ASSUME = "The role defined for the function cannot be assumed by Lambda."

T = TypeVar("T")


class RoleNotAssumable(Exception):
    """The function's role is missing or does not trust Lambda: the function cannot run, as on AWS."""


@dataclass(frozen=True)
class RoleSession:
    """One set of temporary credentials for a role, and whom they stand for."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    role_arn: str = ""
    arn: str = ""                       # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
    account_id: str = ""
    role_id: str = ""
    session_name: str = ""
    region: str = "us-east-1"
    expires_at: float = 0.0             # epoch seconds

    @property
    def user_id(self) -> str:
        """``aws:userid`` of a role session: ROLEID:SESSION."""
        return f"{self.role_id}:{self.session_name}"

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets from the role (the function's S3 reader signs with all three)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_SESSION_TOKEN": self.session_token}


def _run(fn: Callable[[], T]) -> T:
    return fn()


class Sessions:
    """The role sessions issued by this daemon: issued for functions, found by access key.

    ``exclusive`` runs the in-process AssumeRole between moto requests (the
    daemon passes ``Persistence.exclusive``); the others are injectable for tests.
    """

    def __init__(self, exclusive: Callable[[Callable[[], AssumedCredentials]], AssumedCredentials] = _run,
                 clock: Callable[[], float] = time.time,
                 role: Callable[[str], RoleRecord | None] = moto_backends.role_record,
                 assume: Callable[[str, str, str, int], AssumedCredentials] = moto_backends.assume_role,
                 forget: Callable[[str, str, str], None] = moto_backends.forget_assumed_role,
                 seed: Callable[[int | None], None] = moto_backends.seed_ids,
                 duration: int = DURATION_SECONDS):
        self._exclusive = exclusive
        self.clock = clock
        self._role, self._assume, self._forget, self._seed = role, assume, forget, seed
        self.duration = duration
        self._by_key: dict[str, RoleSession] = {}
        self._lock = threading.Lock()

    def for_function(self, spec: LambdaFunction) -> RoleSession:
        """Credentials for a function's execution role, session named after the function (blocking)."""
        return self.issue(spec.role, spec.name, spec.region, source_arn=spec.arn)

    def issue(self, role_arn: str, session_name: str, region: str, source_arn: str | None = None) -> RoleSession:
        """Assume ``role_arn`` as Lambda would; ``RoleNotAssumable`` saying why not."""
        role = self._role(role_arn) if role_arn else None
        if role is None:
            raise RoleNotAssumable(f"{CANNOT_ASSUME} Role {role_arn or '(none)'} does not exist.")
        check_trust(role, source_arn)

        def assume() -> AssumedCredentials:
            self._seed(None)   # the secret comes from the OS, not from the journal's reproducible seed
            return self._assume(role.arn, session_name[:64], region, self.duration)

        issued = self._exclusive(assume)
        session = RoleSession(issued.access_key_id, issued.secret_access_key, issued.session_token,
                              role_arn=role.arn, arn=issued.arn, account_id=issued.account_id, role_id=role.role_id,
                              session_name=session_name[:64], region=region, expires_at=issued.expiration)
        with self._lock:
            self._prune()
            self._by_key[session.access_key_id] = session
        LOG.info("function credentials: %s until %s", session.arn,
                 time.strftime("%H:%M:%SZ", time.gmtime(session.expires_at)))
        return session

    def find(self, access_key_id: str) -> RoleSession | None:
        """The session with this access key (expired ones too, for their grace period)."""
        return self._by_key.get(access_key_id)

    def _prune(self) -> None:
        now = self.clock()
        for key, session in list(self._by_key.items()):
            if now > session.expires_at + FORGET_AFTER_SECONDS:
                del self._by_key[key]
                try:
                    self._forget(session.account_id, session.region, key)
                except Exception:   # moto's bookkeeping only: never fail an issue for it
                    LOG.exception("could not drop the expired session %s from moto", key)


def check_trust(role: RoleRecord, source_arn: str | None = None) -> None:
    """Refuse a role whose trust policy does not let Lambda assume it (``RoleNotAssumable``)."""
    try:
        trust = iam_policy.parse(role.trust_policy, f"the trust policy of role {role.name}")
    except iam_policy.PolicyError as exc:
        raise RoleNotAssumable(f"{CANNOT_ASSUME} {exc}.") from None
    request = iam_policy.Request(
        "sts:AssumeRole", role.arn,
        iam_policy.context(**{"aws:SourceAccount": role.account_id, "aws:SourceArn": source_arn}),
        principal={"Service": (LAMBDA_SERVICE,)})
    if not iam_policy.evaluate([trust], request).allowed:
        raise RoleNotAssumable(f"{CANNOT_ASSUME} Its trust policy does not allow {LAMBDA_SERVICE} "
                               "sts:AssumeRole.")
