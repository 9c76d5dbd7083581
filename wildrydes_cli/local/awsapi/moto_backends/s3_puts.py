"""A large plain PutObject's ETag (the MD5 of its bytes) computed before moto stores the object,
outside the emulator's one lock.

Why: moto computes a new object's ETag after storing it, by reading the body back and hashing it
(25 ms per 17 MB), inside the lock that every change to the local target takes
(``persist.Persistence``). The CLI sends a training channel's objects two at a time, so each
waited on the other's hashing. The daemon now hashes such a body in the request's own thread
before taking the lock (hashlib releases the GIL: it overlaps the other request), and the object
moto makes for that request takes the value (``known_etag``): 1M rides' channels reach the
emulator in 0.34 s instead of 0.39 s (``bench_sagemaker.py --baseline``, RESULTS.md). The ETag is
the same; only where it is computed changes. The value is handed over per thread and taken by
one object only: the one with the request's key name and size, made during the request.

(moto also copies a large body into memory before moving it to its file; writing it to the file
at once measured within the noise, 0.336 s against 0.342 s, and was left to moto.)

moto's ``FakeKey.etag`` is wrapped once (``install``: the daemon at its start, and ``known_etag``
in case it did not); ``tests/local/awsapi/test_s3_puts.py`` holds it to moto's own value.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_HINT = threading.local()
_INSTALL_LOCK = threading.Lock()
_installed = False


@contextmanager
def known_etag(key_name: str, size: int, etag: str) -> Iterator[None]:
    """While moto applies this thread's PutObject of ``key_name`` (``size`` bytes): its ETag is ``etag``."""
    install()
    from moto.s3.models import utcnow  # the clock moto stamps a new object's LastModified with

    _HINT.value = (key_name, size, etag, utcnow())
    try:
        yield
    finally:
        _HINT.value = None


def install() -> None:
    global _installed
    with _INSTALL_LOCK:
        if _installed:
            return
        from moto.s3.models import FakeKey

        computed = FakeKey.etag.fget   # type: ignore[attr-defined]

        def etag(self: FakeKey) -> str:
            if self._etag is None:
                hint = getattr(_HINT, "value", None)
                # this request's new object only: its name and size, made after the hint (an object that
                # was already there, e.g. replayed with its ETag not yet computed, hashes its own bytes)
                if (hint is not None and hint[0] == self.name and hint[1] == self.contentsize
                        and self.last_modified >= hint[3]):
                    self._etag = hint[2]
                    _HINT.value = None     # one object per request
            return computed(self)

        FakeKey.etag = property(etag)   # type: ignore[assignment,method-assign]
        _installed = True
