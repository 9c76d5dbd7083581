"""A large plain PutObject as moto stores it: its ETag hashed before the emulator's lock, and its
bytes held by the journal's blob instead of a second file of moto's own.

Why the ETag: moto computes a new object's ETag after storing it, by reading the body back and
hashing it (25 ms per 17 MB), inside the lock that every change to the local target takes
(``persist.Persistence``). The CLI sends a training channel's objects two at a time, so each
waited on the other's hashing. The daemon now hashes such a body in the request's own thread
before taking the lock (hashlib releases the GIL: it overlaps the other request), and the object
moto makes for that request takes the value: 1M rides' channels reach the emulator in 0.34 s
instead of 0.39 s (``bench_sagemaker.py --baseline``, RESULTS.md). The ETag is the same; only
where it is computed changes.

Why the bytes: moto keeps an object larger than its buffer (5 MB) in a spooled temporary file,
so each such body was written to disk twice, once as the journal's blob (the durable copy) and
once as moto's file, and the kernel's copy into the page cache was the largest single cost of
the daemon's side of an upload (``perf record`` of 1M new rides uploaded: the daemon's CPU 0.58 s,
57% of it that copy; 0.37 s without moto's file, RESULTS.md). The object moto makes for the request now holds the request's own bytes (shared, not copied) until
the journal has the blob, then reads them from that file (``LargePut.keep_in``, an open
read-only handle: the bytes stay readable even if a compaction removes the name). If the journal
refused them, they go where moto would have put them (``settle``). Objects at or below moto's
buffer size are left to moto (it keeps them in memory).

Both are handed over per thread (``large_put``) and taken by one object only: the one with the
request's key name and size, made during the request (its LastModified falls after the hint).
moto's ``FakeKey.etag`` and ``FakeKey.value`` are wrapped once (``install``: the daemon at its
start, and ``large_put`` in case it did not); ``tests/local/awsapi/test_s3_puts.py`` holds the
ETag to moto's own value and the bytes to what was sent.
"""
from __future__ import annotations

import io
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_HINT = threading.local()
_INSTALL_LOCK = threading.Lock()
_installed = False


class LargePut:
    """This thread's large plain PutObject, from moto applying it until it is journaled."""

    def __init__(self, key_name: str, size: int, etag: str | None, since: Any) -> None:
        self.key_name = key_name
        self.size = size
        self.etag = etag         # taken by the first matching object that asks for its ETag
        self.since = since       # moto's clock when the request began: older objects are not this one
        self.key: Any = None     # moto's object that took the bytes
        self.held: io.BytesIO | None = None   # its buffer over the request's bytes, until settled

    def made_now(self, key: Any, size: int) -> bool:
        return key.name == self.key_name and size == self.size and key.last_modified >= self.since

    def keep_in(self, blob: Path) -> bool:
        """The object reads its bytes from ``blob`` (the journal's durable file of exactly these bytes)."""
        key, held = self.key, self.held
        if key is None or held is None:
            return False
        try:
            handle = open(blob, "rb")   # noqa: SIM115  (the object's buffer: moto closes it when disposed)
        except OSError:
            return False
        if os.fstat(handle.fileno()).st_size != self.size:
            handle.close()
            return False
        if not self._swap(held, handle):
            handle.close()
            return False
        return True

    def settle(self) -> None:
        """Bytes no blob holds (the journal refused them) go to moto's own spooled file, as moto stores them."""
        key, held = self.key, self.held
        if key is None or held is None:
            return
        spooled = tempfile.SpooledTemporaryFile(key._max_buffer_size)   # noqa: SIM115
        spooled.write(held.getvalue())
        if not self._swap(held, spooled):
            spooled.close()

    def _swap(self, held: io.BytesIO, buffer: Any) -> bool:
        assert self.key is not None
        with self.key.lock:      # moto reads the buffer under this lock (FakeKey.value, copy_s3_object)
            if self.key._value_buffer is not held:   # replaced meanwhile: leave it
                return False
            self.key._value_buffer = buffer
        self.held = None
        return True


@contextmanager
def large_put(key_name: str, size: int, etag: str | None = None) -> Iterator[LargePut]:
    """While this thread's PutObject of ``key_name`` (``size`` bytes) is applied and journaled: the object
    moto makes for it takes ``etag`` (when given) and holds the request's bytes until ``keep_in``."""
    install()
    from moto.s3.models import utcnow  # the clock moto stamps a new object's LastModified with

    put = LargePut(key_name, size, etag, utcnow())
    _HINT.value = put
    try:
        yield put
    finally:
        _HINT.value = None
        put.settle()


def install() -> None:
    global _installed
    with _INSTALL_LOCK:
        if _installed:
            return
        from moto.s3.models import FakeKey

        computed = FakeKey.etag.fget   # type: ignore[attr-defined]
        read_value = FakeKey.value.fget   # type: ignore[attr-defined]
        write_value = FakeKey.value.fset   # type: ignore[attr-defined]

        def etag(self: FakeKey) -> str:
            put = getattr(_HINT, "value", None)
            # this request's new object only (an object that was already there, e.g. replayed with its
            # ETag not yet computed, hashes its own bytes)
            if self._etag is None and put is not None and put.etag is not None and put.made_now(self, self.contentsize):
                self._etag, put.etag = put.etag, None     # one object per request
            return computed(self)

        def value(self: FakeKey, new_value: bytes) -> None:
            put = getattr(_HINT, "value", None)
            if (put is not None and put.key is None and type(new_value) is bytes
                    and len(new_value) > self._max_buffer_size and put.made_now(self, len(new_value))):
                self._value_buffer.close()     # the empty spooled file moto made for it
                put.held = io.BytesIO(new_value)   # shares the bytes: no copy
                self._value_buffer = put.held   # type: ignore[assignment]
                self.contentsize = len(new_value)
                put.key = self
                return
            write_value(self, new_value)

        FakeKey.etag = property(etag)   # type: ignore[assignment,method-assign]
        FakeKey.value = property(read_value, value)   # type: ignore[assignment,method-assign]
        _installed = True
