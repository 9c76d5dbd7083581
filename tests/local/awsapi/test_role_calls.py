"""A function role's calls through the SigV4 gate and the role check, in-process against moto's WSGI app.

Requests are exactly what botocore sends, signed with a role session issued
by function_credentials (token included), then handed to the gate as the
daemon does; what passes reaches moto. S3's documented answers are the
oracle: 403 AccessDenied for what the role may not do, 403 (not 404) for a
missing key when the role may not s3:ListBucket the bucket (S3 API
reference, GetObject "Permissions"), and a prefix condition on ListBucket
granting listings under the prefix only.
"""
from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import boto3
import pytest
from moto import mock_aws

from wildrydes_cli.local.awsapi import wsgi
from wildrydes_cli.local.awsapi.auth import Gate
from wildrydes_cli.local.awsapi.credentials import local_credentials
from wildrydes_cli.local.awsapi.function_credentials import RoleNotAssumable, Sessions
from wildrydes_cli.local.awsapi.role_calls import RoleCalls
from wildrydes_cli.local.http import HttpRequest, HttpResponse

HOST = "127.0.0.1:4566"
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
READ_MODELS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject",
     "Resource": ["arn:aws:s3:::data/models/*", "arn:aws:s3:::data/breeds/*/latest.json"]}]}
LIST_BREEDS = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data",
               "Condition": {"StringLike": {"s3:prefix": "breeds/*"}}}
LIST_ALL = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data"}


class _Captured(Exception):
    pass


@pytest.fixture
def world(tmp_path):
    """moto with a bucket of models, a role Lambda may assume, and a gate that knows its sessions."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="data")
        for key in ("models/m.tar.gz", "breeds/a/latest.json", "secret/s"):
            s3.put_object(Bucket="data", Key=key, Body=key.encode())
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName="fn-role", PolicyName="read", PolicyDocument=json.dumps(READ_MODELS))
        now = [time.time()]
        sessions = Sessions(clock=lambda: now[0])
        keys = local_credentials(tmp_path)
        gate = Gate(tmp_path, keys, clock=lambda: now[0], roles=RoleCalls(sessions, clock=lambda: now[0]))
        yield {"iam": iam, "s3": s3, "role": role, "sessions": sessions, "gate": gate, "keys": keys, "now": now}


def policy(world, *statements):
    world["iam"].put_role_policy(RoleName="fn-role", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": READ_MODELS["Statement"] + list(statements)}))


def signed(call, key: str, secret: str, token: str | None, service: str = "s3") -> HttpRequest:
    """The request botocore would send for ``call(client)`` with these credentials, not sent."""
    client = boto3.client(service, endpoint_url=f"http://{HOST}", region_name="us-east-1", aws_access_key_id=key,
                          aws_secret_access_key=secret, aws_session_token=token)
    holder = {}

    def grab(request, **_):
        holder["request"] = request
        raise _Captured()

    client.meta.events.register("before-send", grab)
    with pytest.raises(_Captured):
        call(client)
    prepared = holder["request"]
    parts = urlsplit(prepared.url)
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    headers.append(("Host", HOST))
    body = prepared.body or b""
    if hasattr(body, "read"):
        body = body.read()
    return HttpRequest(prepared.method, parts.path + (f"?{parts.query}" if parts.query else ""), "HTTP/1.1",
                       headers, body.encode() if isinstance(body, str) else body)


def as_role(world, call, service="s3", session=None, token=None) -> HttpResponse:
    session = session or world["sessions"].issue(world["role"], "fn", "us-east-1")
    request = signed(call, session.access_key_id, session.secret_access_key,
                     session.session_token if token is None else token, service)
    return world["gate"].call(lambda r: wsgi.call_moto(r, 4566), request)


def code(response: HttpResponse) -> str:
    found = re.search(rb"<Code>([^<]+)</Code>", response.body)
    return found.group(1).decode() if found else ""


def message(response: HttpResponse) -> str:
    found = re.search(rb"<Message>([^<]*)</Message>", response.body)
    return found.group(1).decode().replace("&quot;", '"') if found else ""


def get(key):
    return lambda c: c.get_object(Bucket="data", Key=key)


# --- allow and deny -----------------------------------------------------------------------

def test_the_role_reads_what_it_may_and_nothing_else(world):
    allowed = as_role(world, get("models/m.tar.gz"))
    assert allowed.status == 200 and allowed.body == b"models/m.tar.gz"
    refused = as_role(world, get("secret/s"))
    assert refused.status == 403 and code(refused) == "AccessDenied"
    assert message(refused) == ('User: arn:aws:sts::123456789012:assumed-role/fn-role/fn is not authorized to perform: '
                                's3:GetObject on resource: "arn:aws:s3:::data/secret/s" because no identity-based '
                                'policy allows the s3:GetObject action')
    put = as_role(world, lambda c: c.put_object(Bucket="data", Key="models/m.tar.gz", Body=b"overwritten"))
    assert put.status == 403 and "s3:PutObject" in message(put)
    assert world["s3"].get_object(Bucket="data", Key="models/m.tar.gz")["Body"].read() == b"models/m.tar.gz"


def test_an_explicit_deny_in_a_managed_policy_wins_over_the_inline_allow(world):
    iam = world["iam"]
    arn = iam.create_policy(PolicyName="no-models", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::data/models/*"}]}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=arn)
    refused = as_role(world, get("models/m.tar.gz"))
    assert refused.status == 403 and "with an explicit deny in an identity-based policy" in message(refused)
    assert arn in message(refused)


def test_a_policy_changed_after_the_session_was_issued_counts_at_once(world):
    session = world["sessions"].issue(world["role"], "fn", "us-east-1")
    assert as_role(world, get("models/m.tar.gz"), session=session).status == 200
    world["iam"].delete_role_policy(RoleName="fn-role", PolicyName="read")
    assert as_role(world, get("models/m.tar.gz"), session=session).status == 403


def test_the_users_own_credentials_stay_unrestricted(world):
    keys = world["keys"]
    request = signed(get("secret/s"), keys.access_key_id, keys.secret_access_key, None)
    answer = world["gate"].call(lambda r: wsgi.call_moto(r, 4566), request)
    assert answer.status == 200 and answer.body == b"secret/s"


# --- a missing key: 404 only for whom may list the bucket ----------------------------------

def test_a_missing_key_is_403_without_list_bucket(world):
    assert as_role(world, get("models/gone.tar.gz")).status == 403
    head = as_role(world, lambda c: c.head_object(Bucket="data", Key="models/gone.tar.gz"))
    assert head.status == 403


def test_a_missing_key_is_404_with_list_bucket(world):
    policy(world, LIST_ALL)
    missing = as_role(world, get("models/gone.tar.gz"))
    assert missing.status == 404 and code(missing) == "NoSuchKey"
    assert as_role(world, lambda c: c.head_object(Bucket="data", Key="models/gone.tar.gz")).status == 404


def test_a_prefix_condition_lists_under_the_prefix_and_does_not_reveal_missing_keys(world):
    policy(world, LIST_BREEDS)
    breeds = as_role(world, lambda c: c.list_objects_v2(Bucket="data", Prefix="breeds/", Delimiter="/"))
    assert breeds.status == 200 and b"<Prefix>breeds/a/</Prefix>" in breeds.body
    exact = as_role(world, lambda c: c.list_objects_v2(Bucket="data", Prefix="breeds/b/latest.json", MaxKeys=1))
    assert exact.status == 200 and b"<KeyCount>0</KeyCount>" in exact.body   # how the function tells 404 from 403
    elsewhere = as_role(world, lambda c: c.list_objects_v2(Bucket="data", Prefix="models/"))
    assert elsewhere.status == 403 and "s3:ListBucket" in message(elsewhere)
    unprefixed = as_role(world, lambda c: c.list_objects_v2(Bucket="data"))
    assert unprefixed.status == 403
    # a GET carries no s3:prefix: the conditional ListBucket does not turn a missing key into a 404
    missing = as_role(world, get("breeds/b/latest.json"))
    assert missing.status == 403 and "s3:ListBucket" in message(missing)


# --- the bucket policy (same account: an Allow in either grants, a Deny in either refuses) ---

def test_a_bucket_policy_grants_and_denies_the_role(world):
    s3 = world["s3"]
    s3.put_bucket_policy(Bucket="data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": world["role"]}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::data/secret/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/models/*"}]}))
    assert as_role(world, get("secret/s")).status == 200
    denied = as_role(world, get("models/m.tar.gz"))
    assert denied.status == 403 and "explicit deny in a resource-based policy" in message(denied)


# --- the credentials themselves -------------------------------------------------------------

def test_a_session_key_needs_its_own_token(world):
    session = world["sessions"].issue(world["role"], "fn", "us-east-1")
    wrong = as_role(world, get("models/m.tar.gz"), session=session, token="FQoGZXIvYXdzEBYaDnot-the-token")
    assert wrong.status == 403 and code(wrong) == "InvalidToken"
    bare = world["gate"].call(lambda r: wsgi.call_moto(r, 4566),
                              signed(get("models/m.tar.gz"), session.access_key_id, session.secret_access_key, None))
    assert bare.status == 403 and code(bare) == "InvalidToken"


def test_an_expired_session_is_told_expired_token(world):
    session = world["sessions"].issue(world["role"], "fn", "us-east-1")
    world["now"][0] = session.expires_at + 1
    expired = as_role(world, get("models/m.tar.gz"), session=session)
    assert expired.status == 403 and code(expired) == "ExpiredToken"


def test_expired_sessions_are_forgotten_here_and_in_moto(world):
    from moto.sts.models import sts_backends
    old = world["sessions"].issue(world["role"], "fn", "us-east-1")
    world["now"][0] = old.expires_at + 3600
    fresh = world["sessions"].issue(world["role"], "fn", "us-east-1")
    assert world["sessions"].find(old.access_key_id) is None and world["sessions"].find(fresh.access_key_id)
    held = [r.access_key_id for r in sts_backends["123456789012"]["aws"].assumed_roles]
    assert old.access_key_id not in held and fresh.access_key_id in held
    unknown = as_role(world, get("models/m.tar.gz"), session=old)
    assert unknown.status == 403 and code(unknown) == "InvalidAccessKeyId"


def test_other_services_are_not_checked_and_sts_knows_the_session(world):
    answer = as_role(world, lambda c: c.get_caller_identity(), service="sts")
    assert answer.status == 200 and b"assumed-role/fn-role/fn" in answer.body


# --- what the check cannot tell is refused, saying why ----------------------------------------

def test_a_policy_the_local_target_cannot_evaluate_refuses_with_its_name(world):
    policy(world, {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                   "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}})
    refused = as_role(world, get("models/m.tar.gz"))
    assert refused.status == 403 and "DateGreaterThan" in message(refused) and "inline policy read" in message(refused)


def test_an_s3_request_of_unknown_shape_is_refused(world):
    refused = as_role(world, lambda c: c.get_bucket_analytics_configuration(Bucket="data", Id="x"))
    assert refused.status == 403 and "cannot tell which permission" in message(refused)


def test_a_deleted_role_refuses_its_sessions(world):
    session = world["sessions"].issue(world["role"], "fn", "us-east-1")
    world["iam"].delete_role_policy(RoleName="fn-role", PolicyName="read")
    world["iam"].delete_role(RoleName="fn-role")
    refused = as_role(world, get("models/m.tar.gz"), session=session)
    assert refused.status == 403 and "no longer exists" in message(refused)


# --- which roles Lambda may assume ------------------------------------------------------------

@pytest.mark.parametrize("trust, assumable", [
    (LAMBDA_TRUST, True),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "Service": ["lambda.amazonaws.com", "sagemaker.amazonaws.com"]}}]}, True),   # the workshop's role
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                              "Principal": {"Service": "ec2.amazonaws.com"}}]}, False),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "Service": "lambda.amazonaws.com"}, "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}}]},
     False),
])
def test_only_a_role_that_trusts_lambda_is_assumed(world, trust, assumable):
    iam = world["iam"]
    arn = iam.create_role(RoleName="other", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if assumable:
        assert world["sessions"].issue(arn, "fn", "us-east-1").arn.endswith(":assumed-role/other/fn")
    else:
        with pytest.raises(RoleNotAssumable, match="cannot be assumed by Lambda"):
            world["sessions"].issue(arn, "fn", "us-east-1")


def test_a_missing_role_is_not_assumed(world):
    with pytest.raises(RoleNotAssumable, match="does not exist"):
        world["sessions"].issue("arn:aws:iam::123456789012:role/nope", "fn", "us-east-1")


def test_sessions_last_an_hour_and_are_named_after_the_function(world):
    session = world["sessions"].issue(world["role"], "wildrydes-fn", "us-east-1")
    assert session.expires_at - world["now"][0] == pytest.approx(3600, abs=5)
    assert session.arn == "arn:aws:sts::123456789012:assumed-role/fn-role/wildrydes-fn"
    assert session.user_id.startswith("AROA") and session.user_id.endswith(":wildrydes-fn")


def test_the_request_context_has_the_sessions_global_keys(world):
    policy(world, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/secret/*",
                   "Condition": {"ArnEquals": {"aws:PrincipalArn": world["role"]},
                                 "StringEquals": {"aws:PrincipalType": "AssumedRole",
                                                  "aws:PrincipalAccount": "123456789012",
                                                  "aws:RequestedRegion": "us-east-1"},
                                 "StringLike": {"aws:userid": "AROA*:fn"},
                                 "IpAddress": {"aws:SourceIp": "127.0.0.1/32"},
                                 "Bool": {"aws:SecureTransport": "true"},
                                 "NumericGreaterThan": {"aws:EpochTime": "1700000000"},
                                 "StringNotLike": {"aws:CurrentTime": "1999-*"}}})
    assert as_role(world, get("secret/s")).status == 200


def test_other_services_are_logged_once_per_role_and_service(world, caplog):
    caplog.set_level("INFO", logger="wildrydes_cli.local.awsapi.role_calls")
    for _ in range(3):
        assert as_role(world, lambda c: c.get_caller_identity(), service="sts").status == 200
    said = [r.getMessage() for r in caplog.records if "not checked against role" in r.getMessage()]
    assert len(said) == 1 and "sts calls" in said[0] and world["role"] in said[0]


def test_a_role_session_may_call_an_aws_iam_method_only_when_its_policy_allows_execute_api_invoke(world):
    """An AWS_IAM method's caller: the role's policies decide, on the method's ARN (as API Gateway does)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    session = world["sessions"].issue(world["role"], "fn", "us-east-1")
    arn = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/POST/"
    url = f"http://{HOST}/restapis/api1/prod/_user_request_/"
    aws = AWSRequest(method="POST", url=url, data=b"{}", headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(session.access_key_id, session.secret_access_key, session.session_token), "execute-api",
              "us-east-1").add_auth(aws)
    request = HttpRequest("POST", "/restapis/api1/prod/_user_request_/", "HTTP/1.1",
                          [*dict(aws.headers.items()).items(), ("Host", HOST)], b"{}")
    denied = world["gate"].execute_api_refusal(request, arn)
    assert denied == ("AccessDeniedException", f"User: {session.arn} is not authorized to perform: "
                                               f"execute-api:Invoke on resource: {arn}")
    policy(world, {"Effect": "Allow", "Action": "execute-api:Invoke",
                   "Resource": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/POST/*"})
    assert world["gate"].execute_api_refusal(request, arn) is None
    assert world["gate"].execute_api_refusal(request, arn.replace("/POST/", "/GET/")) is not None
    stranger = AWSRequest(method="POST", url=url, data=b"{}", headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIASTRANGER0000000", "secret"), "execute-api", "us-east-1").add_auth(stranger)
    assert world["gate"].execute_api_refusal(HttpRequest(
        "POST", request.target, "HTTP/1.1", [*dict(stranger.headers.items()).items(), ("Host", HOST)], b"{}"), arn) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.")
    unsigned = HttpRequest("POST", request.target, "HTTP/1.1", [("Host", HOST)], b"{}")
    assert world["gate"].execute_api_refusal(unsigned, arn) == ("MissingAuthenticationTokenException",
                                                                "Missing Authentication Token")
