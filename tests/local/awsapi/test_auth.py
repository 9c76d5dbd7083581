"""The local target's SigV4 gate (wildrydes_cli/local/awsapi/auth.py), with botocore as the oracle.

Two layers: requests exactly as botocore serialises and signs them for each
service the CLI uses, captured before sending and fed to the gate (with an
injected clock); and the same over real HTTP against a real daemon on a free
port - signed calls pass, unsigned and wrongly signed ones (wrong secret,
tampered body or path, an old date, another key) are refused with the error
code an SDK expects and the fix in the message.
"""
from __future__ import annotations

import datetime
import hashlib
import http.client
import json
import os
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import botocore.auth
import emulated
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from wildrydes_cli.local.awsapi.auth import Gate
from wildrydes_cli.local.awsapi.credentials import credentials_file, local_credentials
from wildrydes_cli.local.awsapi.sigv4 import canonical_path, canonical_query
from wildrydes_cli.local.http import HttpRequest

FIX = 'eval "$(wildrydes local env)"'
SERVICES = ("s3", "cloudformation", "lambda", "apigateway", "iam", "sts")


def Req(method: str, target: str, headers=(), body: bytes = b"") -> HttpRequest:  # noqa: N802
    """A request as the daemon's parser hands it to the gate."""
    return HttpRequest(method, target, "HTTP/1.1", list(headers), body)


class _Captured(Exception):
    pass


def captured(service: str, call, key: str, secret: str, host: str = "127.0.0.1:4566",
             config: Config | None = None) -> Req:
    """The request botocore would send for ``call(client)``, signed with (key, secret), not sent."""
    client = boto3.client(service, endpoint_url=f"http://{host}", region_name="us-east-1",
                          aws_access_key_id=key, aws_secret_access_key=secret, config=config)
    holder = {}

    def grab(request, **_):
        holder["request"] = request
        raise _Captured()

    client.meta.events.register("before-send", grab)
    with pytest.raises(_Captured):
        call(client)
    prepared = holder["request"]
    parts = urlsplit(prepared.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    headers.append(("Host", host))  # added by the HTTP client, signed by botocore
    body = prepared.body or b""
    if hasattr(body, "read"):
        body = body.read()
    return Req(prepared.method, target, headers, body.encode() if isinstance(body, str) else body)


CALLS = {
    "s3": [lambda c: c.list_buckets(), lambda c: c.put_object(Bucket="data-bucket", Key="a b/c+d%e~f=g&h", Body=b"x"),
           lambda c: c.list_objects_v2(Bucket="data-bucket", Prefix="linear-learner-", MaxKeys=5),
           lambda c: c.delete_objects(Bucket="data-bucket", Delete={"Objects": [{"Key": "k"}]})],
    "cloudformation": [lambda c: c.describe_stacks(StackName="wildrydes-ml-mod3-4"),
                       lambda c: c.create_stack(StackName="s", TemplateBody='{"Resources": {}}',
                                                Parameters=[{"ParameterKey": "P", "ParameterValue": "a b&c=d"}])],
    "lambda": [lambda c: c.list_functions(),
               lambda c: c.get_function_configuration(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:fn"),
               lambda c: c.update_function_configuration(FunctionName="fn", Environment={"Variables": {"A": "b c"}})],
    "apigateway": [lambda c: c.get_rest_apis(limit=10),
                   lambda c: c.put_integration(restApiId="abc", resourceId="r1", httpMethod="ANY", type="AWS_PROXY",
                                               integrationHttpMethod="POST", uri="arn:aws:apigateway:x")],
    "iam": [lambda c: c.get_role(RoleName="DataProcessingExecutionRole")],
    "sts": [lambda c: c.get_caller_identity()],
}


@pytest.fixture
def keys(tmp_path):
    return local_credentials(tmp_path)


def gate_for(tmp_path, credentials, now: float | None = None) -> Gate:
    return Gate(tmp_path, credentials, clock=(lambda: now) if now is not None else time.time)


@pytest.mark.parametrize("service", SERVICES)
def test_botocore_signed_requests_of_each_service_pass(tmp_path, keys, service):
    gate = gate_for(tmp_path, keys)
    for call in CALLS[service]:
        request = captured(service, call, keys.access_key_id, keys.secret_access_key)
        assert gate.refusal(request) is None, request.target


@pytest.mark.parametrize("service,code", [
    ("s3", "SignatureDoesNotMatch"), ("lambda", "InvalidSignatureException"),
    ("cloudformation", "SignatureDoesNotMatch"), ("sts", "SignatureDoesNotMatch"),
    ("apigateway", "InvalidSignatureException"), ("iam", "SignatureDoesNotMatch")])
def test_a_wrong_secret_is_refused_in_the_services_error_shape(tmp_path, keys, service, code):
    request = captured(service, CALLS[service][0], keys.access_key_id, "not-the-secret")
    refusal = gate_for(tmp_path, keys).refusal(request)
    assert refusal is not None and refusal.status == 403
    assert code.encode() in refusal.body and b"wildrydes local env" in refusal.body


def test_tampered_body_path_query_and_headers_are_refused(tmp_path, keys):
    gate = gate_for(tmp_path, keys)
    lam = captured("lambda", CALLS["lambda"][2], keys.access_key_id, keys.secret_access_key)
    lam.body = lam.body.replace(b"b c", b"evil")
    assert b"InvalidSignatureException" in gate.refusal(lam).body
    s3 = captured("s3", CALLS["s3"][2], keys.access_key_id, keys.secret_access_key)
    assert gate.refusal(s3) is None
    for tampered in (s3.target.replace("data-bucket", "other-bucket"), s3.target.replace("max-keys=5", "max-keys=6"),
                     s3.target + "&extra=1"):
        assert b"SignatureDoesNotMatch" in gate.refusal(Req(s3.method, tampered, s3.headers, s3.body)).body
    assert gate.refusal(Req("DELETE", s3.target, s3.headers, s3.body)) is not None
    host_changed = [(k, "evil.example:80" if k == "Host" else v) for k, v in s3.headers]
    assert gate.refusal(Req(s3.method, s3.target, host_changed, s3.body)) is not None


def test_s3_body_must_match_its_declared_hash(tmp_path, keys):
    put = captured("s3", CALLS["s3"][1], keys.access_key_id, keys.secret_access_key)
    assert gate_for(tmp_path, keys).refusal(put) is None
    put.body = b"y"
    refusal = gate_for(tmp_path, keys).refusal(put)
    assert refusal.status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in refusal.body


def test_request_time_outside_fifteen_minutes_is_refused(tmp_path, keys):
    request = captured("sts", CALLS["sts"][0], keys.access_key_id, keys.secret_access_key)
    signed_at = time.time()
    assert gate_for(tmp_path, keys, now=signed_at + 14 * 60).refusal(request) is None
    for now in (signed_at + 16 * 60, signed_at - 16 * 60):
        refusal = gate_for(tmp_path, keys, now=now).refusal(request)
        assert refusal.status == 403 and b"more than 15 minutes" in refusal.body
    s3 = captured("s3", CALLS["s3"][0], keys.access_key_id, keys.secret_access_key)
    assert b"<Code>RequestTimeTooSkewed</Code>" in gate_for(tmp_path, keys, now=signed_at + 3600).refusal(s3).body


def test_unknown_key_missing_and_malformed_authorization(tmp_path, keys):
    gate = gate_for(tmp_path, keys)
    other = captured("iam", CALLS["iam"][0], "AKIAEXAMPLEEXAMPLE00", keys.secret_access_key)
    assert b"<Code>InvalidClientTokenId</Code>" in gate.refusal(other).body
    unsigned = Req("GET", "/2015-03-31/functions/", [("Host", "127.0.0.1:4566")])
    refusal = gate.refusal(unsigned)
    assert refusal.status == 403 and json.loads(refusal.body)["__type"] == "MissingAuthenticationTokenException"
    assert ("x-amzn-ErrorType", "MissingAuthenticationTokenException") in refusal.headers
    assert b"<Code>AccessDenied</Code>" in gate.refusal(Req("GET", "/data-bucket/key")).body
    for auth in ("AWS AKIA:c2lnbmF0dXJl", "AWS4-HMAC-SHA256 Credential=x", "AWS4-HMAC-SHA256 " + "A" * 5000,
                 "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00"):
        refusal = gate.refusal(Req("GET", "/", [("Authorization", auth), ("Host", "h")]))
        assert refusal is not None and refusal.status == 403, auth
    v2 = gate.refusal(Req("GET", "/b/k?AWSAccessKeyId=X&Signature=abc%3D&Expires=1"))
    assert b"Signature Version 2" in v2.body


def test_refusals_are_logged_at_most_twenty_a_minute(tmp_path, keys, caplog):
    gate = gate_for(tmp_path, keys)
    with caplog.at_level("INFO", logger="wildrydes_cli.local.awsapi.auth"):
        for _ in range(500):
            assert gate.refusal(Req("GET", "/bucket/key")) is not None
    assert len([r for r in caplog.records if "refused GET /bucket/key" in r.getMessage()]) == 20


def test_presigned_urls_are_checked_with_their_expiry(tmp_path, keys):
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                      aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key,
                      config=Config(signature_version="s3v4"))
    url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "data-bucket", "Key": "a b/c"},
                                             ExpiresIn=60))
    request = Req("GET", f"{url.path}?{url.query}", [("Host", "127.0.0.1:4566")])
    assert gate_for(tmp_path, keys).refusal(request) is None
    assert b"Request has expired" in gate_for(tmp_path, keys, now=time.time() + 120).refusal(request).body
    request.target = request.target.replace("X-Amz-Expires=60", "X-Amz-Expires=6000")
    assert gate_for(tmp_path, keys).refusal(request) is not None


def test_s3_refuses_an_x_amz_header_the_signature_does_not_cover(tmp_path, keys):
    """As S3 answers (its SigV4 documents: every x-amz-* header sent must be signed): 403 AccessDenied,
    "There were headers present in the request which were not signed", naming them in HeadersNotSigned.
    An ACL or a copy source slipped next to a presigned URL would otherwise act unsigned."""
    gate = gate_for(tmp_path, keys)
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                      aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key,
                      config=Config(signature_version="s3v4"))
    url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": "data-bucket", "Key": "k"},
                                             ExpiresIn=60))
    presigned = Req("PUT", f"{url.path}?{url.query}", [("Host", "127.0.0.1:4566"), ("x-amz-acl", "public-read")])
    put = captured("s3", CALLS["s3"][1], keys.access_key_id, keys.secret_access_key)
    put.headers.append(("X-Amz-Meta-Owner", "someone"))
    for request, named in ((presigned, "x-amz-acl"), (put, "x-amz-meta-owner")):
        refusal = gate.refusal(request)
        assert refusal is not None and refusal.status == 403
        assert b"<Code>AccessDenied</Code>" in refusal.body
        assert b"There were headers present in the request which were not signed" in refusal.body
        assert f"<HeadersNotSigned>{named}</HeadersNotSigned>".encode() in refusal.body
    sts = captured("sts", CALLS["sts"][0], keys.access_key_id, keys.secret_access_key)
    sts.headers.append(("X-Amz-Trace", "not S3: not its rule"))
    assert gate.refusal(sts) is None


def test_a_presigned_url_naming_its_signature_twice_is_refused(tmp_path, keys):
    """Two X-Amz-Signature parameters, one valid: which one would count? Refused as malformed (400)."""
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                      aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key,
                      config=Config(signature_version="s3v4"))
    url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "data-bucket", "Key": "k"},
                                             ExpiresIn=60))
    gate = gate_for(tmp_path, keys)
    for query in (f"{url.query}&X-Amz-Signature={'0' * 64}", f"X-Amz-Signature={'0' * 64}&{url.query}"):
        refusal = gate.refusal(Req("GET", f"{url.path}?{query}", [("Host", "127.0.0.1:4566")]))
        assert refusal is not None and refusal.status == 400
        assert b"<Code>AuthorizationQueryParametersError</Code>" in refusal.body
        assert b"X-Amz-Signature more than once" in refusal.body


@pytest.mark.parametrize("declared", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                      "STREAMING-UNSIGNED-PAYLOAD-TRAILER"])
def test_s3_literal_payload_hashes_are_signed_like_any_header(tmp_path, keys, declared):
    """Seed signatures of streaming uploads (SDKs other than botocore send them) are checked; chunks are not."""
    def signed(secret):
        request = AWSRequest("PUT", "http://127.0.0.1:4566/data-bucket/key", data=b"5;chunk-signature=x\r\nhello",
                             headers={"X-Amz-Content-SHA256": declared})
        SigV4Auth(BotoCredentials(keys.access_key_id, secret), "s3", "us-east-1").add_auth(request)
        return Req("PUT", "/data-bucket/key", [*request.headers.items(), ("Host", "127.0.0.1:4566")], request.body)

    gate = gate_for(tmp_path, keys)
    assert gate.refusal(signed(keys.secret_access_key)) is None
    assert b"SignatureDoesNotMatch" in gate.refusal(signed("wrong")).body
    other = "STREAMING-UNSIGNED-PAYLOAD-TRAILER" if declared == "UNSIGNED-PAYLOAD" else "UNSIGNED-PAYLOAD"
    forged = signed(keys.secret_access_key)
    forged.headers = [(k, other if v == declared else v) for k, v in forged.headers]
    assert b"SignatureDoesNotMatch" in gate.refusal(forged).body


def test_canonical_path_and_query_match_botocore():
    """The two encodings the gate rebuilds, against botocore's signers on the same URL."""
    creds = BotoCredentials("k", "s")
    url = "http://h/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Afn/./x/../configuration"
    assert canonical_path(urlsplit(url).path, "lambda") == SigV4Auth(creds, "lambda", "r")._normalize_url_path(
        urlsplit(url).path)
    assert canonical_path("/b/a%20b/c%2Bd", "s3") == S3SigV4Auth(creds, "s3", "r")._normalize_url_path("/b/a%20b/c%2Bd")
    request = AWSRequest("GET", "http://h/?b=2&a=1&uploads&c=x%2Fy%20z")
    assert canonical_query("b=2&a=1&uploads&c=x%2Fy%20z") == SigV4Auth(creds, "s3", "r").canonical_query_string(
        request)


def test_a_new_credentials_file_is_picked_up_without_restart(tmp_path, keys):
    gate = gate_for(tmp_path, keys)
    credentials_file(tmp_path).unlink()
    fresh = local_credentials(tmp_path)
    assert fresh != keys
    assert gate.refusal(captured("sts", CALLS["sts"][0], fresh.access_key_id, fresh.secret_access_key)) is None
    assert gate.refusal(captured("sts", CALLS["sts"][0], keys.access_key_id, keys.secret_access_key)) is not None


# -- over real HTTP against a real daemon ------------------------------------------------
@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with emulated.emulator(tmp_path_factory.mktemp("auth-emulator")) as status:
        yield status


def _send(url: str, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _signed(daemon, service: str, method: str, path: str, body: bytes = b"", headers: dict | None = None,
            secret: str | None = None):
    """A request signed by botocore's own signer with the daemon's key (or another secret)."""
    keys = emulated.credentials(daemon.endpoint_url)
    request = AWSRequest(method, daemon.endpoint_url + path, data=body, headers=headers or {})
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(BotoCredentials(keys.access_key_id, secret or keys.secret_access_key), service, "us-east-1").add_auth(
        request)
    return dict(request.headers.items())


@pytest.mark.slow
def test_signed_calls_of_every_service_pass_over_http(daemon):
    aws = emulated.clients(daemon.endpoint_url, services=SERVICES)
    assert aws["sts"].get_caller_identity()["Account"] == emulated.ACCOUNT
    aws["s3"].create_bucket(Bucket="auth-bucket")
    aws["s3"].put_object(Bucket="auth-bucket", Key="a b/c+d%e~f", Body=b"payload")
    assert aws["s3"].get_object(Bucket="auth-bucket", Key="a b/c+d%e~f")["Body"].read() == b"payload"
    assert aws["cloudformation"].describe_stacks()["Stacks"] == []
    assert aws["lambda"].list_functions()["Functions"] == []
    assert isinstance(aws["apigateway"].get_rest_apis()["items"], list)
    assert isinstance(aws["iam"].list_roles()["Roles"], list)


@pytest.mark.slow
@pytest.mark.parametrize("service,call,code", [
    ("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch"),
    ("lambda", lambda c: c.list_functions(), "InvalidSignatureException"),
    ("apigateway", lambda c: c.get_rest_apis(), "InvalidSignatureException"),
    ("cloudformation", lambda c: c.describe_stacks(), "SignatureDoesNotMatch"),
    ("iam", lambda c: c.list_roles(), "SignatureDoesNotMatch"),
    ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch")])
def test_a_wrong_secret_is_refused_over_http_and_sdks_read_the_code(daemon, service, call, code):
    keys = emulated.credentials(daemon.endpoint_url)
    client = boto3.client(service, endpoint_url=daemon.endpoint_url, region_name="us-east-1",
                          aws_access_key_id=keys.access_key_id, aws_secret_access_key="wrong",
                          config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as raised:
        call(client)
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403 and error["Error"]["Code"] == code
    assert FIX in error["Error"]["Message"]


@pytest.mark.slow
def test_unsigned_calls_are_refused_and_nothing_is_created(daemon):
    url = daemon.endpoint_url
    status, headers, body = _send(url, "PUT", "/unsigned-bucket", {})
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and FIX.encode() in body
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = _send(url, "POST", "/", form, b"Action=CreateRole&RoleName=x&AssumeRolePolicyDocument=%7B%7D")
    assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body
    status, headers, body = _send(url, "POST", "/2015-03-31/functions", {"Content-Type": "application/json"},
                                  b'{"FunctionName": "pwn"}')
    assert status == 403 and headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert FIX in json.loads(body)["message"]
    status, _, _ = _send(url, "POST", "/moto-api/reset", {})
    assert status == 403, "moto's admin API is behind the gate too"
    aws = emulated.clients(url, services=("s3", "iam"))
    assert "unsigned-bucket" not in [b["Name"] for b in aws["s3"].list_buckets()["Buckets"]]
    assert "x" not in [r["RoleName"] for r in aws["iam"].list_roles()["Roles"]]


@pytest.mark.slow
def test_tampered_and_old_requests_are_refused_over_http(daemon, monkeypatch):
    url = daemon.endpoint_url
    emulated.clients(url, services=("s3",))["s3"].create_bucket(Bucket="tamper-bucket")
    body = json.dumps({"FunctionName": "x"}).encode()
    headers = _signed(daemon, "lambda", "GET", "/2015-03-31/functions/", headers={})
    assert _send(url, "GET", "/2015-03-31/functions/", headers)[0] == 200
    assert _send(url, "GET", "/2015-03-31/functions/other", headers)[0] == 403            # path changed
    headers = _signed(daemon, "apigateway", "POST", "/restapis", body, {"Content-Type": "application/json"})
    status, _, answer = _send(url, "POST", "/restapis", headers, body.replace(b"x", b"y"))  # body changed
    assert status == 403 and b"InvalidSignatureException" in answer
    put = _signed(daemon, "s3", "PUT", "/tamper-bucket/key", b"good")
    status, _, answer = _send(url, "PUT", "/tamper-bucket/key", put, b"evil")
    assert status == 400 and b"XAmzContentSHA256Mismatch" in answer
    assert _send(url, "PUT", "/tamper-bucket/key", put, b"good")[0] == 200
    old = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: old)
    stale = _signed(daemon, "s3", "GET", "/tamper-bucket/key")
    status, _, answer = _send(url, "GET", "/tamper-bucket/key", stale)
    assert status == 403 and b"<Code>RequestTimeTooSkewed</Code>" in answer


@pytest.mark.slow
def test_execute_api_and_health_stay_open(daemon):
    status, _, body = emulated.http("GET", f"{daemon.endpoint_url}/_wildrydes/health")
    assert status == 200 and json.loads(body)["pid"] == daemon.pid
    status, _, body = emulated.http("POST", f"{daemon.endpoint_url}/restapis/nope/prod/_user_request_/", b"{}")
    assert status == 403 and json.loads(body) == {"message": "Missing Authentication Token"}  # API Gateway's own


@pytest.mark.slow
def test_daemon_credentials_file_is_private(daemon):
    path = credentials_file(Path(emulated._STATE_DIRS[daemon.endpoint_url]))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == os.getuid()


@pytest.mark.slow
def test_local_env_prints_exports_and_json_for_the_running_daemon(daemon, monkeypatch):
    import subprocess

    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli

    monkeypatch.setenv("WILDRYDES_HOME", str(emulated._STATE_DIRS[daemon.endpoint_url]))
    monkeypatch.setenv("WILDRYDES_LOCAL_PORT", str(daemon.port))
    keys = emulated.credentials(daemon.endpoint_url)
    expected = {"AWS_ACCESS_KEY_ID": keys.access_key_id, "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
                "AWS_ENDPOINT_URL": daemon.endpoint_url, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    as_json = CliRunner().invoke(cli, ["--output", "json", "local", "env"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == expected
    text = CliRunner().invoke(cli, ["local", "env"])
    assert text.exit_code == 0 and all(line.startswith("export ") for line in text.stdout.splitlines())
    shell = subprocess.run(["bash", "-c", text.stdout + "env"], capture_output=True, text=True, env={}, check=True)
    exported = dict(line.split("=", 1) for line in shell.stdout.splitlines() if line.startswith("AWS_"))
    assert exported == expected
    assert CliRunner().invoke(cli, ["local", "status"]).stdout.count(str(daemon.pid)) == 1  # the same daemon


def test_functions_get_their_role_session_and_never_the_local_credentials(tmp_path, keys):
    """A deployed function signs its S3 calls with its role's session (token included), as on Lambda:
    the local target's own keys, which may do anything, never reach it (they did before)."""
    from wildrydes_cli.local.awsapi.function_credentials import RoleSession
    from wildrydes_cli.local.awsapi.moto_backends import LambdaFunction
    from wildrydes_cli.local.invoke.runner import worker_environment

    spec = LambdaFunction(arn="arn:aws:lambda:us-east-1:123456789012:function:fn", name="fn",
                        account_id="123456789012", region="us-east-1", handler="index.handler", runtime="python3.13",
                        timeout=3.0, memory_size=128, code_sha256="", last_modified="", code_bucket=None,
                        code_key=None, environment=(("AWS_ACCESS_KEY_ID", "mine"), ("AWS_SESSION_TOKEN", "stale")),
                        role="arn:aws:iam::123456789012:role/fn-role")
    session = RoleSession("ASIAEXAMPLE", "s3cr3t", "t0ken", role_arn=spec.role)
    env = worker_environment(spec, "http://127.0.0.1:1", tmp_path, session)
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]) == \
        ("ASIAEXAMPLE", "s3cr3t", "t0ken")
    assert keys.access_key_id not in env.values() and keys.secret_access_key not in env.values()
    bare = worker_environment(spec, "http://127.0.0.1:1", tmp_path)
    assert bare["AWS_ACCESS_KEY_ID"] == "testing" and "AWS_SESSION_TOKEN" not in bare

def test_a_checked_body_keeps_its_digest_only_while_it_is_the_same_body(tmp_path, keys):
    """The journal names a blob by the digest the gate computed: right for the body checked, and never
    carried to another body (a request rebuilt or changed after the check hashes its own bytes)."""
    put = captured("s3", lambda c: c.put_object(Bucket="data-bucket", Key="k", Body=b"rides" * 1000),
                   keys.access_key_id, keys.secret_access_key)
    assert put.body_sha256() is None
    assert gate_for(tmp_path, keys).refusal(put) is None
    assert put.body_sha256() == hashlib.sha256(b"rides" * 1000).hexdigest()
    put.body = b"other"
    assert put.body_sha256() is None
    refused = captured("s3", lambda c: c.put_object(Bucket="data-bucket", Key="k", Body=b"x"),
                       keys.access_key_id, keys.secret_access_key)
    refused.body = b"y"
    assert gate_for(tmp_path, keys).refusal(refused) is not None and refused.body_sha256() is None
