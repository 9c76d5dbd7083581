"""wildrydes logs, below the command: reading a function's log group through the
Aws wrapper against moto, grouping lines by invocation, --breed, --follow."""
from __future__ import annotations

import time

import boto3
import pytest
from cli_helpers import aws_for

from wildrydes_cli.errors import NotFoundError, UsageError
from wildrydes_cli.observe import logs
from wildrydes_cli.settings import Settings

GROUP = "/aws/lambda/ModelInferenceFunction"


def _invocation(rid: str, breed: str | None = None) -> list[str]:
    line = f"[INFO]\t2026-11-25T00:00:00.000Z\t{rid}\trequest route=POST / breed={breed or '-'} status=200 ms=0.10"
    return [f"START RequestId: {rid} Version: $LATEST", line, "printed without a request id",
            f"END RequestId: {rid}", f"REPORT RequestId: {rid}\tDuration: 1.00 ms\tBilled Duration: 1 ms"]


@pytest.fixture
def group(aws):
    client = boto3.client("logs")
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName="s1")

    def put(lines: list[str], at_ms: int | None = None) -> None:
        stamp = at_ms or int(time.time() * 1000)
        client.put_log_events(logGroupName=GROUP, logStreamName="s1",
                              logEvents=[{"timestamp": stamp, "message": m} for m in lines])
    return put


@pytest.fixture
def reader():
    return logs.LogReader(aws_for(Settings(target="aws", region="us-east-1")), GROUP)


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), (" 5M ", 300)])
def test_since_takes_durations(text, seconds):
    assert logs.parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "0m", "-5m", "31d", "1w", "1e3s"])
def test_since_refuses_anything_else_and_shows_the_form(text):
    with pytest.raises(UsageError, match="such as 30s, 10m, 2h or 1d"):
        logs.parse_since(text)


def test_every_line_of_an_invocation_carries_its_request_id(group, reader):
    group(_invocation("req-1") + _invocation("req-2"))
    events = logs.recent(reader, 600)
    assert [e.request_id for e in events] == ["req-1"] * 5 + ["req-2"] * 5
    assert events[2].message == "printed without a request id"


def test_breed_keeps_whole_invocations_of_that_breed_only(group, reader):
    group(_invocation("a", "shire") + _invocation("b", "pegasus") + _invocation("c", "shire-horse"))
    kept = logs.recent(reader, 600, breed="shire")
    assert {e.request_id for e in kept} == {"a"}
    assert len(kept) == 5


def test_since_leaves_out_older_events(group, reader):
    now_ms = int(time.time() * 1000)
    group(_invocation("old"), at_ms=now_ms - 3_600_000)
    group(_invocation("new"), at_ms=now_ms)
    assert {e.request_id for e in logs.recent(reader, 600)} == {"new"}


def test_a_missing_group_is_not_found(aws, reader):
    with pytest.raises(NotFoundError, match="log group /aws/lambda/ModelInferenceFunction"):
        logs.recent(reader, 600)


def test_follow_yields_only_new_events_and_sleeps_between_polls(group, reader):
    group(_invocation("first"))
    naps: list[float] = []
    batches = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 1:
            group(_invocation("second"))

    for batch in logs.follow(reader, 600, sleep=sleep, polls=3):
        batches.append({e.request_id for e in batch})
    assert batches == [{"first"}, {"second"}]
    assert naps == [logs.FOLLOW_POLL_SECONDS] * 2


def test_reader_follows_pages(group, reader, monkeypatch):
    calls = []
    real = reader.aws.log_events

    def paged(group_name, start_ms, pattern, token):
        calls.append(token)
        page = real(group_name, start_ms, pattern, None)
        if token is None:
            return {"events": page["events"][:2], "nextToken": "page-2"}
        return {"events": page["events"][2:]}
    monkeypatch.setattr(reader.aws, "log_events", paged)
    group(_invocation("x"))
    assert len(reader.read(0)) == 5
    assert calls == [None, "page-2"]
