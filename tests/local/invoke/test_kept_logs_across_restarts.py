"""The function's log events survive ``local stop``/``start`` (through a real daemon and its
Lambda runner): what FilterLogEvents served before the stop, it serves after the start,
hostile request paths included; a deleted log group's events do not come back; reset
erases them."""
from __future__ import annotations

import stat
import time
from pathlib import Path

import emulated
import pytest

from wildrydes_cli.local import daemon
from wildrydes_cli.local.invoke import kept_logs
from wildrydes_cli.settings import Settings

pytestmark = pytest.mark.slow

ECHO = '''
import logging
LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
def handler(event, context):
    LOG.info("request path=%s", event["path"])
    print("printed " + event["path"])
    return {"statusCode": 200, "body": "ok"}
'''
HOSTILE_PATH = "a%0A%7B%22t%22%3A1%7D%22%5C%FF%00z"   # newline, a JSON line, quote, backslash, 0xFF, NUL


def read_events(url: str, state_dir: Path, group: str) -> list[tuple[int, str, str]]:
    logs = emulated.clients(url, state_dir=state_dir, services=("logs",))["logs"]
    events = logs.filter_log_events(logGroupName=group, interleaved=True)["events"]
    return [(e["timestamp"], e["logStreamName"], e["message"]) for e in events]


def wait_for(predicate, timeout: float = 10.0):
    """predicate()'s first true value (a missing log group counts as not yet), or its last value."""
    from botocore.exceptions import ClientError

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except ClientError as exc:
            if "ResourceNotFound" not in str(exc) or time.monotonic() > deadline:
                raise
            value = None
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_log_events_survive_stop_and_start_and_deleted_groups_stay_deleted(tmp_path):
    port = emulated.free_port()
    group = "/aws/lambda/echo"
    with emulated.emulator(tmp_path, port) as first:
        deployed = emulated.deploy(first.endpoint_url, emulated.zip_files({"index.py": ECHO}), {},
                                   function_name="echo", proxy_resource="{proxy+}")
        for path in ("", HOSTILE_PATH, "b"):
            status, _, body = emulated.http("GET", deployed.invoke_url + path)
            assert status == 200, body
        before = wait_for(lambda: [e for e in read_events(first.endpoint_url, tmp_path, group)
                                   if e[2].startswith("REPORT")][2:] and read_events(first.endpoint_url, tmp_path, group))
        assert len([e for e in before if e[2].startswith("START")]) == 3
        # the worker splits the path's newline into lines, as Lambda does; what follows it is one event
        assert [e[2] for e in before].count('{"t":1}"\\\ufffd\x00z') == 2
    store = kept_logs.store_dir(tmp_path)
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in store.iterdir()] == [0o600]

    with emulated.emulator(tmp_path, port) as second:
        assert second.pid != first.pid
        after = read_events(second.endpoint_url, tmp_path, group)
        assert after == before                      # same lines, timestamps, streams and order
        # a new invocation goes on from there
        status, _, _ = emulated.http("GET", deployed.invoke_url.replace(first.endpoint_url, second.endpoint_url) + "c")
        assert status == 200
        assert wait_for(lambda: len(read_events(second.endpoint_url, tmp_path, group)) > len(before))
        # the group is deleted: its kept events go with it, durably
        logs = emulated.clients(second.endpoint_url, state_dir=tmp_path, services=("logs",))["logs"]
        logs.delete_log_group(logGroupName=group)
        assert list(store.glob("*.jsonl")) == []

    with emulated.emulator(tmp_path, port) as third:
        logs = emulated.clients(third.endpoint_url, state_dir=tmp_path, services=("logs",))["logs"]
        assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == []
    assert "Traceback" not in Path(third.log_file).read_text(errors="replace")


def test_reset_erases_the_kept_events(tmp_path):
    store = kept_logs.LogStore(kept_logs.store_dir(tmp_path))
    store.load()
    store.append("123456789012", "us-east-1", "/aws/lambda/fn", "s", [{"timestamp": 1, "message": "x"}])
    store.close()
    daemon.reset(Settings(state_dir=tmp_path, local_port=0))   # nothing running: erases only
    assert not kept_logs.store_dir(tmp_path).exists()
