"""A large plain PutObject's ETag is hashed before the emulator's lock and taken by moto's object:
the same value moto computes itself, for that request's object only."""
from __future__ import annotations

import hashlib
import threading

from test_persist import moto_reset, req  # noqa: F401  (the fixture is used by name)

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import moto_backends, persist, wsgi

BIG = bytes(range(256)) * ((jn.BLOB_THRESHOLD // 256) + 3)


def _etag(response) -> str:
    return dict(response.headers)["ETag"]


def test_the_etag_of_a_large_plain_put_is_moto_own_value(tmp_path, moto_reset):  # noqa: F811
    p = _with_bucket(tmp_path / "j")
    hinted = p.call(req("PUT", "/bkt/plain", BIG), 0)
    unhinted = p.call(req("PUT", "/bkt/tagged", BIG, x_amz_tagging="a=b"), 0)   # not the plain shape
    p.close()
    assert _etag(hinted) == _etag(unhinted) == f'"{hashlib.md5(BIG).hexdigest()}"'
    head = wsgi.call_moto(req("HEAD", "/bkt/plain"), 0)
    assert _etag(head) == _etag(hinted)


def test_the_hint_is_hashed_outside_the_lock(tmp_path, moto_reset, monkeypatch):  # noqa: F811
    """The MD5 is computed before the request waits for the lock another request holds."""
    p = _with_bucket(tmp_path / "j")
    hashed_while_locked: list[bool] = []
    real_md5 = hashlib.md5

    def md5(data=b"", **kw):
        if len(data) == len(BIG):
            hashed_while_locked.append(p._lock.locked())
        return real_md5(data, **kw)

    monkeypatch.setattr(persist.hashlib, "md5", md5)
    with p._lock:        # another request's turn
        worker = threading.Thread(target=p.call, args=(req("PUT", "/bkt/k", BIG), 0))
        worker.start()
        for _ in range(200):
            if hashed_while_locked:
                break
            threading.Event().wait(0.01)
        assert hashed_while_locked == [True]
    worker.join(10)
    p.close()


def test_a_hint_is_taken_only_by_the_object_of_its_key_and_size(moto_reset):  # noqa: F811
    assert wsgi.call_moto(req("PUT", "/bkt"), 0).status == 200
    with moto_backends.large_put("k", 3, "0" * 32):
        assert _etag(wsgi.call_moto(req("PUT", "/bkt/other", b"abc"), 0)) == f'"{hashlib.md5(b"abc").hexdigest()}"'
        assert _etag(wsgi.call_moto(req("PUT", "/bkt/k", b"abcd"), 0)) == f'"{hashlib.md5(b"abcd").hexdigest()}"'
    with moto_backends.large_put("k", 3, "0" * 32):    # the hint is what moto answers (so it is used)
        assert _etag(wsgi.call_moto(req("PUT", "/bkt/k", b"abc"), 0)) == f'"{"0" * 32}"'
        assert _etag(wsgi.call_moto(req("PUT", "/bkt/k2", b"abc"), 0)) == f'"{hashlib.md5(b"abc").hexdigest()}"'



def test_an_object_that_was_there_before_the_hint_hashes_its_own_bytes(moto_reset):  # noqa: F811
    """A replayed object's ETag is computed when first asked: asked during a hint of the same name and
    size (a conditional or versioned PUT may read it), it is still its own MD5, not the hint."""
    assert wsgi.call_moto(req("PUT", "/bkt"), 0).status == 200
    assert moto_backends.put_s3_object("AKIDEXAMPLE", "us-east-1", "bkt", "k", b"old", {}, None, None)
    with moto_backends.large_put("k", 3, "0" * 32):
        assert _etag(wsgi.call_moto(req("HEAD", "/bkt/k"), 0)) == f'"{hashlib.md5(b"old").hexdigest()}"'


# --- the bytes of an object larger than moto's buffer: held by the journal's blob --------------------------

HUGE = bytes(range(251)) * (6 * 1024 * 1024 // 251)     # above moto's 5 MB buffer: moto would use a file


def _key(name: str, bucket: str = "bkt"):
    from moto.s3.models import s3_backends
    return s3_backends["123456789012"]["aws"].buckets[bucket].keys[name]


def _get(target: str) -> bytes:
    got = wsgi.call_moto(req("GET", target), 0)
    assert got.status == 200, got.body[:300]
    return got.body


def _with_bucket(journal):
    """A journaled emulator (moto in this process) holding bucket ``bkt``."""
    p = persist.Persistence(jn.Journal(journal), call=wsgi.call_moto)
    p.replay(0)
    assert p.call(req("PUT", "/bkt"), 0).status == 200
    return p


def _same_file(buffer, path) -> bool:
    import os
    return os.path.samestat(os.fstat(buffer.fileno()), os.stat(path))


def test_a_large_plain_put_reads_its_bytes_from_the_journals_blob(tmp_path, moto_reset):  # noqa: F811
    p = _with_bucket(tmp_path / "j")
    assert p.call(req("PUT", "/bkt/channel", HUGE), 0).status == 200
    assert p.call(req("PUT", "/bkt/tagged", HUGE, x_amz_tagging="a=b"), 0).status == 200   # not the plain shape
    blob = tmp_path / "j" / "blobs" / hashlib.sha256(HUGE).hexdigest()
    held, spooled = _key("channel")._value_buffer, _key("tagged")._value_buffer
    assert _same_file(held, blob) and held.mode == "rb"        # no second copy: moto's object is the blob
    assert not hasattr(held, "rollover") and hasattr(spooled, "rollover")   # moto's own file for the other
    assert _get("/bkt/channel") == _get("/bkt/tagged") == HUGE
    assert _etag(wsgi.call_moto(req("HEAD", "/bkt/channel"), 0)) == f'"{hashlib.md5(HUGE).hexdigest()}"'
    blob.chmod(0o600)
    blob.unlink()                                     # a compaction's removal: the open handle still reads
    assert _get("/bkt/channel") == HUGE
    p.close()


def test_after_a_restart_the_replayed_object_reads_its_blob(tmp_path, moto_reset):  # noqa: F811
    p = _with_bucket(tmp_path / "j")
    assert p.call(req("PUT", "/bkt/channel", HUGE), 0).status == 200
    p.close()
    moto_reset()
    p = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    p.replay(0)
    assert _same_file(_key("channel")._value_buffer, tmp_path / "j" / "blobs" / hashlib.sha256(HUGE).hexdigest())
    assert _get("/bkt/channel") == HUGE
    assert _etag(wsgi.call_moto(req("HEAD", "/bkt/channel"), 0)) == f'"{hashlib.md5(HUGE).hexdigest()}"'
    p.close()


def test_bytes_the_journal_refused_go_to_moto_own_file_and_stay_whole(tmp_path, moto_reset, monkeypatch):  # noqa: F811
    """A full disk: the change is applied but not saved (a 507 says so); the object must not keep the request's
    memory, nor lose bytes: it goes to the spooled file moto would have used."""
    import errno

    from wildrydes_cli.local.awsapi import journal_blobs

    p = _with_bucket(tmp_path / "j")

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_blobs, "write_all", full)
    assert p.call(req("PUT", "/bkt/channel", HUGE), 0).status == 507
    monkeypatch.undo()
    buffer = _key("channel")._value_buffer
    assert hasattr(buffer, "rollover") and buffer._rolled        # moto's spooled file, on disk like moto's own
    assert _get("/bkt/channel") == HUGE
    p.close()


def test_a_versioned_objects_older_bytes_stay_readable(tmp_path, moto_reset):  # noqa: F811
    """moto deep-copies every version to list them; the blob-held ones copy as moto's own do."""
    p = _with_bucket(tmp_path / "j")
    versioning = b'<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>'
    assert p.call(req("PUT", "/bkt?versioning", versioning), 0).status == 200
    first = p.call(req("PUT", "/bkt/channel", HUGE), 0)
    second = HUGE[::-1]
    assert p.call(req("PUT", "/bkt/channel", second), 0).status == 200
    listed = wsgi.call_moto(req("GET", "/bkt?versions"), 0)
    assert listed.status == 200 and listed.body.count(b"<Version>") == 2
    version = dict(first.headers)["x-amz-version-id"]
    assert _get(f"/bkt/channel?versionId={version}") == HUGE and _get("/bkt/channel") == second
    p.close()


def test_objects_moto_keeps_in_memory_are_left_to_moto(tmp_path, moto_reset):  # noqa: F811
    """At or below moto's buffer size moto holds the bytes in memory: no file handle for those (docs/persistence.md:
    "the emulator's 5 MB in-memory buffer")."""
    from moto.settings import get_s3_default_key_buffer_size

    assert len(BIG) < get_s3_default_key_buffer_size() == 5 * 1024**2 - 1024 < len(HUGE)
    p = _with_bucket(tmp_path / "j")
    assert p.call(req("PUT", "/bkt/k", BIG), 0).status == 200
    buffer = _key("k")._value_buffer
    assert hasattr(buffer, "rollover") and not buffer._rolled
    assert _get("/bkt/k") == BIG
    p.close()
