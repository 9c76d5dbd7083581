"""The AWS wrapper's intents and error translation (moto in-process)."""
from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import Stubber
from cli_helpers import aws_for

from wildrydes_cli.errors import AwsError, LocalTargetError, NotFoundError, UsageError
from wildrydes_cli.settings import Settings

SETTINGS = Settings(target="aws", region="us-east-1")


@pytest.fixture
def aws_(aws):
    return aws_for(SETTINGS)


def test_clients_are_cached_and_honour_endpoint():
    wrapper = aws_for(Settings(target="local", endpoint_url="http://127.0.0.1:1"))
    assert wrapper.client("s3") is wrapper.client("s3")
    assert wrapper.client("s3").meta.endpoint_url == "http://127.0.0.1:1"
    assert wrapper.client("s3").meta.region_name == "us-east-1"


def test_unknown_profile_is_a_usage_error():
    with pytest.raises(UsageError, match="--profile"):
        aws_for(Settings(target="aws", profile="nope")).client("s3")


def test_newest_model_by_key_timestamp_then_last_modified(aws_):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="models")
    keys = ["linear-learner-2026-03-01-00-00-00-000/output/model.tar.gz",
            "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz",
            "linear-learner-2026-12-01-00-00-00-000/output/other.tar.gz",       # not a model
            "breeds/x/linear-learner-2027-01-01-00-00-00-000/output/model.tar.gz",  # a breed's, not default
            "linear-learner-2026-02-01-00-00-00-000/output/model.tar.gz"]
    for key in keys:
        s3.put_object(Bucket="models", Key=key, Body=b"x")
    assert aws_.newest_model_key("models") == keys[0]


def test_newest_model_tie_broken_by_last_modified(aws_, monkeypatch):
    ts = "linear-learner-2026-03-01-00-00-00-000"
    items = [{"Key": f"{ts}/output/model.tar.gz", "LastModified": datetime.datetime(2026, 3, 2)},
             {"Key": f"{ts}-retry/output/model.tar.gz", "LastModified": datetime.datetime(2026, 3, 1)},
             {"Key": "linear-learner-2026-02-28-00-00-00-000/output/model.tar.gz",
              "LastModified": datetime.datetime(2026, 3, 9)},          # uploaded last, trained earlier
             {"Key": f"x/{ts}-z/output/model.tar.gz", "LastModified": datetime.datetime(2026, 3, 9)}]
    monkeypatch.setattr(aws_, "list_keys", lambda bucket, prefix="": items)
    assert aws_.newest_model_key("b") == f"{ts}/output/model.tar.gz"
    items[1]["LastModified"] = datetime.datetime(2026, 3, 5)
    assert aws_.newest_model_key("b") == f"{ts}-retry/output/model.tar.gz"


def test_newest_model_none_when_empty(aws_):
    boto3.client("s3").create_bucket(Bucket="empty-bucket")
    assert aws_.newest_model_key("empty-bucket") is None


def test_set_function_env_merges(aws_):
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(e, c): return {}")
    boto3.client("lambda").create_function(FunctionName="fn", Runtime="python3.13", Role=role,
                                           Handler="index.handler", Code={"ZipFile": buf.getvalue()},
                                           Environment={"Variables": {"KEEP": "1", "MODEL_PATH": "old"}})
    assert aws_.set_function_env("fn", {"MODEL_PATH": "new"}) is True
    assert aws_.function_env("fn") == {"KEEP": "1", "MODEL_PATH": "new"}
    assert aws_.set_function_env("fn", {"MODEL_PATH": "new"}) is False   # no call when nothing changes
    assert aws_.function_config("missing") is None
    with pytest.raises(NotFoundError, match="Function missing does not exist"):
        aws_.function_env("missing")


def test_missing_things(aws_):
    assert aws_.stack("nope") is None
    assert aws_.bucket_exists("no-such-bucket-here") is False
    assert aws_.role_exists("nope") is False
    assert aws_.rest_api_exists("abc123") is False
    assert aws_.delete_stack("nope") is False
    with pytest.raises(NotFoundError, match="Stack nope does not exist"):
        aws_.stack_outputs("nope")


@pytest.mark.parametrize("code, kind, text", [
    ("AccessDenied", AwsError, "access denied"),
    ("ExpiredToken", AwsError, "credentials were rejected"),
    ("NoSuchBucket", NotFoundError, "Could not read s3://b/k"),
    ("Throttling", AwsError, "Throttling"),
])
def test_client_errors_become_project_errors(aws_, code, kind, text):
    s3 = aws_.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("get_object", service_error_code=code, service_message="nope", http_status_code=400)
        with pytest.raises(kind, match=text):
            with aws_.translate("read s3://b/k"):
                s3.get_object(Bucket="b", Key="k")


def test_stack_failure_reports_reason(aws_):
    sleeps = []
    aws_.sleep = sleeps.append
    states = iter([{"StackStatus": "CREATE_IN_PROGRESS"},
                   {"StackStatus": "ROLLBACK_COMPLETE", "StackStatusReason": "role is invalid"}])
    aws_.stack = lambda name: next(states)
    with pytest.raises(AwsError, match="ended ROLLBACK_COMPLETE: role is invalid"):
        aws_.wait_stack("s", "create", poll=2.0)
    assert sleeps == [2.0]   # the injected sleep, not time.sleep


def test_stack_wait_times_out(aws_):
    aws_.sleep = lambda s: None
    aws_.stack = lambda name: {"StackStatus": "UPDATE_IN_PROGRESS"}
    with pytest.raises(AwsError, match="still UPDATE_IN_PROGRESS"):
        aws_.wait_stack("s", "update", timeout=3, poll=1)


def test_unreachable_local_endpoint_says_check_the_emulator():
    """The emulator gone is the local target failing (exit 5), not AWS refusing (exit 4)."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    wrapper = aws_for(Settings(target="local", endpoint_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(LocalTargetError, match="cannot reach .*wildrydes local status") as raised:
        wrapper.account_id()
    assert raised.value.exit_code == 5


def test_a_local_emulator_that_dies_mid_call_is_a_local_target_error():
    """A connection closed before any answer (the daemon killed mid-request): exit 5, naming what to do."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def close_every_connection():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=close_every_connection, daemon=True).start()
    try:
        wrapper = aws_for(Settings(target="local", endpoint_url=f"http://127.0.0.1:{listener.getsockname()[1]}"))
        wrapper.sleep = lambda s: None
        with pytest.raises(LocalTargetError, match="stopped answering .*wildrydes local start") as raised:
            wrapper.account_id()
        assert raised.value.exit_code == 5
    finally:
        listener.close()


def test_a_full_disk_on_the_local_target_is_its_error_not_aws_refusing():
    from botocore.exceptions import ClientError

    from wildrydes_cli.aws.boto_errors import translate
    refused = ClientError({"Error": {"Code": "LocalTargetStorageError", "Message": "could not save: disk full"}},
                          "PutObject")
    with pytest.raises(LocalTargetError, match="Could not upload: could not save: disk full"):
        with translate("upload"):
            raise refused


def test_the_caller_is_asked_of_sts_once_per_command(aws_):
    """`train --breeds 1000` records who moved each latest.json: one GetCallerIdentity, not 1,000."""
    calls = []
    sts = aws_.client("sts")
    sts.meta.events.register("before-call.sts.GetCallerIdentity", lambda **kw: calls.append(1))
    arns = {aws_.caller_arn() for _ in range(5)}
    assert len(arns) == 1 and next(iter(arns)).startswith("arn:aws:")
    assert len(calls) == 1


def _sent_headers(wrapper) -> dict[str, str]:
    """The headers the wrapper's S3 client sends for a PutObject (caught before it leaves)."""
    client = wrapper.client("s3")
    sent: dict[str, str] = {}

    class Caught(Exception):
        pass

    def grab(request, **_):
        sent.update({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})
        raise Caught()

    client.meta.events.register("before-send", grab)
    with pytest.raises(Caught):
        client.put_object(Bucket="b", Key="k", Body=b"rides" * 1000)
    return sent


def test_the_local_target_sends_s3_bodies_without_the_crc_and_aws_with_it(aws):
    """On loopback the body is checked against its signed SHA-256 (the gate refuses a mismatch); real
    S3 gets botocore's CRC32 as it would from any SDK."""
    local = _sent_headers(aws_for(Settings(target="local", endpoint_url="http://127.0.0.1:1")))
    assert not [name for name in local if name.startswith("x-amz-checksum-")] and "x-amz-trailer" not in local
    assert len(local["x-amz-content-sha256"]) == 64
    real = _sent_headers(aws_for(SETTINGS))   # over HTTPS: a trailing checksum after the chunked body
    assert real.get("x-amz-trailer") == "x-amz-checksum-crc32" or "x-amz-checksum-crc32" in real
