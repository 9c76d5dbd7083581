"""Journal compaction (compact.py): the compacted journal replays into moto to the same state as
the original (S3 objects and bodies, tags, open uploads, buckets, functions, APIs, stacks), over
random sequences of puts, copies, deletes, multipart uploads and Lambda code reads; odd journals;
crashes between the steps of the rewrite; the decision of when it pays."""
from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from journal_records import iter_records

from wildrydes_cli.local.awsapi import compact, persist, s3_uploads
from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.http import HttpRequest

AUTH = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/{service}/aws4_request, " \
       "SignedHeaders=host, Signature=0"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def req(method: str, target: str, body: bytes = b"", service: str = "s3", **headers: str) -> HttpRequest:
    hdrs = [("Host", "127.0.0.1:4566"), ("Authorization", AUTH.format(service=service))]
    hdrs += [(k.replace("_", "-"), v) for k, v in headers.items()]
    return HttpRequest(method, target, "HTTP/1.1", hdrs, body)


def moto(request: HttpRequest, port: int = 0, client=None):
    from wildrydes_cli.local.awsapi import wsgi
    return wsgi.call_moto(request, port, client)


@pytest.fixture
def moto_reset():
    def reset():
        assert moto(HttpRequest("POST", "/moto-api/reset", "HTTP/1.1", [("Host", "127.0.0.1")])).status == 200

    reset()
    yield reset
    reset()


# --- what a client can see -----------------------------------------------------------------------

_VOLATILE = re.compile(r"<(LastModified|CreationDate|CreationTime|Initiated)>[^<]*</\1>")
_VOLATILE_JSON = ("LastModified", "createdDate", "lastUpdatedDate", "RevisionId")


def _json_view(target: str, service: str, key: str) -> list:
    answer = moto(req("GET", target, service=service))
    assert answer.status == 200, answer.body[:300]
    items = json.loads(answer.body).get(key) or []
    return sorted((json.dumps({k: v for k, v in item.items() if k not in _VOLATILE_JSON}, sort_keys=True)
                   for item in items))


def snapshot() -> dict:
    """The emulator's state as clients read it (timestamps, which the replay sets anew, left out)."""
    view: dict = {"buckets": {}}
    buckets = re.findall(rb"<Name>([^<]+)</Name>", moto(req("GET", "/")).body)
    for name in sorted(b.decode() for b in buckets):
        listing = moto(req("GET", f"/{name}?list-type=2")).body
        objects = {}
        for raw in re.findall(rb"<Key>([^<]*)</Key>", listing):
            key = raw.decode().replace("&amp;", "&").replace("&lt;", "<")
            quoted = "/".join(p.replace(" ", "%20").replace("&", "%26") for p in key.split("/"))
            got = moto(req("GET", f"/{name}/{quoted}"))
            headers = {k.lower(): v for k, v in got.headers}
            tags = moto(req("GET", f"/{name}/{quoted}?tagging")).body
            try:
                acl = moto(req("GET", f"/{name}/{quoted}?acl")).body
            except AttributeError:   # moto cannot render the ACL of a completed multipart upload
                acl = b"(moto: no ACL)"
            objects[key] = (got.status, got.body, headers.get("content-type"), headers.get("etag"),
                            headers.get("x-amz-meta-n"), _VOLATILE.sub("", tags.decode()), acl.decode())
        uploads = moto(req("GET", f"/{name}?uploads")).body
        view["buckets"][name] = {"objects": objects,
                                 "uploads": sorted(re.findall(rb"<Key>([^<]*)</Key>", uploads))}
    view["functions"] = _json_view("/2015-03-31/functions/", "lambda", "Functions")
    view["apis"] = _json_view("/restapis", "apigateway", "item")
    stacks = moto(req("POST", "/", b"Action=DescribeStacks&Version=2010-05-15", "cloudformation",
                      Content_Type=FORM)).body
    view["stacks"] = _VOLATILE.sub("", stacks.decode()).split("<ResponseMetadata>")[0]
    return view


def probed() -> dict:
    """Copy one object onto every key a history may use, then look: moto keeps tags under a key's
    name past its object's delete, and a copy adds to them; this shows what a later session would."""
    assert moto(req("PUT", "/probe-bucket")).status == 200
    assert moto(req("PUT", "/probe-bucket/probe", b"probe")).status == 200
    for bucket in BUCKETS:
        for key in KEYS:
            moto(req("PUT", f"/{bucket}/{key.replace(' ', '%20')}", x_amz_copy_source="probe-bucket/probe"))
    return snapshot()


def replayed(path: Path, reset, monkeypatch, auto: bool = False) -> tuple[dict, persist.ReplayStats]:
    """Replay the journal at ``path`` into an empty moto; its state and the replay's figures."""
    reset()
    if not auto:
        monkeypatch.setenv(compact.COMPACT_ENV, "0")
    p = persist.Persistence(jn.Journal(path), call=moto)
    stats = p.replay(0)
    p.close()
    monkeypatch.delenv(compact.COMPACT_ENV, raising=False)
    view = snapshot()
    return view, stats


def force_compact(path: Path) -> compact.Outcome:
    journal = jn.Journal(path)
    try:
        _, outcome = compact.compact(journal, journal.open(), force=True)
    finally:
        journal.close()
    return outcome


# --- building journals ---------------------------------------------------------------------------

def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", text)
    return buffer.getvalue()


class Live:
    """A Persistence on a fresh journal with moto behind it: requests as the daemon journals them."""

    def __init__(self, path: Path):
        self.p = persist.Persistence(jn.Journal(path), call=moto)
        self.p.replay(0)

    def __call__(self, *args, **kw) -> int:
        return self.p.call(req(*args, **kw), 0).status

    def put(self, bucket: str, key: str, body: bytes, **headers: str) -> int:
        return self("PUT", f"/{bucket}/{key}", body, **headers)

    def multipart(self, bucket: str, key: str, body: bytes, end: str) -> None:
        created = self.p.call(req("POST", f"/{bucket}/{key}?uploads"), 0)
        if created.status != 200:
            return
        upload = s3_uploads.UPLOAD_ID.search(created.body).group(1).decode()
        part = self.p.call(req("PUT", f"/{bucket}/{key}?partNumber=1&uploadId={upload}", body), 0)
        etag = {k.lower(): v for k, v in part.headers}.get("etag", "")
        if end == "complete":
            done = f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>" \
                   "</CompleteMultipartUpload>"
            self("POST", f"/{bucket}/{key}?uploadId={upload}", done.encode())
        elif end == "abort":
            self("DELETE", f"/{bucket}/{key}?uploadId={upload}")

    def function(self, bucket: str, key: str, name: str = "fn") -> int:
        code = {"S3Bucket": bucket, "S3Key": key}
        status = self("POST", "/2015-03-31/functions", json.dumps(
            {"FunctionName": name, "Runtime": "python3.13", "Handler": "index.handler", "Code": code,
             "Role": "arn:aws:iam::123456789012:role/compaction-test"}).encode(), "lambda")
        if status == 409:   # exists: new code from the same place
            status = self("PUT", f"/2015-03-31/functions/{name}/code", json.dumps(code).encode(), "lambda")
        return status

    def close(self) -> None:
        self.p.close()


BUCKETS = ("bkt-one", "bkt-two")
KEYS = ("k1", "dir/k 2", "code.zip")


def random_history(live: Live, rng: random.Random, steps: int) -> None:
    live("POST", "/", b"Action=CreateRole&RoleName=compaction-test&AssumeRolePolicyDocument=%7B%7D"
         b"&Version=2010-05-08", "iam", Content_Type=FORM)
    for bucket in BUCKETS:
        live("PUT", f"/{bucket}")
    for n in range(steps):
        bucket, key = rng.choice(BUCKETS), rng.choice(KEYS)
        qkey = key.replace(" ", "%20")
        roll = rng.random()
        body = _zip(f"v{n}") if key == "code.zip" else \
            (os.urandom(jn.BLOB_THRESHOLD + 10) if rng.random() < 0.05 else f"body {n}".encode())
        if roll < 0.40:
            live.put(bucket, qkey, body, Content_Type=rng.choice(["text/plain", "application/zip"]),
                     X_Amz_Meta_N=str(n))
        elif roll < 0.52:
            live("DELETE", f"/{bucket}/{qkey}")
        elif roll < 0.60:
            names = rng.sample(KEYS + ("never-written",), rng.randint(1, 3))
            xml = "<Delete><Quiet>true</Quiet>" + "".join(f"<Object><Key>{k}</Key></Object>" for k in names) + \
                  "</Delete>"
            live("POST", f"/{bucket}?delete", xml.encode(), Content_Type="application/xml")
        elif roll < 0.70:
            src_bucket, src_key = rng.choice(BUCKETS), rng.choice(KEYS).replace(" ", "%20")
            live("PUT", f"/{bucket}/{qkey}", x_amz_copy_source=f"{src_bucket}/{src_key}")
        elif roll < 0.73:
            live("PUT", f"/{bucket}/{qkey}?tagging",
                 f"<Tagging><TagSet><Tag><Key>n</Key><Value>{n}</Value></Tag></TagSet></Tagging>".encode())
        elif roll < 0.76:
            live("PUT", f"/{bucket}/{qkey}?acl", x_amz_acl=rng.choice(["public-read", "private"]))
        elif roll < 0.86:
            live.multipart(bucket, qkey, body, rng.choice(["complete", "complete", "abort", "open"]))
        elif roll < 0.94:
            live.function(bucket, "code.zip", name=rng.choice(["fn-a", "fn-b"]))
        elif roll < 0.97:
            live("DELETE", f"/{bucket}")     # refused unless empty: then recreated
            live("PUT", f"/{bucket}")
        else:
            live("POST", "/restapis", json.dumps({"name": f"api{n}"}).encode(), "apigateway")


@pytest.mark.parametrize("seed", range(30))
def test_random_histories_replay_to_the_same_state_after_compaction(tmp_path, moto_reset, monkeypatch, seed):
    rng = random.Random(seed)
    path = tmp_path / "j"
    live = Live(path)
    random_history(live, rng, rng.randint(20, 70))
    live.close()
    live_view = snapshot()
    shutil.copytree(path, tmp_path / "original")
    before, _ = replayed(tmp_path / "original", moto_reset, monkeypatch)
    assert before == live_view
    before_probed = probed()
    outcome = force_compact(path)
    after, stats = replayed(path, moto_reset, monkeypatch)
    assert after == before, outcome
    assert stats.failed == 0
    assert probed() == before_probed
    assert outcome.records_after <= outcome.records_before
    # Compacting again finds nothing more: the rule reached a fixed point.
    again = force_compact(path)
    assert again.compacted is False and again.records_after == outcome.records_after


def test_retrained_breed_indexes_are_dropped_and_models_kept(tmp_path, moto_reset, monkeypatch):
    path = tmp_path / "j"
    live = Live(path)
    live("PUT", "/data")
    for round_ in range(5):
        for breed in ("pegasus", "unicorn"):
            live.put("data", f"breeds/{breed}/m{round_}/model.tar.gz", b"model %d" % round_)
            live.put("data", f"breeds/{breed}/latest.json", b'{"round": %d}' % round_,
                     Content_Type="application/json")
    live.close()
    before, _ = replayed(path, moto_reset, monkeypatch)
    outcome = force_compact(path)
    assert (outcome.records_before, outcome.records_after) == (22, 14)   # 8 superseded indexes went
    targets = [m.get("target") for m in iter_records(path)]
    assert targets.count("/data/breeds/pegasus/latest.json") == 1
    after, _ = replayed(path, moto_reset, monkeypatch)
    assert after == before
    assert after["buckets"]["data"]["objects"]["breeds/pegasus/latest.json"][1] == b'{"round": 4}'


def test_code_read_by_lambda_is_kept_although_overwritten_later(tmp_path, moto_reset, monkeypatch):
    path = tmp_path / "j"
    live = Live(path)
    live("POST", "/", b"Action=CreateRole&RoleName=compaction-test&AssumeRolePolicyDocument=%7B%7D"
         b"&Version=2010-05-08", "iam", Content_Type=FORM)
    live("PUT", "/code")
    live.put("code", "fn.zip", _zip("one"))
    live.put("code", "fn.zip", _zip("two"))       # superseded before anyone read it: goes
    assert live.function("code", "fn.zip") == 201  # reads "two"
    live.put("code", "fn.zip", _zip("three"))     # the function keeps "two"
    live("DELETE", "/code/fn.zip")
    live.close()
    before, _ = replayed(path, moto_reset, monkeypatch)
    outcome = force_compact(path)
    after, _ = replayed(path, moto_reset, monkeypatch)
    assert after == before and after["buckets"]["code"]["objects"] == {}
    bodies = [m for m in iter_records(path) if m.get("target") == "/code/fn.zip"]
    assert [m["method"] for m in bodies] == ["PUT", "DELETE"]   # "two" kept for the function, and its delete
    assert outcome.records_before - outcome.records_after == 2


def test_big_overwritten_upload_frees_its_blobs_and_a_start_compacts_by_itself(tmp_path, moto_reset, monkeypatch):
    path = tmp_path / "j"
    live = Live(path)
    live("PUT", "/code")
    for n in range(3):
        live.multipart("code", "package.zip", bytes([n]) * (3 * jn.BLOB_THRESHOLD), "complete")
    live.close()
    assert len(list((path / "blobs").iterdir())) == 3
    before, _ = replayed(tmp_path / "j", moto_reset, monkeypatch)
    shutil.copytree(path, tmp_path / "original")
    after, stats = replayed(path, moto_reset, monkeypatch, auto=True)   # what `local start` does
    assert after == before
    assert len(list((path / "blobs").iterdir())) == 1
    assert stats.records == 4 < len(list(iter_records(tmp_path / "original")))
    assert iter_records(path).__next__()["next_seq"] == 10   # the dropped seqs are not handed out again


def test_next_seq_survives_dropping_the_last_records(tmp_path, moto_reset, monkeypatch):
    path = tmp_path / "j"
    live = Live(path)
    live("PUT", "/b-seq")
    live.put("b-seq", "k", b"1")
    live("DELETE", "/b-seq/k")                    # the last two records both go
    live.close()
    force_compact(path)
    assert [m.get("method") for m in iter_records(path)] == [None, "PUT"]
    p = persist.Persistence(jn.Journal(path), call=moto)
    p.replay(0)
    assert p.next_seq == 3
    p.close()


# --- kept when unsure ---------------------------------------------------------------------------

def _records(*metas: dict) -> list[jn.Record]:
    header = jn.Record({"kind": "header", "version": 1, "seed_base": 0})
    return [header] + [jn.Record(dict(m, kind=m.get("kind", "request"), seq=i)) for i, m in enumerate(metas)]


def _put(target: str, service: str = "s3", method: str = "PUT", **headers: str) -> dict:
    hdrs = [["Host", "127.0.0.1:1"], ["Authorization", AUTH.format(service=service)]] + \
           [[k.replace("_", "-"), v] for k, v in headers.items()]
    return {"method": method, "target": target, "headers": hdrs}


def test_plain_overwrite_is_planned_and_odd_buckets_are_not():
    assert compact.plan(_records(_put("/b"), _put("/b/k"), _put("/b/k"))).drop == {2}
    versioned = compact.plan(_records(_put("/b"), _put("/b?versioning"), _put("/b/k"), _put("/b/k")))
    assert versioned.drop == set() and versioned.opaque_buckets == {"b"}
    locked = compact.plan(_records(_put("/b", x_amz_bucket_object_lock_enabled="true"), _put("/b/k"), _put("/b/k")))
    assert locked.drop == set()
    retention = compact.plan(_records(_put("/b"), _put("/b/k"), _put("/b/k?retention"), _put("/b/k")))
    assert retention.drop == set()


def test_conditional_writes_deletes_of_unseen_keys_and_odd_uploads_are_kept():
    # If-Match looks at the object it replaces: the write before it must stay.
    assert compact.plan(_records(_put("/b"), _put("/b/k"), _put("/b/k", If_Match='"e1"'))).drop == set()
    # A key this journal never wrote (as we spell it) may still exist for moto: its delete stays.
    assert compact.plan(_records(_put("/b"), _put("/b/never", method="DELETE"))).drop == set()
    assert compact.plan(_records(_put("/b"), _put("/b/k"), _put("/b/k", method="DELETE"))).drop == {2, 3}
    twice = _records(_put("/b"), dict(_put("/b/k?uploads", method="POST"), upload_id="u1"),
                     _put("/b/k?uploadId=u1", method="POST"), _put("/b/k?uploadId=u1", method="POST"), _put("/b/k"))
    assert compact.plan(twice).opaque_buckets == {"b"}
    stranger = _records(_put("/b"), _put("/b/k?partNumber=1&uploadId=u9"), _put("/b/k?uploadId=u9", method="POST"),
                        _put("/b/k"))
    assert compact.plan(stranger).drop == set()


def test_a_bug_in_compaction_does_not_stop_the_start(tmp_path, moto_reset, monkeypatch, caplog):
    path = tmp_path / "j"
    live = Live(path)
    live("PUT", "/bug")
    live.put("bug", "k", b"1")
    live.close()
    before, _ = replayed(path, moto_reset, monkeypatch)

    def broken(records):
        raise KeyError("seq")

    monkeypatch.setattr(compact, "plan", broken)
    after, stats = replayed(path, moto_reset, monkeypatch, auto=True)
    assert after == before and stats.records == 2
    assert "journal compaction failed; replaying the journal as it is" in caplog.text


@pytest.mark.parametrize("odd, why", [
    ({"method": "PUT", "target": "/b/k", "headers": [["Host", "127.0.0.1:1"]]}, "no credential scope"),
    (_put("/k", Host="b.localhost:1"), "is not known"),
    (_put("/", "dynamodb", "POST"), "might write objects"),
    (_put("/moto-api/reset", "s3", "POST"), "no credential scope"),
])
def test_a_request_that_cannot_be_placed_stops_s3_compaction(odd, why):
    if odd["target"] == "/k":
        odd["headers"] = [h for h in odd["headers"] if h[0] != "Host"] + [["Host", "b.localhost:1"]]
    decided = compact.plan(_records(_put("/b"), _put("/b/k"), odd, _put("/b/k")))
    assert decided.drop == set() and why in (decided.disabled or "")


def test_unknown_record_kinds_and_the_header_are_kept(tmp_path):
    path = tmp_path / "j"
    journal = jn.Journal(path)
    journal.open()
    journal.append({"kind": "header", "version": 1, "seed_base": 7})
    journal.append({"kind": "from-the-future", "x": 1}, b"opaque")
    for meta in (_put("/b"), _put("/b/k"), _put("/b/k")):
        journal.append(dict(meta, kind="request", seq=len(list(iter_records(path))), seed=1), b"v")
    journal.close()
    outcome = force_compact(path)
    metas = list(iter_records(path))
    assert outcome.records_after == 4 and metas[0]["seed_base"] == 7
    assert metas[1] == {"kind": "from-the-future", "x": 1}
    assert [m.get("target") for m in metas[2:]] == ["/b", "/b/k"]


def test_an_empty_journal_and_a_missing_header_are_left_alone(tmp_path):
    outcome = force_compact(tmp_path / "empty")
    assert outcome.compacted is False and outcome.records_before == 0
    path = tmp_path / "headless"
    journal = jn.Journal(path)
    journal.open()
    journal.append(dict(_put("/b/k"), kind="request", seq=0, seed=0))
    journal.append(dict(_put("/b/k"), kind="request", seq=1, seed=1))
    journal.close()
    outcome = force_compact(path)
    assert outcome.compacted is False and outcome.reason == "no header record"
    assert len(list(iter_records(path))) == 2


def test_a_torn_tail_is_cut_before_compacting_and_the_rest_compacts(tmp_path, moto_reset, monkeypatch):
    path = tmp_path / "j"
    live = Live(path)
    live("PUT", "/torn")
    for n in range(4):
        live.put("torn", "k", b"v%d" % n)
    live.close()
    with open(path / jn.JOURNAL_NAME, "ab") as handle:
        handle.write(jn.encode_frame({"kind": "request", "seq": 99})[:-3])   # a torn last frame
    before, _ = replayed(path, moto_reset, monkeypatch)
    outcome = force_compact(path)
    assert (outcome.records_before, outcome.records_after) == (6, 3)
    after, _ = replayed(path, moto_reset, monkeypatch)
    assert after == before and after["buckets"]["torn"]["objects"]["k"][1] == b"v3"


def test_hostile_delete_bodies_leave_the_bucket_alone():
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>'
    for body in (bomb, b"not xml", b"<Delete><Object><Key>k</Key><VersionId>v</VersionId></Object></Delete>",
                 b"<Delete><Object><Key>k</Key><ETag>e</ETag></Object></Delete>"):
        records = _records(_put("/b"), _put("/b/k"), _put("/b?delete", method="POST"), _put("/b/k"))
        records[3] = jn.Record(records[3].meta, body)
        decided = compact.plan(records)
        assert decided.drop == set() and decided.opaque_buckets == {"b"}, body


# --- crash safety ---------------------------------------------------------------------------------

class _Crash(BaseException):
    """Stands in for the process dying: nothing after it runs (except the cleanup code under test)."""


def _history_with_blobs(path: Path) -> None:
    live = Live(path)
    live("PUT", "/crash")
    for n in range(3):
        live.put("crash", "big", bytes([n]) * (jn.BLOB_THRESHOLD + 1))
        live.put("crash", "small", b"%d" % n)
    live.close()


@pytest.mark.parametrize("step", ["write", "fsync", "replace", "blobs"])
def test_a_crash_at_any_step_of_compaction_leaves_a_journal_with_the_same_state(
        tmp_path, moto_reset, monkeypatch, step):
    path = tmp_path / "j"
    _history_with_blobs(path)
    before, _ = replayed(path, moto_reset, monkeypatch)
    original = (path / jn.JOURNAL_NAME).read_bytes()
    journal = jn.Journal(path)
    records = journal.open()

    def crash(*args, **kw):
        raise _Crash()

    if step == "write":
        monkeypatch.setattr(jn, "_write_all", crash)
    elif step == "fsync":
        journal._fsync = crash
    elif step == "replace":
        monkeypatch.setattr(jn.os, "replace", crash)
    else:
        monkeypatch.setattr(journal, "drop_unreferenced_blobs", crash)
    with pytest.raises(_Crash):
        compact.compact(journal, records, force=True)
    journal.close()
    monkeypatch.undo()
    if step != "blobs":   # died before the rename: the journal is the old one, every blob still there
        assert (path / jn.JOURNAL_NAME).read_bytes() == original
        assert len(list((path / "blobs").iterdir())) == 3
    else:                 # renamed: the new journal, and blobs nobody names until the next open
        assert len((path / jn.JOURNAL_NAME).read_bytes()) < len(original)
        assert len(list((path / "blobs").iterdir())) == 3
    assert not list(path.glob(".*.compact"))
    after, stats = replayed(path, moto_reset, monkeypatch)
    assert after == before and stats.failed == 0
    assert len(list((path / "blobs").iterdir())) == (1 if step == "blobs" else 3)


def test_a_temp_file_left_by_a_killed_compaction_is_removed_at_open(tmp_path, moto_reset, monkeypatch):
    path = tmp_path / "j"
    _history_with_blobs(path)
    before, _ = replayed(path, moto_reset, monkeypatch)
    (path / f".{jn.JOURNAL_NAME}.12345.compact").write_bytes(b"half a compaction")
    after, _ = replayed(path, moto_reset, monkeypatch)
    assert after == before and not list(path.glob(".*.compact"))


def test_the_lock_holds_across_the_rename(tmp_path):
    path = tmp_path / "j"
    _history_with_blobs(path)
    journal = jn.Journal(path)
    compact.compact(journal, journal.open(), force=True)
    with pytest.raises(jn.JournalError, match="in use"):   # the new file was locked before it got the name
        jn.Journal(path).open()
    journal.close()
    jn.Journal(path).open()


def test_a_failed_compaction_at_start_is_a_warning_and_the_start_goes_on(tmp_path, moto_reset, monkeypatch, caplog):
    path = tmp_path / "j"
    live = Live(path)
    live("PUT", "/warn")
    for n in range(3):
        live.put("warn", "big", bytes([n]) * (jn.BLOB_THRESHOLD * 3))
    live.close()
    before, _ = replayed(path, moto_reset, monkeypatch)

    def full(*args, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jn, "_write_all", full)
    after, stats = replayed(path, moto_reset, monkeypatch, auto=True)
    assert after == before and stats.failed == 0
    assert "compaction skipped: [Errno 28] No space left" in caplog.text


# --- when it pays -----------------------------------------------------------------------------------

def test_start_compacts_only_when_it_pays(tmp_path, moto_reset, monkeypatch, caplog):
    path = tmp_path / "j"
    live = Live(path)
    live("PUT", "/pays")
    for n in range(20):
        live.put("pays", "k", b"x" * 1000)
    live.close()
    caplog.set_level("INFO")
    journal = jn.Journal(path)
    records = journal.open()
    _, outcome = compact.compact(journal, records, force=False)
    journal.close()
    assert outcome.compacted is False and "do not pay" in outcome.reason   # ~20 kB freed: under the floor
    monkeypatch.setattr(compact, "MIN_FREED_BYTES", 1000)
    journal = jn.Journal(path)
    _, outcome = compact.compact(journal, journal.open(), force=False)
    journal.close()
    assert outcome.compacted is True and outcome.records_after == 3
    assert "journal compaction: 22 -> 3 records" in caplog.text


# --- `wildrydes local compact` ---------------------------------------------------------------------

def _cli(*args: str):
    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli
    return CliRunner().invoke(cli, ["--target", "local", *args])


def _state_journal(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path / "home"))
    return jn.journal_dir(tmp_path / "home")


def test_cli_compact_reports_what_it_did_in_text_and_json(tmp_path, moto_reset, monkeypatch):
    path = _state_journal(monkeypatch, tmp_path)
    live = Live(path)
    live("PUT", "/cli")
    for n in range(5):
        live.put("cli", "latest.json", b"%d" % n)
    live.close()
    before, _ = replayed(path, moto_reset, monkeypatch)
    first = _cli("local", "compact")
    assert first.exit_code == 0, first.output
    assert "Journal compacted: 7 -> 3 records" in first.stdout and str(path) in first.stdout
    again = _cli("--output", "json", "local", "compact")
    assert again.exit_code == 0, again.output
    out = json.loads(again.stdout)
    assert out["compacted"] is False and out["records_before"] == out["records_after"] == 3
    assert out["reason"] == "nothing superseded" and out["journal_dir"] == str(path)
    assert _cli("local", "compact").stdout.startswith("Nothing to compact (nothing superseded): 3 records")
    after, _ = replayed(path, moto_reset, monkeypatch)
    assert after == before


def test_cli_compact_without_a_journal_says_there_is_nothing(tmp_path, monkeypatch):
    path = _state_journal(monkeypatch, tmp_path)
    result = _cli("local", "compact")
    assert result.exit_code == 0, result.output
    assert "Nothing to compact: the local target has kept nothing yet." in result.stdout
    assert not path.exists()   # and made nothing


def test_cli_compact_is_refused_while_the_journal_is_held(tmp_path, moto_reset, monkeypatch):
    """The journal's lock, as a daemon holds it (the running-daemon refusal is in tests/e2e/test_e2e_persist.py)."""
    path = _state_journal(monkeypatch, tmp_path)
    live = Live(path)
    live("PUT", "/held")
    live.put("held", "k", b"1")
    live.put("held", "k", b"2")
    original = (path / jn.JOURNAL_NAME).read_bytes()
    result = _cli("--output", "json", "local", "compact")
    live.close()
    assert result.exit_code == 5
    assert f"Could not compact the journal in {path}: " in result.stderr
    assert "in use by another emulator process" in result.stderr
    assert (path / jn.JOURNAL_NAME).read_bytes() == original


def test_an_opener_that_locked_a_file_replaced_meanwhile_refuses(tmp_path, monkeypatch):
    """Opened before a compaction's rename, locked after it let go of the old file: that file is no
    longer the journal, and appending to it would lose the records."""
    path = tmp_path / "j"
    first = jn.Journal(path)
    first.open()
    first.append({"kind": "header", "version": 1, "seed_base": 0})
    first.close()
    real = jn.fcntl.flock

    def flock_after_a_rename(fd, operation):
        other = path / "renamed-over"
        other.write_bytes((path / jn.JOURNAL_NAME).read_bytes())
        os.replace(other, path / jn.JOURNAL_NAME)
        return real(fd, operation)

    monkeypatch.setattr(jn.fcntl, "flock", flock_after_a_rename)
    with pytest.raises(jn.JournalError, match="in use by another emulator"):
        jn.Journal(path).open()
