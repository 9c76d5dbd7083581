"""The calls a function makes with its role's credentials, checked against the role's policies before moto.

Why: on AWS the function's role decides what the function may read; moto
checks nothing (and its optional checks ignore conditions). So a call signed
with a role session's credentials (``function_credentials.py``; the SigV4 gate
verified the signature and the session token) comes here first: its IAM
actions and resources (``s3_actions.py``) are evaluated (``iam_policy.py``)
against the role's identity policies, inline and managed, as moto's IAM
backend holds them now (so a policy changed after deploy counts at once), and
against the bucket's policy. The decision is IAM's for a role in the bucket's
own account (IAM User Guide, "Policy evaluation for requests within a single
account"): an explicit Deny in either refuses, else an Allow in either grants,
else the implicit deny. Only what passes reaches moto (through the journal).

S3's answers, as S3 gives them:
- a refusal is 403 ``AccessDenied`` in S3's XML, its message in AWS's form
  ("User: ARN is not authorized to perform: ACTION on resource: "ARN" because
  no identity-based policy allows the ACTION action", or "with an explicit
  deny in ...");
- GetObject/HeadObject of a key that does not exist: 404 only when the role
  may also ``s3:ListBucket`` the bucket, else 403 (S3 API reference,
  GetObject "Permissions"). A GET carries no ``s3:prefix``, so a prefix
  condition on ListBucket does not count.
Request context: the role session's ``aws:PrincipalArn`` (the role),
``aws:PrincipalAccount``, ``aws:PrincipalType`` (AssumedRole), ``aws:userid``,
``aws:RequestedRegion``, ``aws:CurrentTime``/``aws:EpochTime``,
``aws:SourceIp`` (127.0.0.1) and ``aws:SecureTransport`` true (the function
reaches S3 over HTTPS on AWS; plain HTTP to 127.0.0.1 is the emulator's wire),
plus the request's S3 keys.

Not checked (docs/targets.md, "What the local target enforces"): calls to
other services (passed on, logged once per action), permissions boundaries,
session policies, SCPs and RCPs, KMS key policies, ACLs, access points.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from xml.sax.saxutils import escape

from wildrydes_cli.local.awsapi import iam_policy, iam_users, moto_backends, s3_actions
from wildrydes_cli.local.awsapi.function_credentials import RoleSession, Sessions
from wildrydes_cli.local.awsapi.moto_backends import RoleRecord
from wildrydes_cli.local.http import HttpRequest, HttpResponse

LOG = logging.getLogger(__name__)

MAX_PARSED = 512        # parsed policy documents kept (by their text)


class RoleCalls:
    """Checks the calls of role sessions; ``call`` runs in the server's thread pool, as the gate does."""

    def __init__(self, sessions: Sessions, role: Callable[[str], RoleRecord | None] = moto_backends.role_record,
                 bucket_policy: Callable[[str, str, str], str | None] = moto_backends.bucket_policy,
                 clock: Callable[[], float] = time.time):
        self.sessions = sessions
        self._role = role
        self._bucket_policy = bucket_policy
        self.clock = clock
        self._parsed = iam_policy.ParsedPolicies(MAX_PARSED)
        self._unchecked: set[tuple[str, str]] = set()
        self._static: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}   # a session's global keys

    def call(self, session: RoleSession, request: HttpRequest, service: str, region: str,
             forward: Callable[[], HttpResponse]) -> HttpResponse:
        """``forward()`` (moto's answer) when the role may make this call, else S3's refusal."""
        if service != "s3":
            self._note_unchecked(session, service, request)
            return forward()
        headers = {name.lower(): value for name, value in request.headers}
        try:
            s3_call = s3_actions.classify(request.method, request.path, request.query, headers, request.body, region)
        except s3_actions.Unclassified as exc:
            return access_denied(f"The local target cannot tell which permission this S3 request needs ({exc}), "
                                 "so it refuses it for a function's role credentials.")
        try:
            identity, resource_policy = self._policies(session, s3_call.bucket)
        except iam_policy.PolicyError as exc:
            return access_denied(f"The local target cannot evaluate a policy of role {session.role_arn}: {exc}.")
        except LookupError:
            return access_denied(f"User: {session.arn} is not authorized: its role {session.role_arn} no longer "
                                 "exists.")
        context = self._context(session, region, s3_call.keys)
        for action, resource in s3_call.checks:
            decision = decide(identity, resource_policy, session, action, resource, context)
            if not decision.allowed:
                return access_denied(refusal_message(session, action, resource, decision))
        response = forward()
        if s3_call.missing_key_is_403 and _missing_key(request, response):
            listing = decide(identity, resource_policy, session, "s3:ListBucket", s3_call.bucket_arn,
                             self._context(session, region, {}))
            if not listing.allowed:   # S3 does not say "no such key" to whom may not list the bucket
                return access_denied(refusal_message(session, "s3:ListBucket", s3_call.bucket_arn, listing))
        return response

    def invoke_refusal(self, session: RoleSession, region: str, method_arn: str) -> str | None:
        """None when the role may ``execute-api:Invoke`` the method (an AWS_IAM method), else AWS's message."""
        try:
            identity, _ = self._policies(session, "")
        except (iam_policy.PolicyError, LookupError) as exc:
            return f"User: {session.arn} is not authorized to perform: execute-api:Invoke ({exc})"
        decision = decide(identity, None, session, "execute-api:Invoke", method_arn, self._context(session, region, {}))
        return None if decision.allowed else iam_users.denied_message(session.arn, method_arn, decision)

    # -- the role's policies ----------------------------------------------------------------
    def _policies(self, session: RoleSession,
                  bucket: str) -> tuple[list[iam_policy.Policy], iam_policy.Policy | None]:
        role = self._role(session.role_arn)
        if role is None:
            raise LookupError(session.role_arn)
        identity = [self._parse(f"inline policy {name} of role {role.name}", text) for name, text in role.inline]
        identity += [self._parse(f"managed policy {arn} attached to role {role.name}", text)
                     for arn, text in role.managed]
        text = self._bucket_policy(session.account_id, session.region, bucket) if bucket else None
        return identity, self._parse(f"the bucket policy of {bucket}", text) if text else None

    def _parse(self, name: str, text: str) -> iam_policy.Policy:
        return self._parsed.get(name, text)

    def _context(self, session: RoleSession, region: str,
                 keys: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        static = self._static.get((session.access_key_id, region))
        if static is None:
            if len(self._static) >= MAX_PARSED:
                self._static.clear()
            static = self._static[(session.access_key_id, region)] = iam_policy.context(**{
                "aws:PrincipalArn": session.role_arn, "aws:PrincipalAccount": session.account_id,
                "aws:PrincipalType": "AssumedRole", "aws:userid": session.user_id, "aws:RequestedRegion": region,
                "aws:SourceIp": "127.0.0.1", "aws:SecureTransport": "true"})
        now = int(self.clock())
        context = dict(static)
        context["aws:epochtime"] = (str(now),)
        context["aws:currenttime"] = (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),)
        context.update(keys)
        return context

    def _note_unchecked(self, session: RoleSession, service: str, request: HttpRequest) -> None:
        what = (session.role_arn, service)
        if what not in self._unchecked and len(self._unchecked) < 1024:
            self._unchecked.add(what)
            LOG.info("not checked against role %s: %s calls (the local target checks S3 calls only): %s %s",
                     session.role_arn, service, request.method, request.path[:120])


def decide(identity: list[iam_policy.Policy], resource_policy: iam_policy.Policy | None, session: RoleSession,
           action: str, resource: str, context: dict[str, tuple[str, ...]]) -> iam_policy.Decision:
    """The role session's request, evaluated as IAM does within one account."""
    return iam_policy.evaluate_same_account(identity, resource_policy, iam_policy.Request(action, resource, context),
                                            principal={"AWS": (session.arn, session.role_arn)})


def refusal_message(session: RoleSession, action: str, resource: str, decision: iam_policy.Decision) -> str:
    """AWS's access-denied message: who, what, on which resource, and which policy type said so."""
    if decision.effect == iam_policy.EXPLICIT_DENY:
        kind = "a resource-based" if (decision.policy or "").startswith("the bucket policy") else "an identity-based"
        why = f"with an explicit deny in {kind} policy ({decision.policy})"
    else:
        why = f"because no identity-based policy allows the {action} action"
    return f'User: {session.arn} is not authorized to perform: {action} on resource: "{resource}" {why}'


def access_denied(message: str) -> HttpResponse:
    """S3's 403 AccessDenied (HEAD answers carry no body: the front drops it)."""
    request_id = uuid.uuid4().hex[:16].upper()
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>{request_id}</HostId></Error>").encode()
    return HttpResponse(403, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body)


def _missing_key(request: HttpRequest, response: HttpResponse) -> bool:
    if response.status != 404:
        return False
    return request.method == "HEAD" or b"<Code>NoSuchKey</Code>" in response.body[:4096]
