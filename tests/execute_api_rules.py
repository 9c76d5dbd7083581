"""API Gateway's answers to a request for an AWS_IAM method, as one table both test sets are held to.

The local target's tests (``tests/local/awsapi/test_execute_api_auth.py``, ``tests/e2e/test_e2e_iam.py``)
send each case to the emulator; the real-AWS layer (``tests/realaws/execute_api_behaviour.py``) scripts AWS
by the same rows and ``tests/realaws/test_execute_api_on_real_aws.py`` checks what the CLI says. A rule that
changes here changes for both, so the local front cannot drift from what AWS is documented to do.

Sources (each row names its own):
- KC-SIGV4: AWS Knowledge Center, "How do I troubleshoot signature mismatch errors when I make SigV4 signed
  requests with IAM authentication to API Gateway?" (repost.aws/knowledge-center/api-gateway-iam-sigv4-mismatch):
  unsigned -> "Missing Authentication Token"; a wrong access key -> "The security token included in the request
  is invalid."; a wrong secret -> "The request signature we calculated does not match the signature you
  provided."; no execute-api:Invoke -> "User: arn:aws:iam::...:user/username is not authorized to perform:
  execute-api:Invoke on resource".
- IAM-SIGV4: IAM User Guide, "AWS Signature Version 4 for API requests" (protect against replay): "a request
  must reach AWS within five minutes of the time stamp in the request. Otherwise, AWS denies the request."
  API Gateway's message: "Signature expired: T is now earlier than T0 (NOW - 5 min.)" (InvalidSignatureException).
- KC-403: AWS Knowledge Center, "How do I troubleshoot HTTP 403 Forbidden errors ..." (api-gateway-403-error-
  lambda-authorizer): an explicit deny is worded "... execute-api:Invoke on resource: <arn> with an explicit deny".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_STAMP = r"\d{8}T\d{6}Z"
_ACCOUNT = r"[0-9*]{12}"     # API Gateway may mask the account in the resource ARN


@dataclass(frozen=True)
class Rule:
    """One kind of request and API Gateway's answer to it."""

    name: str
    caller: str          # "none" (unsigned), "unknown" (a key nobody has), "wrong-secret", or a caller's name:
    #                      "allowed" (inline allow), "managed" (managed policy, wildcard resource), "group"
    #                      (a group's policy), "denied" (no policy), "deny" (allow + explicit deny)
    skew: int            # seconds the signature's time is off the receiver's (negative: in the past)
    status: int
    error_type: str | None
    message: str | None  # a regular expression the whole message must match (None: the function's answer)
    source: str


RULES = [
    Rule("unsigned", "none", 0, 403, "MissingAuthenticationTokenException", r"Missing Authentication Token",
         "KC-SIGV4"),
    Rule("unknown access key", "unknown", 0, 403, "UnrecognizedClientException",
         re.escape("The security token included in the request is invalid."), "KC-SIGV4"),
    Rule("wrong secret", "wrong-secret", 0, 403, "InvalidSignatureException",
         re.escape("The request signature we calculated does not match the signature you provided.") + ".*",
         "KC-SIGV4"),
    Rule("signed 6 minutes ago", "allowed", -360, 403, "InvalidSignatureException",
         rf"Signature expired: {_STAMP} is now earlier than {_STAMP} \({_STAMP} - 5 min\.\)", "IAM-SIGV4"),
    Rule("signed 6 minutes ahead", "allowed", 360, 403, "InvalidSignatureException",
         rf"Signature not yet current: {_STAMP} is still later than {_STAMP} \({_STAMP} \+ 5 min\.\)", "IAM-SIGV4"),
    Rule("signed 4 minutes ago", "allowed", -240, 200, None, None, "IAM-SIGV4"),
    Rule("a user with no policy", "denied", 0, 403, "AccessDeniedException",
         rf"User: arn:aws:iam::\d{{12}}:user/denied is not authorized to perform: execute-api:Invoke on resource: "
         rf"arn:aws:execute-api:[a-z0-9-]+:{_ACCOUNT}:\w+/prod/POST/", "KC-SIGV4"),
    Rule("an explicit deny beside an allow", "deny", 0, 403, "AccessDeniedException",
         rf"User: arn:aws:iam::\d{{12}}:user/deny is not authorized to perform: execute-api:Invoke on resource: "
         rf"arn:aws:execute-api:[a-z0-9-]+:{_ACCOUNT}:\w+/prod/POST/ with an explicit deny", "KC-403"),
    Rule("a user with an inline allow", "allowed", 0, 200, None, None, "KC-SIGV4"),
    Rule("a user with an attached managed policy, resource wildcard", "managed", 0, 200, None, None, "KC-SIGV4"),
    Rule("a user allowed through its group", "group", 0, 200, None, None, "KC-SIGV4"),
]

# The policies of the callers named in RULES, for the API whose method ARN prefix is given
def caller_policies(arn_prefix: str) -> dict[str, dict]:
    """caller -> {"inline": [documents], "managed": [documents], "group": [documents]}; ``arn_prefix`` is
    ``arn:aws:execute-api:REGION:ACCOUNT:API_ID``."""
    def allow(resource: str) -> dict:
        return {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource}]}
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "execute-api:*", "Resource": f"{arn_prefix}/prod/*"}]}
    return {
        "allowed": {"inline": [allow(f"{arn_prefix}/prod/POST/*")]},
        "managed": {"managed": [allow("arn:aws:execute-api:*:*:*/prod/*/*")]},
        "group": {"group": [allow(f"{arn_prefix}/*")]},
        "denied": {},
        "deny": {"inline": [allow(f"{arn_prefix}/*")], "managed": [deny]},
    }


def holds(rule: Rule, status: int, error_type: str | None, body: dict) -> bool:
    """Whether an answer is the rule's: status, x-amzn-ErrorType and the whole message."""
    if status != rule.status:
        return False
    if rule.message is None:
        return True
    message = body.get("message", body.get("Message"))
    return error_type == rule.error_type and isinstance(message, str) and re.fullmatch(rule.message, message) is not None


# --- making the callers and their requests (moto's IAM holds the users on both sides) -------------------------

UNKNOWN_KEY = ("AKIAUNKNOWNCALLER000", "x" * 40)


def make_callers(iam, arn_prefix: str) -> dict[str, tuple[str, str]]:
    """The IAM users RULES name, with their policies, each with an access key: caller -> (key id, secret)."""
    import json

    keys = {}
    for name, policies in caller_policies(arn_prefix).items():
        iam.create_user(UserName=name)
        for i, document in enumerate(policies.get("inline", [])):
            iam.put_user_policy(UserName=name, PolicyName=f"invoke-{i}", PolicyDocument=json.dumps(document))
        for i, document in enumerate(policies.get("managed", [])):
            arn = iam.create_policy(PolicyName=f"{name}-managed-{i}", PolicyDocument=json.dumps(document))
            iam.attach_user_policy(UserName=name, PolicyArn=arn["Policy"]["Arn"])
        for i, document in enumerate(policies.get("group", [])):
            group = f"{name}-group-{i}"
            iam.create_group(GroupName=group)
            iam.put_group_policy(GroupName=group, PolicyName="invoke", PolicyDocument=json.dumps(document))
            iam.add_user_to_group(GroupName=group, UserName=name)
        made = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = (made["AccessKeyId"], made["SecretAccessKey"])
    return keys


def credentials_for(rule: Rule, keys: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    if rule.caller == "none":
        return None
    if rule.caller == "unknown":
        return UNKNOWN_KEY
    if rule.caller == "wrong-secret":
        return keys["allowed"][0], "not-the-secret-" + "x" * 25
    return keys[rule.caller]


def signed_headers(url: str, body: bytes, credentials: tuple[str, str] | None, region: str,
                   skew: int = 0) -> dict[str, str]:
    """The headers of a POST signed for execute-api as botocore signs it, ``skew`` seconds off the clock."""
    import datetime
    from unittest import mock

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {"Content-Type": "application/json"}
    if credentials is None:
        return headers
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    when = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(seconds=skew)
    with mock.patch("botocore.auth.get_current_datetime", lambda: when):
        SigV4Auth(Credentials(*credentials), "execute-api", region).add_auth(request)
    return dict(request.headers.items())
