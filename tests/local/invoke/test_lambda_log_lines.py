"""The local target writes what real Lambda writes to CloudWatch Logs: START, the
function's own lines, END and REPORT, in /aws/lambda/<function>, one stream per
execution environment. Checked through boto3 against moto's logs backend, and
the worker's capture through a real worker process."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from wildrydes_cli.local.invoke import lambda_log_lines
from wildrydes_cli.local.invoke.lambda_log_lines import Invocation, LogSink, invocation_lines

RID = "8f5c2f4e-1111-2222-3333-444455556666"


def test_report_line_has_lambdas_fields_and_rounds_billed_duration_up():
    lines = invocation_lines(Invocation(RID, ("hello",), 1.234, 128, 51, init_duration_ms=353.28))
    assert lines[0] == f"START RequestId: {RID} Version: $LATEST"
    assert lines[1] == "hello"
    assert lines[2] == f"END RequestId: {RID}"
    fields = lines[3].split("\t")
    assert fields == [f"REPORT RequestId: {RID}", "Duration: 1.23 ms", "Billed Duration: 2 ms",
                      "Memory Size: 128 MB", "Max Memory Used: 51 MB", "Init Duration: 353.28 ms"]


def test_warm_invocation_has_no_init_duration_and_bills_at_least_one_ms():
    report = invocation_lines(Invocation(RID, (), 0.02, 256, 40))[-1]
    assert "Init Duration" not in report
    assert "Billed Duration: 1 ms" in report


def test_stream_names_follow_lambdas_format():
    name = lambda_log_lines.stream_name(now=0, token="ab" * 16)
    assert name == "1970/01/01/[$LATEST]" + "ab" * 16


ACCOUNT = "123456789012"   # moto's default account: what boto3 under mock_aws reads


@pytest.fixture
def logs_backend():
    from wildrydes_cli.local.awsapi.moto_backends import append_log_events
    with mock_aws():
        yield append_log_events, boto3.client("logs", region_name="us-east-1")


def test_sink_creates_group_and_stream_and_events_read_back_in_order(logs_backend):
    write, client = logs_backend
    sink = LogSink(write)
    stream = lambda_log_lines.stream_name()
    sink.add(ACCOUNT, "us-east-1", "ModelInferenceFunction", stream, invocation_lines(Invocation(RID, ("a", "b"), 2.0, 128, 40)))
    events = client.filter_log_events(logGroupName="/aws/lambda/ModelInferenceFunction")["events"]
    assert [e["message"] for e in events][:4] == [f"START RequestId: {RID} Version: $LATEST", "a", "b",
                                                  f"END RequestId: {RID}"]
    assert events[0]["logStreamName"] == stream


def test_sink_batches_until_flushed(logs_backend):
    write, client = logs_backend
    scheduled = []
    sink = LogSink(write, schedule=lambda delay, callback: scheduled.append((delay, callback)))
    sink.add(ACCOUNT, "us-east-1", "fn", "s1", ["one"])
    sink.add(ACCOUNT, "us-east-1", "fn", "s1", ["two"])
    assert len(scheduled) == 1                      # one timer for both invocations
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.filter_log_events(logGroupName="/aws/lambda/fn")
    scheduled[0][1]()
    assert [e["message"] for e in client.filter_log_events(logGroupName="/aws/lambda/fn")["events"]] == ["one", "two"]


def test_sink_keeps_a_bounded_number_of_events_per_stream(logs_backend, monkeypatch):
    write, client = logs_backend
    monkeypatch.setattr(LogSink, "MAX_EVENTS_PER_STREAM", 5)
    sink = LogSink(write)
    for i in range(12):
        sink.add(ACCOUNT, "us-east-1", "fn", "s1", [f"line {i}"])
    messages = [e["message"] for e in client.filter_log_events(logGroupName="/aws/lambda/fn")["events"]]
    assert messages == [f"line {i}" for i in range(7, 12)]


def test_sink_survives_a_deleted_group_and_recreates_it(logs_backend, caplog):
    write, client = logs_backend
    sink = LogSink(write)
    sink.add(ACCOUNT, "us-east-1", "fn", "s1", ["before"])
    client.delete_log_group(logGroupName="/aws/lambda/fn")
    sink.add(ACCOUNT, "us-east-1", "fn", "s1", ["after"])
    assert [e["message"] for e in client.filter_log_events(logGroupName="/aws/lambda/fn")["events"]] == ["after"]


def _frame(message: dict) -> bytes:
    payload = json.dumps(message).encode()
    return struct.pack(">I", len(payload)) + payload


def _read_frames(data: bytes) -> list[dict]:
    frames = []
    while data:
        (size,) = struct.unpack(">I", data[:4])
        frames.append(json.loads(data[4:4 + size]))
        data = data[4 + size:]
    return frames


def test_worker_returns_the_functions_own_lines_in_lambdas_format(tmp_path):
    (tmp_path / "index.py").write_text(
        "import logging\n"
        "print('init line')\n"
        "LOG = logging.getLogger()\n"
        "LOG.setLevel(logging.INFO)\n"
        "def handler(event, context):\n"
        "    print('printed', event['n'])\n"
        "    LOG.info('logged %s', event['n'])\n"
        "    return {'statusCode': 200, 'body': 'ok'}\n")
    request = _frame({"event": {"n": 7}, "context": {"request_id": RID, "function_name": "fn"}})
    proc = subprocess.run([sys.executable, "-m", "wildrydes_cli.local.invoke.worker", "--task-root", str(tmp_path),
                           "--handler", "index.handler"], input=request, capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    ready, result = _read_frames(proc.stdout)
    assert ready["type"] == "ready" and ready["logs"] == ["init line"] and ready["init_ms"] > 0
    assert result["ok"] and result["result"]["body"] == "ok"
    assert result["logs"][0] == "printed 7"
    level, stamp, request_id, message = result["logs"][1].split("\t")
    assert (level, request_id, message) == ("[INFO]", RID, "logged 7")
    assert stamp.endswith("Z") and "T" in stamp
    assert result["duration_ms"] >= 0 and result["max_memory_mb"] >= 5
    assert b"printed 7" not in proc.stderr      # not echoed to the daemon's log: it is in the log group


def test_worker_bounds_what_one_invocation_may_log(tmp_path):
    (tmp_path / "index.py").write_text(
        "def handler(event, context):\n"
        "    for i in range(5000):\n"
        "        print('x' * 100)\n"
        "    return {}\n")
    request = _frame({"event": {}, "context": {"request_id": RID}})
    proc = subprocess.run([sys.executable, "-m", "wildrydes_cli.local.invoke.worker", "--task-root", str(tmp_path),
                           "--handler", "index.handler"], input=request, capture_output=True, timeout=60)
    result = _read_frames(proc.stdout)[1]
    assert len(result["logs"]) == 1001
    assert result["logs"][-1] == "[wildrydes] 4000 more output lines of this invocation were dropped"


def test_a_result_json_cannot_carry_is_an_error_not_a_dead_worker(tmp_path):
    (tmp_path / "index.py").write_text("def handler(event, context):\n    return {'x': object()}\n")
    request = _frame({"event": {}, "context": {"request_id": RID}}) * 2
    proc = subprocess.run([sys.executable, "-m", "wildrydes_cli.local.invoke.worker", "--task-root", str(tmp_path),
                           "--handler", "index.handler"], input=request, capture_output=True, timeout=60)
    frames = _read_frames(proc.stdout)
    assert [f.get("ok") for f in frames[1:]] == [False, False]
    assert "not JSON serializable" in frames[1]["error"]["errorMessage"]
