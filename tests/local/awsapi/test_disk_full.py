"""A full disk at each write the local target makes (journal append, blob, the header at a first start,
a compaction's rewrite, the kept log events), on a real small disk (a tmpfs; skipped without root):
nothing acknowledged is lost, nothing refused is kept, and the answers say so in each protocol's shape."""
from __future__ import annotations

import os

import pytest
from journal_records import iter_records
from small_disk import fill, free, small_disk

from wildrydes_cli.local.awsapi import compact, persist, wsgi
from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.http import HttpRequest
from wildrydes_cli.local.invoke import kept_logs

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def req(method: str, target: str, body: bytes = b"", service: str = "s3", **headers: str) -> HttpRequest:
    hdrs = [("Host", "127.0.0.1:4566"), ("Authorization", AUTH.format(service=service))]
    hdrs += [(k.replace("_", "-"), v) for k, v in headers.items()]
    return HttpRequest(method, target, "HTTP/1.1", hdrs, body)


@pytest.fixture
def moto_reset():
    def reset():
        assert wsgi.call_moto(HttpRequest("POST", "/moto-api/reset", "HTTP/1.1", [("Host", "127.0.0.1")]), 0).status == 200
    reset()
    yield reset
    reset()


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk", "4m") as mounted:
        yield mounted


def _live(path) -> persist.Persistence:
    p = persist.Persistence(jn.Journal(path), call=wsgi.call_moto)
    p.replay(0)
    return p


def _keys(bucket: str = "bkt") -> list[str]:
    import re
    listed = wsgi.call_moto(req("GET", f"/{bucket}"), 0)
    assert listed.status == 200, listed.body
    return re.findall(r"<Key>([^<]+)</Key>", listed.body.decode())


@pytest.mark.parametrize("size", [20_000, jn.BLOB_THRESHOLD + 50_000], ids=["inline", "blob"])
def test_a_brief_full_disk_loses_no_later_change(disk, moto_reset, size):
    """The issue's case: puts refused while the disk is full, space freed, ten more puts, restart: all there."""
    live = _live(disk / "journal")
    assert live.call(req("PUT", "/bkt"), 0).status == 200
    ballast = fill(disk)
    applied = live.call(req("PUT", "/bkt/during", os.urandom(size)), 0)
    assert applied.status == 507
    assert b"<Code>LocalTargetStorageError</Code>" in applied.body and b"No space left on device" in applied.body
    refused = live.call(req("PUT", "/bkt/refused", b"x"), 0)
    assert refused.status == 507 and b"refuses changes until it can save an earlier one" in refused.body
    assert "refused" not in _keys()                            # refused: not applied either
    assert list((disk / "journal" / "blobs").glob(".*.tmp")) == []
    free(ballast)
    for i in range(10):
        assert live.call(req("PUT", f"/bkt/after-{i}", os.urandom(size)), 0).status == 200
    live.close()
    moto_reset()
    again = _live(disk / "journal")
    again.close()
    assert sorted(_keys()) == sorted(["during"] + [f"after-{i}" for i in range(10)])
    seqs = [m["seq"] for m in iter_records(disk / "journal") if m.get("kind") == "request"]
    assert seqs == sorted(seqs) and len(seqs) == 12             # in the order they were applied


def test_a_full_disk_answers_each_protocol_in_its_own_error_shape(disk, moto_reset):
    live = _live(disk / "journal")
    ballast = fill(disk)
    try:
        from urllib.parse import urlencode
        template = '{"Description": "%s", "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}' % ("x" * 20_000)
        body = urlencode({"Action": "CreateStack", "StackName": "s", "TemplateBody": template}).encode()
        cfn = live.call(req("POST", "/", body, "cloudformation", Content_Type=FORM), 0)
        assert cfn.status == 507 and cfn.body.startswith(b'<?xml') and b"<ErrorResponse>" in cfn.body
        logs = live.call(req("POST", "/", b"{}", "logs", X_Amz_Target="Logs_20140328.CreateLogGroup"), 0)
        assert logs.status == 507 and logs.body.startswith(b'{"__type": "LocalTargetStorageError"')
    finally:
        free(ballast)
        live.close()


def test_a_first_start_on_a_full_disk_is_refused_with_the_reason(disk):
    from wildrydes_cli.local import server
    (disk / "local" / "journal").mkdir(parents=True)
    ballast = fill(disk)
    with pytest.raises(server.StartRefused, match="No space left on device.*free space"):
        server._start_state(disk, 0, recover=False)
    free(ballast)


def test_a_compaction_that_runs_out_of_space_leaves_the_journal_whole(disk, moto_reset, caplog):
    path = disk / "journal"
    live = _live(path)
    live.call(req("PUT", "/bkt"), 0)
    for i in range(8):   # superseded: 7 x 300 KB freed, far more than the rewrite copies
        assert live.call(req("PUT", "/bkt/model", os.urandom(300_000)), 0).status == 200
    for i in range(40):
        live.call(req("PUT", f"/bkt/small-{i}", b"s" * 30_000), 0)
    live.close()
    before = (path / jn.JOURNAL_NAME).read_bytes()
    ballast = fill(disk)
    journal = jn.Journal(path)
    records = journal.open()
    kept = compact.at_start(journal, records)           # the rewrite fails: replay the journal as it is
    journal.close()
    assert kept is records
    assert "journal compaction skipped" in caplog.text and "No space left on device" in caplog.text
    assert (path / jn.JOURNAL_NAME).read_bytes() == before
    assert list(path.glob(".*.compact")) == []
    free(ballast)
    moto_reset()
    _live(path).close()
    assert sorted(_keys()) == sorted(["model"] + [f"small-{i}" for i in range(40)])


def test_kept_log_events_survive_a_full_disk_without_a_damaged_line(disk, caplog):
    store = kept_logs.LogStore(disk / "logs")
    store.load()
    key = ("123456789012", "us-east-1", "/aws/lambda/fn")
    batch = [{"timestamp": 1_700_000_000_000 + i, "message": "m" * 500} for i in range(50)]
    assert store.append(*key, "s", batch) is True
    ballast = fill(disk)
    assert store.append(*key, "s", batch * 40) is False          # refused midway: cut back, not glued on
    free(ballast)
    assert store.append(*key, "s", [{"timestamp": 1_700_000_001_000, "message": "after"}]) is True
    store.close()
    caplog.clear()
    _, kept = kept_logs.LogStore(disk / "logs"), kept_logs.LogStore(disk / "logs").load()
    assert [e["message"] for e in kept[0].events] == ["m" * 500] * 50 + ["after"]
    assert "damaged" not in caplog.text and "torn" not in caplog.text
