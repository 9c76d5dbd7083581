"""The execute-api front and the Lambda runner, over real HTTP against a running daemon.

Deployments are made with plain boto3 against the emulator (see e2e/emulated.py);
the function is a small test handler whose behaviour is chosen per request,
plus the real lambda/ package with a model in the emulated S3.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import emulated
import pytest

pytestmark = pytest.mark.slow

HANDLER = '''
import json, os, time
print("init", os.environ.get("GREETING"))
def handler(event, context):
    q = event.get("queryStringParameters") or {}
    mode = q.get("mode", "echo")
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "sleep":
        time.sleep(float(q.get("s", "5")))
    if mode == "badkey":
        return {"statusCode": 200, "body": "x", "extra": 1}
    if mode == "floatbody":
        return {"statusCode": 200, "body": 0.71}
    if mode == "exit":
        os._exit(3)
    if mode == "unserialisable":
        return {"statusCode": 200, "body": object()}
    if mode == "big":   # a body of n bytes, inside the proxy response Lambda measures
        return {"statusCode": 200, "body": "x" * int(q["n"])}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"X-Multi": ["a", "b"]},
            "body": json.dumps({"event": event, "greeting": os.environ.get("GREETING"), "pid": os.getpid(),
                                "endpoint": os.environ.get("AWS_ENDPOINT_URL"), "cwd": os.getcwd(),
                                "remaining": context.get_remaining_time_in_millis(),
                                "request_id": context.aws_request_id, "version": VERSION})}
VERSION = 1
'''


@pytest.fixture(scope="module")
def daemon_url(tmp_path_factory):
    with emulated.emulator(tmp_path_factory.mktemp("emulator")) as status:
        yield status


def fresh(daemon_url, code=HANDLER, env=None, timeout=2, **kw):
    suffix = uuid.uuid4().hex[:8]
    return emulated.deploy(daemon_url.endpoint_url, emulated.zip_files({"index.py": code}),
                           env or {"GREETING": "hello"}, bucket=f"bkt-{suffix}", function_name=f"fn-{suffix}",
                           timeout=timeout, **kw)


def call(url, method="POST", body='{"a": 1}', headers=None):
    status, hdrs, data = emulated.http(method, url, body, headers or {"Content-Type": "application/json"})
    try:
        return status, hdrs, json.loads(data)
    except ValueError:
        return status, hdrs, data


def test_proxy_event_reaches_the_handler_with_its_configuration(daemon_url):
    d = fresh(daemon_url)
    status, headers, body = call(d.invoke_url + "?x=1&x=2", headers={"Content-Type": "application/json",
                                                                    "X-Test": "yes"})
    assert status == 200, body
    ev = body["event"]
    assert ev["httpMethod"] == "POST" and ev["path"] == "/" and ev["resource"] == "/"
    assert ev["body"] == '{"a": 1}' and ev["headers"]["X-Test"] == "yes"
    assert ev["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert ev["requestContext"]["stage"] == "prod" and ev["requestContext"]["apiId"] == d.api_id
    assert body["greeting"] == "hello" and body["endpoint"] == daemon_url.endpoint_url
    assert 0 < body["remaining"] <= 2000 and body["request_id"] == ev["requestContext"]["requestId"]
    assert headers.get_all("X-Multi") == ["a", "b"] and headers["x-amzn-RequestId"] == body["request_id"]
    _, _, again = call(d.invoke_url)
    assert again["pid"] == body["pid"], "a warm worker serves the next request"
    assert again["request_id"] != body["request_id"]
    # the handler's own prints go to its log group, not into the worker protocol nor the daemon's log
    logs = emulated.clients(daemon_url.endpoint_url, services=("logs",))["logs"]
    deadline = time.monotonic() + 10
    messages: list[str] = []
    while "init hello" not in messages and time.monotonic() < deadline:
        time.sleep(0.2)   # the runner writes log events in batches every 0.2 s
        messages = [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{d.function_name}")["events"]]
    assert "init hello" in messages
    assert "init hello" not in Path(daemon_url.log_file).read_text()


def test_get_and_other_methods_use_the_any_method(daemon_url):
    d = fresh(daemon_url)
    for method in ("GET", "PUT", "DELETE"):
        status, _, body = call(d.invoke_url, method=method, body=None if method == "GET" else "x")
        assert status == 200 and body["event"]["httpMethod"] == method


def test_unknown_api_stage_and_path_are_403(daemon_url):
    d = fresh(daemon_url)
    base = daemon_url.endpoint_url
    for url in (f"{base}/restapis/nope/prod/_user_request_/", f"{base}/restapis/{d.api_id}/dev/_user_request_/",
                f"{d.invoke_url}not/a/route"):
        status, headers, body = call(url)
        assert status == 403 and body == {"message": "Missing Authentication Token"}, url
        assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_greedy_proxy_resource_gets_path_parameters(daemon_url):
    d = fresh(daemon_url, proxy_resource="{proxy+}")
    status, _, body = call(d.invoke_url + "breeds/sea%20horse")
    assert status == 200
    assert body["event"]["pathParameters"] == {"proxy": "breeds/sea horse"}
    assert body["event"]["resource"] == "/{proxy+}" and body["event"]["path"] == "/breeds/sea horse"


@pytest.mark.parametrize("mode", ["raise", "badkey", "floatbody", "exit", "unserialisable"])
def test_function_errors_and_malformed_responses_are_502(daemon_url, mode):
    d = fresh(daemon_url)
    status, _, body = call(d.invoke_url + f"?mode={mode}")
    assert status == 502 and body == {"message": "Internal server error"}
    status, _, _ = call(d.invoke_url)
    assert status == 200, "the function keeps serving after a failed request"


def test_a_response_over_lambdas_6_mb_is_502_with_lambdas_error_in_the_log(daemon_url):
    """Lambda refuses a response payload over 6,291,556 bytes (the serialized proxy response)."""
    d = fresh(daemon_url)
    status, _, body = call(d.invoke_url + "?mode=big&n=6291000")          # the payload is just under
    assert status == 200 and len(body) == 6291000
    status, _, body = call(d.invoke_url + "?mode=big&n=6291556")          # the body alone is at the limit
    assert status == 502 and body == {"message": "Internal server error"}
    logs = emulated.clients(daemon_url.endpoint_url, services=("logs",))["logs"]
    group = f"/aws/lambda/{d.function_name}"
    lines = []
    for _ in range(50):   # the runner writes the lines a moment after the answer
        try:
            lines = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        except logs.exceptions.ResourceNotFoundException:   # not written yet
            lines = []
        if any("ResponseSizeTooLarge" in line for line in lines) and sum(x.startswith("REPORT") for x in lines) == 2:
            break
        time.sleep(0.1)
    assert any("[ERROR] Function.ResponseSizeTooLarge: Response payload size exceeded maximum allowed payload "
               "size (6291556 bytes)." in line for line in lines)
    assert sum(line.startswith("REPORT RequestId:") for line in lines) == 2


def test_timeout_is_504_and_kills_the_worker(daemon_url):
    d = fresh(daemon_url, timeout=1)
    _, _, warm = call(d.invoke_url)
    started = time.monotonic()
    status, _, body = call(d.invoke_url + "?mode=sleep&s=30")
    assert status == 504 and body == {"message": "Endpoint request timed out"}
    assert time.monotonic() - started < 5
    assert emulated.pid_gone(warm["pid"], timeout=5)
    status, _, after = call(d.invoke_url)
    assert status == 200 and after["pid"] != warm["pid"]


def test_init_error_is_502(daemon_url):
    d = fresh(daemon_url, code="print('loading')\nraise ImportError('no model library')\n")
    status, _, body = call(d.invoke_url)
    assert status == 502 and body == {"message": "Internal server error"}
    # what it printed and the error are in its log group (not echoed to the daemon's log)
    logs = emulated.clients(daemon_url.endpoint_url, services=("logs",))["logs"]
    deadline = time.monotonic() + 10
    messages: list[str] = []
    while not any("no model library" in m for m in messages) and time.monotonic() < deadline:
        time.sleep(0.2)
        messages = [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{d.function_name}")["events"]]
    assert "loading" in messages and "[ERROR] ImportError: no model library" in messages


def test_concurrent_requests_run_concurrently(daemon_url):
    d = fresh(daemon_url, timeout=10)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: call(d.invoke_url), range(2)))       # two warm workers
        started = time.monotonic()
        results = list(pool.map(lambda _: call(d.invoke_url + "?mode=sleep&s=1.5"), range(2)))
        elapsed = time.monotonic() - started
    assert [r[0] for r in results] == [200, 200]
    assert len({r[2]["pid"] for r in results}) == 2 and elapsed < 2.9


def test_configuration_and_code_changes_take_effect_without_restart(daemon_url):
    d = fresh(daemon_url)
    _, _, first = call(d.invoke_url)
    lam = d.aws["lambda"]
    lam.update_function_configuration(FunctionName=d.function_name, Environment={"Variables": {"GREETING": "hi"}})
    _, _, second = call(d.invoke_url)
    assert second["greeting"] == "hi" and second["pid"] != first["pid"]
    assert emulated.pid_gone(first["pid"], timeout=5), "retired worker is killed"
    new_code = emulated.zip_files({"index.py": HANDLER.replace("VERSION = 1", "VERSION = 2")})
    d.aws["s3"].put_object(Bucket=d.bucket, Key="code/v2.zip", Body=new_code)
    lam.update_function_code(FunctionName=d.function_name, S3Bucket=d.bucket, S3Key="code/v2.zip")
    _, _, third = call(d.invoke_url)
    assert third["version"] == 2 and third["greeting"] == "hi"


def test_missing_function_is_500(daemon_url):
    d = fresh(daemon_url)
    d.aws["lambda"].delete_function(FunctionName=d.function_name)
    status, _, body = call(d.invoke_url)
    assert status == 500 and body == {"message": "Internal server error"}


def test_workers_are_children_of_the_daemon(daemon_url):
    d = fresh(daemon_url)
    _, _, body = call(d.invoke_url)
    parent = Path(f"/proc/{body['pid']}/stat").read_text().rsplit(")", 1)[1].split()[1]
    assert int(parent) == daemon_url.pid


def test_the_deployed_function_package_scores_the_workshop_request(daemon_url):
    suffix = uuid.uuid4().hex[:8]
    bucket = f"data-{suffix}"
    d = emulated.deploy(daemon_url.endpoint_url, emulated.function_package(),
                        {"OUTPUT_BUCKET": bucket, "MODEL_PATH": "m1/model.tar.gz", "INFERENCE_ENGINE": "lean"},
                        bucket=bucket, function_name=f"wr-{suffix}",
                        extra_objects={"m1/model.tar.gz": emulated.workshop_model(),
                                       "m2/model.tar.gz": emulated.workshop_model(scale=3.0)})
    status, headers, body = call(d.invoke_url, body=emulated.WORKSHOP_BODY)
    assert status == 200, body
    assert isinstance(body["score"], float) and body["model_path"] == "m1/model.tar.gz"
    assert headers["Content-Type"].startswith("application/json")
    status, _, meta = call(d.invoke_url, method="GET", body=None)
    assert status == 200 and "m1/model.tar.gz" in json.dumps(meta)
    d.aws["lambda"].update_function_configuration(
        FunctionName=d.function_name,
        Environment={"Variables": {"OUTPUT_BUCKET": bucket, "MODEL_PATH": "m2/model.tar.gz"}})
    status, _, newer = call(d.invoke_url, body=emulated.WORKSHOP_BODY)
    assert status == 200 and newer["model_path"] == "m2/model.tar.gz" and newer["score"] != body["score"]
    if subprocess.run(["which", "curl"], capture_output=True).returncode == 0:
        out = subprocess.run(["curl", "-s", "-d", emulated.WORKSHOP_BODY, "-H", "Content-Type: application/json",
                              "-X", "POST", d.invoke_url], capture_output=True, text=True, timeout=30)
        assert json.loads(out.stdout)["score"] == newer["score"]


def test_aws_apis_are_served_by_moto_on_the_same_port(daemon_url):
    aws = emulated.clients(daemon_url.endpoint_url)
    bucket = f"api-{uuid.uuid4().hex[:8]}"
    aws["s3"].create_bucket(Bucket=bucket)
    big = b"x" * (3 * 1024 * 1024)
    aws["s3"].put_object(Bucket=bucket, Key="dir/with space/k.bin", Body=big, Metadata={"with_underscore": "1"})
    head = aws["s3"].head_object(Bucket=bucket, Key="dir/with space/k.bin")
    assert head["ContentLength"] == len(big) and head["Metadata"] == {"with_underscore": "1"}
    assert aws["s3"].get_object(Bucket=bucket, Key="dir/with space/k.bin")["Body"].read() == big
    import io
    large = os.urandom(9 * 1024 * 1024)           # above boto3's 8 MB multipart threshold, streamed
    aws["s3"].upload_fileobj(io.BytesIO(large), bucket, "a%2Fb c+d.bin")
    assert aws["s3"].get_object(Bucket=bucket, Key="a%2Fb c+d.bin")["Body"].read() == large
    sts = emulated.clients(daemon_url.endpoint_url, services=("sts",))["sts"]
    assert sts.get_caller_identity()["Account"] == emulated.ACCOUNT
