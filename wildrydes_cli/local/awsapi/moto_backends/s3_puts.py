"""How moto stores a large PutObject, made cheaper where the emulator holds its one lock: the
object's ETag (the MD5 of its bytes) computed before, and the body written straight to its file.

Why: the CLI sends a training channel's objects two at a time, and each waited on the other's
work inside the lock every change to the local target takes (``persist.Persistence``):

- moto computes a new object's ETag after storing it, by reading the body back and hashing it
  (25 ms per 17 MB). The daemon now hashes a large plain PutObject's body in the request's own
  thread before taking the lock (hashlib releases the GIL: it overlaps the other request), and
  the object moto makes for that request takes the value (``known_etag``). The ETag is the same;
  only where it is computed changes. The value is handed over per thread and taken by one object
  only: the one with the request's key name and size.
- moto keeps an object in a ``SpooledTemporaryFile`` that moves to disk past a few MB, but it
  first copies the whole body into memory and then writes that copy out (17 ms per 17 MB, holding
  the GIL). A body larger than the buffer now goes to its file at once: the same file, one copy
  fewer.

moto's ``FakeKey.etag`` and ``FakeKey.value`` are wrapped once (``install``: the daemon at its start,
and ``known_etag`` in case it did not);
``tests/local/awsapi/test_s3_puts.py`` holds both to moto's own results.
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
    _HINT.value = (key_name, size, etag)
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
                if hint is not None and hint[0] == self.name and hint[1] == self.contentsize:
                    self._etag = hint[2]
                    _HINT.value = None     # one object per request
            return computed(self)

        store = FakeKey.value.fset   # type: ignore[attr-defined]

        def value(self: FakeKey, new_value: bytes) -> None:
            if len(new_value) > self._max_buffer_size:
                self._value_buffer.rollover()   # to its file now, not through a copy in memory first
            store(self, new_value)

        FakeKey.etag = property(etag)   # type: ignore[assignment,method-assign]
        FakeKey.value = property(FakeKey.value.fget, value)   # type: ignore[assignment,method-assign,attr-defined]
        _installed = True
