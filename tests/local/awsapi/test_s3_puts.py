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
    p = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    p.replay(0)
    assert p.call(req("PUT", "/bkt"), 0).status == 200
    hinted = p.call(req("PUT", "/bkt/plain", BIG), 0)
    unhinted = p.call(req("PUT", "/bkt/tagged", BIG, x_amz_tagging="a=b"), 0)   # not the plain shape
    p.close()
    assert _etag(hinted) == _etag(unhinted) == f'"{hashlib.md5(BIG).hexdigest()}"'
    head = wsgi.call_moto(req("HEAD", "/bkt/plain"), 0)
    assert _etag(head) == _etag(hinted)


def test_the_hint_is_hashed_outside_the_lock(tmp_path, moto_reset, monkeypatch):  # noqa: F811
    """The MD5 is computed before the request waits for the lock another request holds."""
    p = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    p.replay(0)
    assert p.call(req("PUT", "/bkt"), 0).status == 200
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
    with moto_backends.known_etag("k", 3, "0" * 32):
        assert _etag(wsgi.call_moto(req("PUT", "/bkt/other", b"abc"), 0)) == f'"{hashlib.md5(b"abc").hexdigest()}"'
        assert _etag(wsgi.call_moto(req("PUT", "/bkt/k", b"abcd"), 0)) == f'"{hashlib.md5(b"abcd").hexdigest()}"'
    with moto_backends.known_etag("k", 3, "0" * 32):    # the hint is what moto answers (so it is used)
        assert _etag(wsgi.call_moto(req("PUT", "/bkt/k", b"abc"), 0)) == f'"{"0" * 32}"'
        assert _etag(wsgi.call_moto(req("PUT", "/bkt/k2", b"abc"), 0)) == f'"{hashlib.md5(b"abc").hexdigest()}"'



def test_an_object_that_was_there_before_the_hint_hashes_its_own_bytes(moto_reset):  # noqa: F811
    """A replayed object's ETag is computed when first asked: asked during a hint of the same name and
    size (a conditional or versioned PUT may read it), it is still its own MD5, not the hint."""
    assert wsgi.call_moto(req("PUT", "/bkt"), 0).status == 200
    assert moto_backends.put_s3_object("AKIDEXAMPLE", "us-east-1", "bkt", "k", b"old", {}, None, None)
    with moto_backends.known_etag("k", 3, "0" * 32):
        assert _etag(wsgi.call_moto(req("HEAD", "/bkt/k"), 0)) == f'"{hashlib.md5(b"old").hexdigest()}"'
