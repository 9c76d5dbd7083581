"""The function's stdlib S3 reader (lambda/s3get.py) against a scripted S3 over real HTTP:
retries like botocore's standard mode, time bounds, keep-alive reuse, the 403/404 distinction,
and what the handler answers for each; plus a cold process that never imports boto3."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import index
import pytest
import s3get
from fake_s3 import Answer, FakeS3, error_xml
from lambda_helpers import BUCKET, WORKSHOP_RIDE, answer, event, workshop_archive

KEY = "breeds/shire/latest.json"
ENV = {"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok",
       "AWS_REGION": "eu-west-1"}


@pytest.fixture
def fake():
    with FakeS3() as server:
        yield server


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(fake, **kwargs) -> s3get.S3Client:
    kwargs.setdefault("sleep", Sleeps())
    kwargs.setdefault("rand", lambda: 1.0)
    return s3get.S3Client("eu-west-1", fake.url, env=ENV, **kwargs)


# -- retries (botocore standard mode) ---------------------------------------------------

@pytest.mark.parametrize("status,code", [(503, "SlowDown"), (500, "InternalError"), (429, ""),
                                         (400, "Throttling"), (400, "RequestTimeout"), (502, "")])
def test_throttling_and_5xx_are_retried_then_succeed(fake, status, code):
    fake.add(f"/{BUCKET}/{KEY}", Answer(status, error_xml(code) if code else b""))
    fake.add(f"/{BUCKET}/{KEY}", Answer(200, b"{}"))
    reader = client(fake)
    assert reader.get_object(BUCKET, KEY, 100) == b"{}"
    assert len(fake.requests) == 2 and reader.sleep == [1.0]


def test_at_most_three_attempts_with_exponential_backoff(fake):
    for _ in range(4):
        fake.add(f"/{BUCKET}/{KEY}", Answer(503, error_xml("SlowDown")))
    reader = client(fake)
    with pytest.raises(s3get.S3Error) as failed:
        reader.get_object(BUCKET, KEY, 100)
    assert len(fake.requests) == 3 and reader.sleep == [1.0, 2.0]    # rand()=1: full 2^(n-1)
    assert failed.value.status == 503 and "SlowDown" in failed.value.message


def test_backoff_is_jittered(fake):
    fake.add(f"/{BUCKET}/{KEY}", Answer(500))
    reader = client(fake, rand=lambda: 0.25)
    assert reader.get_object(BUCKET, KEY, 100) is None      # then the default 404 NoSuchKey
    assert reader.sleep == [0.25]


@pytest.mark.parametrize("status,code", [(400, "InvalidArgument"), (403, "AccessDenied"),
                                         (400, "ExpiredToken"), (301, "PermanentRedirect")])
def test_other_errors_are_not_retried(fake, status, code):
    fake.add(f"/{BUCKET}/{KEY}", Answer(status, error_xml(code)))
    reader = client(fake)
    with pytest.raises(s3get.S3Error) as failed:
        reader.get_object(BUCKET, KEY, 100)
    assert len(fake.requests) == 1 and reader.sleep == []
    assert failed.value.code == code and f"s3://{BUCKET}/{KEY}" in failed.value.message


# -- 404 / 403 ----------------------------------------------------------------------------

def test_no_such_key_is_none_and_no_such_bucket_names_the_bucket(fake):
    assert client(fake).get_object(BUCKET, KEY, 100) is None
    fake.add("/other", Answer(404, error_xml("NoSuchBucket")))
    with pytest.raises(s3get.S3Error, match="bucket 'other' \\(OUTPUT_BUCKET\\) does not exist"):
        client(fake).get_object("other", KEY, 100)


def test_access_denied_names_the_key_and_the_permission(fake):
    fake.add("/", Answer(403, error_xml("AccessDenied")))
    with pytest.raises(s3get.S3Error) as failed:
        client(fake).get_object(BUCKET, KEY, 100)
    assert failed.value.access_denied
    assert f"access denied reading s3://{BUCKET}/{KEY}" in failed.value.message
    assert "s3:GetObject" in failed.value.message


def test_access_denied_keeps_s3s_own_message_and_names_kms(fake):
    """An SSE-KMS object read by a role without kms:Decrypt on its key: S3 says so in <Message>."""
    said = ("User: arn:aws:sts::123456789012:assumed-role/fn-role/fn is not authorized to perform: "
            "kms:Decrypt on the resource associated with this ciphertext because no identity-based policy "
            "allows the kms:Decrypt action")
    fake.add("/", Answer(403, error_xml("AccessDenied", said.replace("'", "&apos;"))))
    with pytest.raises(s3get.S3Error) as failed:
        client(fake).get_object(BUCKET, KEY, 100)
    assert said in failed.value.message
    assert "grant kms:Decrypt on the KMS key" in failed.value.message


def test_a_wrong_region_says_so(fake):
    fake.add("/", Answer(301, error_xml("PermanentRedirect")))
    with pytest.raises(s3get.S3Error, match="not in region eu-west-1"):
        client(fake).get_object(BUCKET, KEY, 100)


# -- time bounds ----------------------------------------------------------------------------

def test_a_stalled_read_times_out_and_is_retried_within_the_deadline(fake):
    fake.add("/", Answer(200, b"late", stall=1.0))
    fake.add("/", Answer(200, b"on time"))
    reader = client(fake, read_timeout=0.2)
    assert reader.get_object(BUCKET, KEY, 100) == b"on time"
    assert len(reader.sleep) == 1


def test_the_deadline_bounds_the_whole_call(fake):
    for _ in range(3):
        fake.add("/", Answer(200, b"late", stall=1.0))
    reader = client(fake, read_timeout=0.3, deadline=0.5, sleep=time.sleep)
    started = time.monotonic()
    with pytest.raises(s3get.S3Error, match="timed out|deadline"):
        reader.get_object(BUCKET, KEY, 100)
    assert time.monotonic() - started < 1.5


def test_connect_failure_is_retried_then_reported(fake):
    dead = s3get.S3Client("eu-west-1", "http://127.0.0.1:9", env=ENV, sleep=Sleeps(), rand=lambda: 0.0)
    with pytest.raises(s3get.S3Error, match="connection to 127.0.0.1:9 failed"):
        dead.get_object(BUCKET, KEY, 100)
    assert len(dead.sleep) == 2


def test_the_default_timeouts_fit_api_gateways_29_seconds():
    """Two calls per request (index, model), each within its deadline, plus margin for parsing."""
    assert 2 * s3get.CALL_DEADLINE < 29 - 4
    assert s3get.CONNECT_TIMEOUT + s3get.READ_TIMEOUT < s3get.CALL_DEADLINE


# -- bodies -----------------------------------------------------------------------------

def test_an_object_over_the_limit_is_refused_before_its_body_is_read(fake):
    fake.add("/", Answer(200, b"x" * 1000))
    with pytest.raises(s3get.S3Error) as failed:
        client(fake).get_object(BUCKET, KEY, 100)
    assert failed.value.code == "TooLarge" and "1000 bytes" in failed.value.message


def test_a_chunked_body_over_the_limit_is_cut_off(fake):
    fake.add("/", Answer(200, b"x" * 1000, chunked=True))
    fake.add("/", Answer(200, b"small", chunked=True))
    reader = client(fake)
    with pytest.raises(s3get.S3Error, match="over the limit of 100"):
        reader.get_object(BUCKET, KEY, 100)
    assert reader.get_object(BUCKET, KEY, 100) == b"small"   # the cut connection was replaced


# -- connections and signing --------------------------------------------------------------

def test_one_keep_alive_connection_serves_many_gets(fake):
    for n in range(5):
        fake.add("/", Answer(200, str(n).encode()))
    reader = client(fake)
    assert [reader.get_object(BUCKET, f"k{n}", 100) for n in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
    assert len(fake.clients()) == 1 and reader.connections_opened == 1


def test_a_connection_the_server_dropped_is_replaced_without_a_retry(fake):
    fake.add("/", Answer(200, b"first", drop_after=True))
    fake.add("/", Answer(200, b"second"))
    reader = client(fake)
    assert reader.get_object(BUCKET, "a", 100) == b"first"
    time.sleep(0.05)
    assert reader.get_object(BUCKET, "b", 100) == b"second"
    assert reader.sleep == [] and reader.connections_opened == 2


def test_requests_carry_the_session_token_region_and_a_path_style_url(fake):
    fake.add("/", Answer(200, b"ok"))
    client(fake).get_object(BUCKET, "a b/é+=.json", 100)
    sent = fake.requests[0]
    assert sent["path"] == f"/{BUCKET}/a%20b/%C3%A9%2B%3D.json"
    assert sent["headers"]["X-Amz-Security-Token"] == "tok"
    assert "Credential=AKIDTEST/" in sent["headers"]["Authorization"]
    assert "/eu-west-1/s3/aws4_request" in sent["headers"]["Authorization"]


def test_endpoint_and_region_from_the_environment():
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2",
           "AWS_DEFAULT_REGION": "ap-south-1"}
    built = s3get.S3Client.from_env(env)
    assert built.netloc == "127.0.0.1:2" and built.region == "ap-south-1"
    built = s3get.S3Client.from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REGION": "eu-north-1"})
    assert built.netloc == "127.0.0.1:1" and built.region == "eu-north-1"
    aws = s3get.S3Client.from_env({"AWS_REGION": "eu-north-1"})
    assert (aws.scheme, aws.netloc) == ("https", "s3.eu-north-1.amazonaws.com")


@pytest.mark.parametrize("region, suffix", [("eusc-de-east-1", "amazonaws.eu"), ("us-iso-east-1", "c2s.ic.gov"),
                                            ("cn-north-1", "amazonaws.com.cn")])
def test_the_endpoint_has_the_partitions_dns_suffix_deploy_gave(region, suffix):
    """deploy sets S3_DNS_SUFFIX from botocore's partition data for the region (regions.partition_of)."""
    from wildrydes_cli.aws.regions import partition_of
    assert partition_of(region)[1] == suffix
    built = s3get.S3Client.from_env({"AWS_REGION": region, "S3_DNS_SUFFIX": partition_of(region)[1]})
    assert (built.scheme, built.netloc) == ("https", f"s3.{region}.{suffix}")


def test_missing_credentials_name_the_variables(fake):
    reader = s3get.S3Client("eu-west-1", fake.url, env={"AWS_ACCESS_KEY_ID": "x"})
    with pytest.raises(s3get.S3Error, match="AWS_SECRET_ACCESS_KEY not set"):
        reader.get_object(BUCKET, KEY, 100)
    assert fake.requests == []


def test_list_objects_parses_prefixes_keys_and_truncation(fake):
    body = (b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult '
            b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>true</IsTruncated>'
            b"<Contents><Key>breeds/x</Key></Contents><CommonPrefixes><Prefix>breeds/a/</Prefix>"
            b"</CommonPrefixes><CommonPrefixes><Prefix>breeds/b/</Prefix></CommonPrefixes></ListBucketResult>")
    fake.add("/", Answer(200, body))
    page = client(fake).list_objects(BUCKET, "breeds/", delimiter="/", max_keys=2, start_after="breeds/a/~")
    assert page == {"keys": ["breeds/x"], "prefixes": ["breeds/a/", "breeds/b/"], "truncated": True}
    assert fake.requests[0]["query"] == ("delimiter=%2F&list-type=2&max-keys=2&prefix=breeds%2F"
                                         "&start-after=breeds%2Fa%2F~")


# -- HTTPS, as on real AWS ---------------------------------------------------------------

def self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for localhost, and its key, made with the openssl CLI."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def test_https_verifies_the_certificate_and_reuses_one_tls_context(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    with FakeS3(tls=(cert, key)) as server:
        for n in range(3):
            server.add("/", Answer(200, b"tls%d" % n, drop_after=n == 0))
        monkeypatch.setenv("SSL_CERT_FILE", cert)    # trust it the way the system store would
        reader = client(server)
        assert reader.get_object(BUCKET, "a", 100) == b"tls0"
        context = reader._tls
        time.sleep(0.05)
        assert reader.get_object(BUCKET, "b", 100) == b"tls1"   # a new connection (the first was dropped)
        assert reader.get_object(BUCKET, "c", 100) == b"tls2"
        assert reader._tls is context and reader.connections_opened == 2


def test_https_refuses_an_untrusted_certificate(tmp_path):
    cert, key = self_signed(tmp_path)
    with FakeS3(tls=(cert, key)) as server:
        server.default = Answer(200, b"secret")
        with pytest.raises(s3get.S3Error, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            client(server).get_object(BUCKET, "a", 100)


# -- what the handler answers ---------------------------------------------------------------

@pytest.fixture
def handler_on(fake, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", fake.url)
    monkeypatch.setenv("OUTPUT_BUCKET", BUCKET)
    monkeypatch.setenv("MODEL_RETRY_SECONDS", "0")
    monkeypatch.delenv("MODEL_PATH", raising=False)
    monkeypatch.setattr(index, "_store", None)
    monkeypatch.setattr(s3get, "random", type("NoJitter", (), {"random": staticmethod(lambda: 0.0)}))
    yield lambda path, **kw: answer(index.handler(event(path=path, **kw), None))
    index._store = None


def test_missing_breed_without_list_permission_is_503_access_denied(fake, handler_on):
    """Real IAM without s3:ListBucket: a missing key is 403, so the function cannot know it is missing."""
    fake.default = Answer(403, error_xml("AccessDenied"))
    status, body = handler_on("/breeds/unicornus", body=WORKSHOP_RIDE)
    assert status == 503
    assert body["error"].startswith(f"access denied reading s3://{BUCKET}/breeds/unicornus/latest.json")
    assert "Traceback" not in body["error"]


def test_missing_breed_with_prefix_scoped_list_permission_is_404(fake, handler_on):
    """GetObject answers 403, a listing of exactly that key (allowed by s3:prefix) shows it absent: 404."""
    fake.add(f"/{BUCKET}/breeds/unicornus/latest.json", Answer(403, error_xml("AccessDenied")))
    fake.add(f"/{BUCKET}", Answer(200, b'<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>'))
    status, body = handler_on("/breeds/unicornus", body=WORKSHOP_RIDE)
    assert status == 404 and "unknown breed 'unicornus'" in body["error"]
    assert "prefix=breeds%2Funicornus%2Flatest.json" in fake.requests[1]["query"]


def test_missing_breed_with_get_404_is_404(fake, handler_on):
    status, body = handler_on("/breeds/unicornus", body=WORKSHOP_RIDE)
    assert status == 404 and "unknown breed 'unicornus'" in body["error"]


def _role_may_list(prefix: str) -> bool:
    """Whether the role deploy creates may list this prefix (function.yml's s3:prefix condition;
    IAM's StringLike '*' matches any characters, '/' included, as fnmatchcase does)."""
    from fnmatch import fnmatchcase

    from cfnlint.decode import decode
    template, _ = decode(str(Path(__file__).resolve().parents[2] / "cloudformation" / "function.yml"))
    statements = template["Resources"]["ModelInferenceFunctionRole"]["Properties"]["Policies"][0][
        "PolicyDocument"]["Statement"]
    listing = next(s for s in statements if isinstance(s, dict) and s.get("Action") == "s3:ListBucket")
    patterns = listing["Condition"]["StringLike"]["s3:prefix"]
    return any(fnmatchcase(prefix, p) for p in ([patterns] if isinstance(patterns, str) else patterns))


def test_a_default_model_deleted_after_deploy_is_missing_not_denied(fake, handler_on, monkeypatch):
    """Under the role deploy creates, S3 answers the GET of a deleted MODEL_PATH with 403 (the role has
    no unconditional s3:ListBucket); the function lists exactly that key to tell missing from denied,
    which the role must allow for the default models too."""
    key = "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"
    monkeypatch.setenv("MODEL_PATH", key)
    fake.add(f"/{BUCKET}/{key}", Answer(403, error_xml("AccessDenied", "Access Denied")))
    listing = Answer(200, b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>") \
        if _role_may_list(key) else Answer(403, error_xml("AccessDenied", "Access Denied"))
    fake.add(f"/{BUCKET}", listing)
    status, body = handler_on("/", method="GET")
    assert status == 503 and "does not exist" in body["error"] and "access denied" not in body["error"]


def test_s3_down_is_503_naming_the_key_after_retries(fake, handler_on):
    fake.default = Answer(503, error_xml("ServiceUnavailable"))
    status, body = handler_on("/breeds/shire", body=WORKSHOP_RIDE)
    assert status == 503 and f"s3://{BUCKET}/breeds/shire/latest.json" in body["error"]
    assert len(fake.requests) == 3


def test_a_malformed_endpoint_is_a_503_naming_it(handler_on, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "localhost:4566")
    status, body = handler_on("/breeds/shire", body=WORKSHOP_RIDE)
    assert status == 503 and "S3 endpoint 'localhost:4566'" in body["error"] and "AWS_ENDPOINT_URL" in body["error"]


def test_missing_credentials_are_a_503_naming_them(fake, handler_on, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status, body = handler_on("/breeds/shire", body=WORKSHOP_RIDE)
    assert status == 503 and "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY not set" in body["error"]


# -- the lean path never imports boto3 -------------------------------------------------------

LEAN_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])   # the function's modules, as at the root of the zip
import index
event = {"httpMethod": "POST", "path": "/", "headers": {"Content-Type": "application/json"},
         "body": json.dumps(%r), "isBase64Encoded": False}
first = index.handler(event, None)
second = index.handler(event, None)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "s3transfer", "urllib3"))
print(json.dumps({"first": first, "second": second, "heavy": heavy,
                  "connections": index._store.s3.connections_opened}))
"""


def test_a_cold_lean_process_serves_from_s3_without_importing_boto3(function_bucket, moto_s3_url, tmp_path):
    lambda_dir = Path(__file__).resolve().parents[2] / "lambda"
    key = "linear-learner-2026-11-24-10-00-00-000/output/model.tar.gz"
    function_bucket.put_object(Bucket=BUCKET, Key=key, Body=workshop_archive())
    env = {"PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL": moto_s3_url, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing", "AWS_REGION": "us-east-1",
           "OUTPUT_BUCKET": BUCKET, "MODEL_PATH": key, "INFERENCE_ENGINE": "lean"}
    done = subprocess.run([sys.executable, "-I", "-c", LEAN_PROBE % (WORKSHOP_RIDE,), str(lambda_dir)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["first"]["statusCode"] == 200, result["first"]
    assert 0 < json.loads(result["first"]["body"])["score"] < 1
    assert result["heavy"] == []
    assert result["connections"] == 1
