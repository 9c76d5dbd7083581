"""A request to an AWS_IAM method, checked as API Gateway checks it: the signature, then the caller's policies.

Why a module of its own: the SigV4 gate (auth.py) guards the emulator's AWS
APIs with the local target's words and a 15-minute window; a method with
``AuthorizationType: AWS_IAM`` answers in API Gateway's words, with its own
window, and admits more callers. What it does, in order, all 403s before the
function runs (API Gateway Developer Guide, "Control access to a REST API
with IAM permissions"; AWS Knowledge Center, "How do I troubleshoot signature
mismatch errors when I make SigV4 signed requests with IAM authentication to
API Gateway?"):

1. not signed (no Authorization header, no presigned query): ``Missing
   Authentication Token`` (MissingAuthenticationTokenException);
2. an access key nobody has: ``The security token included in the request is
   invalid.`` (UnrecognizedClientException);
3. a request time more than 5 minutes from ours: ``Signature expired: T is now
   earlier than T0 (NOW - 5 min.)`` or ``Signature not yet current: T is still
   later than T1 (NOW + 5 min.)`` (InvalidSignatureException). Five, not the
   gate's fifteen: the IAM User Guide ("AWS Signature Version 4 for API
   requests", protect against replay) says a request must reach AWS within five
   minutes of its time stamp, and API Gateway's message names 5 min;
4. a signature that does not match: ``The request signature we calculated does
   not match the signature you provided. ...`` (InvalidSignatureException);
   scoped to another service: ``Credential should be scoped to correct
   service: 'execute-api'.``;
5. a caller whose policies do not allow ``execute-api:Invoke`` on the method's
   ARN: ``User: ARN is not authorized to perform: execute-api:Invoke on
   resource: METHOD_ARN`` (AccessDeniedException, key ``Message``), ending
   "with an explicit deny" when a Deny decided it.

Callers: the local target's own credentials (the account's user, allowed
everything), a function's role session (its role's policies: role_calls.py),
and the account's IAM users by their active access keys (their and their
groups' inline and managed policies: iam_users.py).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from wildrydes_cli.local.awsapi.function_credentials import RoleSession
from wildrydes_cli.local.awsapi.iam_users import UserRecord
from wildrydes_cli.local.awsapi.sigv4 import Refused, parse_signature

if TYPE_CHECKING:
    from wildrydes_cli.local.awsapi.auth import Gate

MAX_SKEW_SECONDS = 5 * 60
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your "
                      "AWS Secret Access Key and signing method. Consult the service documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."
REFUSALS = {   # the gate's reason -> (x-amzn-ErrorType, message); the others keep the gate's message
    "missing": ("MissingAuthenticationTokenException", "Missing Authentication Token"),
    "signature": ("InvalidSignatureException", SIGNATURE_MISMATCH),
    "unknown_key": ("UnrecognizedClientException", INVALID_TOKEN),
    "token": ("UnrecognizedClientException", INVALID_TOKEN),
    "expired_token": ("ExpiredTokenException", "The security token included in the request is expired"),
}


def _stamp(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def skew_message(amz_date: str, now: float) -> str:
    """API Gateway's words for a request time outside the 5-minute window."""
    if amz_date < _stamp(now):
        return (f"Signature expired: {amz_date} is now earlier than {_stamp(now - MAX_SKEW_SECONDS)} "
                f"({_stamp(now)} - 5 min.)")
    return (f"Signature not yet current: {amz_date} is still later than {_stamp(now + MAX_SKEW_SECONDS)} "
            f"({_stamp(now)} + 5 min.)")


def refusal(gate: Gate, request, method_arn: str) -> tuple[str, str] | None:
    """None when the request may invoke ``method_arn``; else (x-amzn-ErrorType, message), always a 403."""
    if request.header("authorization") is None and "X-Amz-Signature=" not in request.query:
        return REFUSALS["missing"]
    try:
        signed, caller = gate.verify(request, users=gate.users, max_skew=MAX_SKEW_SECONDS)
    except Refused as exc:
        gate.log_refusal(request, exc)
        if exc.reason == "skew":
            return "InvalidSignatureException", skew_message(parse_signature(request).amz_date, gate.clock())
        return REFUSALS.get(exc.reason, ("IncompleteSignatureException", str(exc)))
    if signed.service != "execute-api":
        return "InvalidSignatureException", "Credential should be scoped to correct service: 'execute-api'. "
    denied = None
    if isinstance(caller, RoleSession) and gate.roles is not None:
        denied = gate.roles.invoke_refusal(caller, signed.region, method_arn)
    elif isinstance(caller, UserRecord) and gate.users is not None:
        denied = gate.users.invoke_refusal(caller, signed.region, method_arn)
    elif caller is not None:     # a caller of a kind nobody checks: refused, never let through
        denied = f"User: {signed.access_key} is not authorized to perform: execute-api:Invoke on resource: {method_arn}"
    return ("AccessDeniedException", denied) if denied is not None else None
