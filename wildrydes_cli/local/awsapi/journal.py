"""The local target's append-only journal: durable records, torn tails ignored.

Why a journal of requests rather than snapshots of moto's state: moto's
backends are plain Python objects with locks, temp files and lazily built
indexes that are not meant to be serialised, and they change with every moto
release; the HTTP requests that built them are moto's public contract. So we
keep what the user *did* and replay it (see ``persist.py``).

File format (``<state_dir>/local/journal/journal.bin``, mode 0600): a sequence
of frames ``MAGIC | u32 payload length | u32 crc32(payload) | payload``; the
payload is ``u32 meta length | meta (JSON) | inline body``. Bodies larger than
``BLOB_THRESHOLD`` go to ``blobs/<sha256>`` (content-addressed, so the same
package uploaded twice is stored once) and the meta names the digest.

Durability order: a blob is written to a temp file, fsynced, renamed and its
directory fsynced *before* the frame that names it is appended; each frame is
fsynced before ``append`` returns. A crash therefore leaves at worst an
unreferenced blob (or its temp file) or a torn last frame, which
``Journal.open`` removes (the frame is truncated away, so later frames follow
a valid one).

Compaction (``compact.py`` decides, ``Journal.rewrite`` swaps the file) writes
the kept records to a new file, fsyncs and renames it over the journal, and
only then removes the blobs no kept record names; ``open`` verifies it locked
the file that has the journal's name and clears a compaction's leftover temp file.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wildrydes_cli.state_dir import remove_tree

LOG = logging.getLogger(__name__)

MAGIC = b"WRJ1"
_FRAME = struct.Struct(">4sII")
_META = struct.Struct(">I")
BLOB_THRESHOLD = 256 * 1024
MAX_META_BYTES = 16 * 1024 * 1024
JOURNAL_NAME = "journal.bin"


def journal_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "local" / "journal"


@dataclass
class Record:
    """One journal entry: JSON-able ``meta`` and its body, inline or in a blob (read when asked)."""

    meta: dict
    inline: bytes = b""
    offset: int = 0
    blobs: Path | None = None

    def body(self) -> bytes:
        digest = self.meta.get("blob")
        if not digest:
            return self.inline
        if self.blobs is None:
            raise JournalError(f"record at {self.offset} names blob {digest} but no blob directory")
        try:
            return read_blob(self.blobs, digest)
        except OSError as exc:
            raise JournalError(f"journal record at {self.offset} names a missing or damaged blob {digest}: "
                               f"{exc}") from exc


def read_blob(blobs: Path, digest: str) -> bytes:
    data = (blobs / digest).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise OSError(f"blob {digest} does not match its digest")
    return data


class JournalError(Exception):
    """The journal cannot be written (disk full, permissions): the change is not durable."""


def _fsync_dir(path: Path, fsync: Callable[[int], None]) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def encode_frame(meta: dict, body: bytes = b"") -> bytes:
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode()
    payload = _META.pack(len(meta_bytes)) + meta_bytes + body
    return _FRAME.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def scan(data: bytes) -> tuple[list[tuple[int, dict, bytes]], int]:
    """(offset, meta, inline body) of every intact frame, and the length of the valid prefix.

    Stops at the first frame that is short, has a bad magic or checksum, or
    whose meta is not JSON: everything from there on is a torn tail.
    """
    frames = []
    pos = 0
    while pos + _FRAME.size <= len(data):
        magic, length, crc = _FRAME.unpack_from(data, pos)
        start = pos + _FRAME.size
        end = start + length
        if magic != MAGIC or end > len(data) or length < _META.size:
            break
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            break
        (meta_len,) = _META.unpack_from(payload, 0)
        if meta_len > min(MAX_META_BYTES, length - _META.size):
            break
        try:
            meta = json.loads(payload[_META.size:_META.size + meta_len])
        except ValueError:
            break
        if not isinstance(meta, dict):
            break
        frames.append((pos, meta, payload[_META.size + meta_len:]))
        pos = end
    return frames, pos


class Journal:
    """Append-only, fsynced; opened once by the daemon (one writer)."""

    def __init__(self, directory: Path, fsync: Callable[[int], None] = os.fsync):
        self.directory = Path(directory)
        self.blobs = self.directory / "blobs"
        self.path = self.directory / JOURNAL_NAME
        self._fsync = fsync
        self._fd: int | None = None

    # --- opening and reading ----------------------------------------------------------------
    def open(self) -> list[Record]:
        """Create the directory (0700) and file (0600) if needed; return the intact records.

        A torn or corrupt tail is cut off (the tail is kept beside the
        journal as ``journal.bin.tail-<offset>`` for inspection).
        """
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.blobs.mkdir(exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # one writer, even across state-file mishaps
            if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                # A compaction (``rewrite``) renamed a new file over the one we opened, and let go
                # of the old one's lock: what we hold is no longer the journal.
                raise OSError("the journal was replaced while opening it")
        except OSError as exc:
            os.close(fd)
            raise JournalError(f"{self.path} is in use by another emulator process") from exc
        os.fchmod(fd, 0o600)
        for stale in self.directory.glob(f".{JOURNAL_NAME}.*.compact"):
            LOG.info("journal: removing %s, left by a compaction that did not finish", stale.name)
            stale.unlink(missing_ok=True)
        with open(self.path, "rb") as handle:
            data = handle.read()
        frames, valid = scan(data)
        if valid < len(data):
            tail = data[valid:]
            kept = self.directory / f"{JOURNAL_NAME}.tail-{valid}"
            LOG.warning("journal %s: dropping %d bytes after offset %d (a torn or corrupt last record; "
                        "kept as %s)", self.path, len(tail), valid, kept.name)
            kept.write_bytes(tail)
            os.ftruncate(fd, valid)
            self._fsync(fd)
        self._fd = fd
        self._drop_unreferenced_blobs({meta.get("blob") for _, meta, _ in frames})
        return [Record(meta, inline, offset, self.blobs) for offset, meta, inline in frames]

    def _drop_unreferenced_blobs(self, referenced: set) -> int:
        """Temp files and blobs no intact record names: what a crash between blob and record leaves,
        and what a compaction frees (``drop_unreferenced_blobs``). Returns the bytes removed."""
        freed = 0
        for path in self.blobs.iterdir():
            if path.name not in referenced:
                LOG.info("journal: removing unreferenced %s", path.name)
                freed += path.stat().st_size
                path.unlink(missing_ok=True)
        return freed

    def drop_unreferenced_blobs(self, records: list[Record]) -> int:
        """After a ``rewrite``: remove the blobs none of ``records`` names (never before the rename)."""
        return self._drop_unreferenced_blobs({r.meta.get("blob") for r in records})

    # --- compaction (compact.py decides what goes; this swaps the file) ---------------------------
    def rewrite(self, records: list[Record]) -> list[Record]:
        """Replace the journal file with ``records`` (the lock is held throughout); return them re-read.

        Crash-safe order: the new file is written beside the journal and fsynced,
        locked *before* it gets the journal's name (an opener that finds it under that
        name is refused, as with the old one), renamed over the journal, and the
        directory fsynced. Until the rename the old journal is whole; after it the new
        one is. Blobs are not touched here: the caller drops the unreferenced ones
        afterwards, so a crash leaves at worst blobs nobody names (removed at the next
        ``open``) and never a record naming a removed blob.
        """
        if self._fd is None:
            raise JournalError("journal is not open")
        tmp = self.directory / f".{JOURNAL_NAME}.{os.getpid()}.compact"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        out: list[Record] = []
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            chunk: list[bytes] = []
            pending = offset = 0
            for record in records:
                frame = encode_frame(record.meta, record.inline)
                out.append(Record(record.meta, record.inline, offset, self.blobs))
                offset += len(frame)
                chunk.append(frame)
                pending += len(frame)
                if pending >= 1 << 20:
                    _write_all(fd, b"".join(chunk))
                    chunk, pending = [], 0
            _write_all(fd, b"".join(chunk))
            self._fsync(fd)
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        old, self._fd = self._fd, fd
        os.close(old)
        try:
            _fsync_dir(self.directory, self._fsync)
        except OSError as exc:  # the rename may not be durable yet: either file is a valid journal
            LOG.warning("journal: could not sync %s after compaction: %s", self.directory, exc)
        return out

    # --- appending ----------------------------------------------------------------------------
    def _write_blob(self, body: bytes) -> str:
        digest = hashlib.sha256(body).hexdigest()
        final = self.blobs / digest
        if final.exists():
            return digest
        tmp = self.blobs / f".{digest}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view):]
            self._fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        _fsync_dir(self.blobs, self._fsync)
        return digest

    def append(self, meta: dict, body: bytes = b"") -> None:
        """Write one record durably (blob first, then the frame, each fsynced) or raise JournalError."""
        if self._fd is None:
            raise JournalError("journal is not open")
        try:
            meta = dict(meta)
            if len(body) > BLOB_THRESHOLD:
                meta["blob"] = self._write_blob(body)
                frame = encode_frame(meta)
            else:
                frame = encode_frame(meta, body)
            view = memoryview(frame)
            while view:
                view = view[os.write(self._fd, view):]
            self._fsync(self._fd)
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def size_bytes(self) -> int:
        """Journal plus blobs on disk (what ``local status`` can report)."""
        total = self.path.stat().st_size if self.path.exists() else 0
        if self.blobs.exists():
            total += sum(p.stat().st_size for p in self.blobs.iterdir() if p.is_file())
        return total


def erase(directory: Path) -> bool:
    """Delete a journal and its blobs (``--fresh``/``local reset``); True when there was one."""
    return remove_tree(directory)
