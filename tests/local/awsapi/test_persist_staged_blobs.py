"""A large body's blob is written while moto applies the request: it overlaps, it is durable before
its frame, and a refused request (or a failed write ahead) leaves the journal as the plain path would."""
from __future__ import annotations

import errno
import hashlib
import threading
import time

from journal_records import iter_records
from test_persist import FakeMoto, _persistence, req

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import journal_blobs

BIG = b"r" * (jn.BLOB_THRESHOLD + 1)


def _blobs(path) -> set[str]:
    return {p.name for p in (path / "blobs").iterdir()}


def test_the_blob_is_written_while_moto_applies_the_request(tmp_path):
    """moto's call waits (up to 10 s) for the blob to be on disk: only a blob written alongside gets there."""
    moto = FakeMoto()
    seen: list[bool] = []

    def slow_moto(request, port, client):
        blob = tmp_path / "j" / "blobs" / hashlib.sha256(request.body).hexdigest()
        deadline = time.monotonic() + 10
        while not blob.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        seen.append(blob.exists())
        return moto(request, port, client)

    p = _persistence(tmp_path / "j", moto)
    p._call = slow_moto
    assert p.call(req("PUT", "/b/k", BIG), 0).status == 201
    p.close()
    assert seen == [True]
    records = list(iter_records(tmp_path / "j"))
    assert records[-1]["blob"] == hashlib.sha256(BIG).hexdigest()
    assert _blobs(tmp_path / "j") == {hashlib.sha256(BIG).hexdigest()}


def test_a_refused_request_leaves_no_blob_and_no_record(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    moto.fail_next = True
    assert p.call(req("PUT", "/b/k", BIG), 0).status == 409
    p.close()
    assert _blobs(tmp_path / "j") == set()
    assert [m["kind"] for m in iter_records(tmp_path / "j")] == ["header"]


def test_a_refused_request_keeps_the_blob_an_earlier_record_names(tmp_path):
    """The same bytes uploaded again and refused: the blob is the first record's, and stays."""
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    assert p.call(req("PUT", "/b/first", BIG), 0).status == 201
    moto.fail_next = True
    assert p.call(req("PUT", "/b/second", BIG), 0).status == 409
    p.close()
    assert _blobs(tmp_path / "j") == {hashlib.sha256(BIG).hexdigest()}
    replayed = FakeMoto()
    q = _persistence(tmp_path / "j", replayed)     # the first record replays: its blob is whole
    q.close()
    assert len(replayed.created) == 1


def test_moto_raising_discards_the_staged_blob(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)

    def broken(request, port, client):
        raise RuntimeError("moto failed")

    p._call = broken
    try:
        p.call(req("PUT", "/b/k", BIG), 0)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the call should have raised")
    p.close()
    assert _blobs(tmp_path / "j") == set()


def test_a_failed_write_ahead_is_tried_again_by_the_append(tmp_path, monkeypatch):
    """The disk refuses the blob written ahead once: the append writes it itself and the change is saved."""
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    real = journal_blobs.write_all
    failures = []

    def once_full(fd, data):
        if not failures:
            failures.append(threading.current_thread().name)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(journal_blobs, "write_all", once_full)
    assert p.call(req("PUT", "/b/k", BIG), 0).status == 201
    p.close()
    assert failures and failures[0].startswith("journal-blob")    # the first try was the one ahead
    assert [p.name for p in (tmp_path / "j" / "blobs").iterdir()] == [hashlib.sha256(BIG).hexdigest()]
    assert list(iter_records(tmp_path / "j"))[-1]["blob"] == hashlib.sha256(BIG).hexdigest()


def test_a_full_disk_for_the_blob_is_a_507_and_the_change_is_saved_once_there_is_room(tmp_path, monkeypatch):
    """As for any change the disk refused: nothing half-written meanwhile, saved at stop when there is room."""
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_blobs, "write_all", full)
    response = p.call(req("PUT", "/b/k", BIG), 0)
    assert response.status == 507 and b"could not save it" in response.body
    assert _blobs(tmp_path / "j") == set()          # no blob, no temp file left behind
    monkeypatch.undo()
    p.close()
    assert _blobs(tmp_path / "j") == {hashlib.sha256(BIG).hexdigest()}
    assert list(iter_records(tmp_path / "j"))[-1]["blob"] == hashlib.sha256(BIG).hexdigest()


def test_small_bodies_stay_inline_and_stage_nothing(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    assert p.call(req("PUT", "/b/k", b"small"), 0).status == 201
    assert p._stager is None
    p.close()
    assert _blobs(tmp_path / "j") == set()


def test_a_digest_the_gate_checked_names_the_blob_without_hashing_again(tmp_path, monkeypatch):
    """The body's SHA-256 from the SigV4 check is passed to the blob writer: the blob is named by it and
    the writer hashes nothing (the same 60 MB channel object was hashed twice before)."""
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    request = req("PUT", "/b/k", BIG)
    digest = hashlib.sha256(BIG).hexdigest()
    request.checked_digest = (request.body, digest)
    hashed: list[int] = []
    real = hashlib.sha256
    monkeypatch.setattr(journal_blobs.hashlib, "sha256", lambda data=b"": hashed.append(len(data)) or real(data))
    assert p.call(request, 0).status == 201
    p.close()
    assert BIG.__len__() not in hashed
    assert _blobs(tmp_path / "j") == {digest}
    assert journal_blobs.blob_intact(tmp_path / "j" / "blobs" / digest, digest)
