"""The local target's append-only journal: durable records; a torn tail cut, damage refused.

Why a journal of requests rather than snapshots of moto's state: moto's
backends are plain Python objects with locks, temp files and lazily built
indexes that are not meant to be serialised, and they change with every moto
release; the HTTP requests that built them are moto's public contract. So we
keep what the user *did* and replay it (see ``persist.py``).

File format (``<state_dir>/local/journal/journal.bin``, mode 0600): a sequence
of checksummed frames (``journal_format.py``); a frame's payload is its meta
(JSON) and its body. Bodies larger than ``BLOB_THRESHOLD`` go to
``blobs/<sha256>`` (content-addressed, so the same package uploaded twice is
stored once: an existing blob is reused only after its bytes are checked
against its name, else written anew) and the meta names the digest.

Durability order: a blob is written to a temp file, fsynced, renamed and its
directory fsynced *before* the frame that names it is appended; each frame is
fsynced before ``append`` returns. A failed append (a full disk) cuts the file
back to its last whole frame, so later appends never follow a partial one.

At ``open``: a torn last frame (a crash mid-append: never acknowledged) is cut
off and its bytes set aside as ``journal.bin.tail-<offset>``; *damage* (a frame
that does not check out with intact frames after it, or a damaged last frame)
is refused with ``JournalDamaged``, naming the file and the offset, unless
``recover`` is asked: then ``journal_recovery.py`` keeps every intact record,
sets the damaged bytes (and the records whose blob is missing or damaged) aside
as ``journal.bin.damaged-<offset>``, and rewrites the journal with the rest.
Set-aside files are 0600 and never overwrite one another. Blobs that no intact
record names are removed at ``open`` (what a crash between a blob and its frame
leaves), except those a set-aside file names.

Compaction (``compact.py`` decides, ``Journal.rewrite`` swaps the file) writes
the kept records to a new file, fsyncs and renames it over the journal, and
only then removes the blobs no kept record names; ``open`` verifies it locked
the file that has the journal's name and clears a compaction's leftover temp file.
"""
from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wildrydes_cli import faults
from wildrydes_cli.local.awsapi.journal_blobs import StagedBlob, read_blob, write_blob
from wildrydes_cli.local.awsapi.journal_blobs import discard as discard_blob
from wildrydes_cli.local.awsapi.journal_blobs import fsync_dir as _fsync_dir
from wildrydes_cli.local.awsapi.journal_blobs import write_all as _write_all
from wildrydes_cli.local.awsapi.journal_format import Scan, digests_named, encode_frame, scan, where_damaged
from wildrydes_cli.state_dir import remove_tree

LOG = logging.getLogger(__name__)

BLOB_THRESHOLD = 256 * 1024
JOURNAL_NAME = "journal.bin"
SET_ASIDE_KINDS = ("tail", "damaged")
WAYS_OUT = ("Ways out: `wildrydes local start --recover` starts with every intact record and sets what is "
            "damaged aside beside the journal (nothing is deleted); `wildrydes local reset` erases everything "
            "the local target keeps.")


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

    def describe(self) -> str:
        return f"{self.meta.get('method', self.meta.get('kind', '?'))} {str(self.meta.get('target', ''))[:200]}"


class JournalError(Exception):
    """The journal cannot be opened or written (disk full, permissions): the change is not durable."""


class JournalDamaged(JournalError):
    """The journal holds damage: starting with what reads back would leave out acknowledged changes."""

    def __init__(self, what: str):
        super().__init__(f"{what}. Starting would leave out changes you made. {WAYS_OUT}")


class Journal:
    """Append-only, fsynced; opened once by the daemon (one writer)."""

    def __init__(self, directory: Path, fsync: Callable[[int], None] = os.fsync):
        self.directory = Path(directory)
        self.blobs = self.directory / "blobs"
        self.path = self.directory / JOURNAL_NAME
        self._fsync = fsync
        self._fd: int | None = None
        self._size = 0              # the file ends here after the last whole frame
        self._cut_pending = False   # a failed append left bytes after ``_size``: cut them first
        self.opened: tuple[bytes, Scan] | None = None    # what ``open(recover=True)`` read, for the recovery

    # --- opening and reading ----------------------------------------------------------------
    def _open_locked(self) -> int:
        try:
            created = not self.path.exists()
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.blobs.mkdir(exist_ok=True, mode=0o700)
            os.chmod(self.directory, 0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot open the journal {self.path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # one writer, even across state-file mishaps
            if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                # A compaction (``rewrite``) renamed a new file over the one we opened, and let go
                # of the old one's lock: what we hold is no longer the journal.
                raise OSError("the journal was replaced while opening it")
        except OSError as exc:
            os.close(fd)
            raise JournalError(f"{self.path} is in use by another emulator process") from exc
        if created:   # the new file's name, and the directory's, durable before a record is acknowledged
            try:
                _fsync_dir(self.directory, self._fsync)
                _fsync_dir(self.directory.parent, self._fsync)
            except OSError as exc:
                os.close(fd)
                raise JournalError(f"cannot open the journal {self.path}: {exc.strerror or exc}") from exc
        return fd

    def open(self, recover: bool = False) -> list[Record]:
        """Create the directory (0700) and file (0600) if needed; return the intact records.

        A torn tail is cut off (set aside beside the journal); damage raises
        ``JournalDamaged`` unless ``recover`` (see the module docstring).
        """
        fd = self._open_locked()
        try:
            os.fchmod(fd, 0o600)
            for stale in self.directory.glob(f".{JOURNAL_NAME}.*.compact"):
                LOG.info("journal: removing %s, left by a compaction that did not finish", stale.name)
                stale.unlink(missing_ok=True)
            with open(self.path, "rb") as handle:
                data = handle.read()
            found = scan(data)
            if found.damaged and not recover:
                raise JournalDamaged(f"The local target's journal {self.path} is {where_damaged(found)}")
            if found.torn_at is not None:
                self._cut_torn_tail(fd, data, found.torn_at)
            self._fd, self._size = fd, found.torn_at if found.torn_at is not None else len(data)
        except BaseException:
            os.close(fd)
            raise
        records = [Record(meta, inline, offset, self.blobs) for offset, meta, inline in found.frames]
        if recover:   # journal_recovery.recover sets the damage aside first, then drops blobs
            self.opened = (data, found)
            return records
        self._drop_unreferenced_blobs({r.meta.get("blob") for r in records})
        return records

    def _cut_torn_tail(self, fd: int, data: bytes, valid: int) -> None:
        """A crash mid-append left part of a frame (never acknowledged): set it aside, cut it off."""
        tail = data[valid:]
        kept = self.set_aside(tail, "tail", valid) if tail.strip(b"\0") else None
        LOG.warning("journal %s: dropping %d bytes after offset %d (the last record, left unfinished by a "
                    "crash: it was never acknowledged)%s", self.path, len(tail), valid,
                    f"; kept as {kept.name}" if kept else "")
        faults.point("journal-tail-set-aside")
        try:
            os.ftruncate(fd, valid)
            self._fsync(fd)
        except OSError as exc:
            raise JournalError(f"cannot cut the unfinished last record off {self.path}: {exc}") from exc

    def set_aside(self, data: bytes, kind: str, offset: int) -> Path:
        """Write ``data`` durably to a new 0600 file beside the journal; never overwrites an earlier one."""
        base = self.directory / f"{JOURNAL_NAME}.{kind}-{offset}"
        for n in range(10_000):
            path = base if n == 0 else base.with_name(f"{base.name}.{n}")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                raise JournalError(f"cannot set aside {len(data)} bytes of {self.path} in {path}: {exc}") from exc
            try:
                _write_all(fd, data)
                self._fsync(fd)
            except OSError as exc:
                raise JournalError(f"cannot set aside {len(data)} bytes of {self.path} in {path}: {exc}") from exc
            finally:
                os.close(fd)
            _fsync_dir(self.directory, self._fsync)
            return path
        raise JournalError(f"too many set-aside files beside {self.path}")

    def set_aside_files(self) -> list[Path]:
        return sorted(p for kind in SET_ASIDE_KINDS for p in self.directory.glob(f"{JOURNAL_NAME}.{kind}-*"))

    def _protected(self) -> set[str]:
        """Blobs that bytes set aside name: never removed (the user may want them back)."""
        named: set[str] = set()
        for path in self.set_aside_files():
            try:
                named |= digests_named(path.read_bytes())
            except OSError as exc:
                LOG.warning("journal: cannot read %s (%s); keeping every blob", path.name, exc)
                return {p.name for p in self.blobs.iterdir()}
        return named

    def _drop_unreferenced_blobs(self, referenced: set) -> int:
        """Temp files and blobs no intact record names: what a crash between blob and record leaves,
        and what a compaction frees (``drop_unreferenced_blobs``). Returns the bytes removed."""
        freed = 0
        protected = self._protected()
        for path in self.blobs.iterdir():
            if path.name not in referenced and path.name not in protected:
                LOG.info("journal: removing unreferenced %s", path.name)
                freed += path.stat().st_size
                path.unlink(missing_ok=True)
                faults.point("blob-removed")
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
            faults.point("rewrite-before-rename")
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        old, self._fd, self._size, self._cut_pending = self._fd, fd, offset, False
        os.close(old)
        faults.point("rewrite-after-rename")
        try:
            _fsync_dir(self.directory, self._fsync)
        except OSError as exc:  # the rename may not be durable yet: either file is a valid journal
            LOG.warning("journal: could not sync %s after compaction: %s", self.directory, exc)
        return out

    # --- appending ----------------------------------------------------------------------------
    def stage(self, body: bytes, digest: str | None = None) -> StagedBlob | None:
        """Write a large body's blob durably ahead of its frame (None for a body kept inline).

        Safe to run in another thread while the request is applied: it touches only
        ``blobs/``. Raises OSError (a full disk); ``append`` then writes the blob itself.
        ``digest``: the body's SHA-256 when already known (``write_blob``).
        """
        if len(body) <= BLOB_THRESHOLD:
            return None
        return write_blob(self.blobs, body, self._fsync, digest)

    def discard(self, staged: StagedBlob | None) -> None:
        """A staged blob whose request was refused: no frame will name it."""
        discard_blob(self.blobs, staged)

    def _cut_back(self) -> None:
        """Cut the file back to its last whole frame (after a failed append), durably."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
            self._fsync(self._fd)
        except OSError as exc:
            raise JournalError(f"cannot cut {self.path} back to its last whole record: {exc}") from exc
        self._cut_pending = False

    def append(self, meta: dict, body: bytes = b"", staged: StagedBlob | None = None) -> None:
        """Write one record durably (blob first, then the frame, each fsynced) or raise JournalError.

        On failure the file is cut back to its last whole frame (or, when even that
        fails, before the next append), so no later record ever follows a partial one.
        ``staged``: the body's blob, already written by ``stage``.
        """
        if self._fd is None:
            raise JournalError("journal is not open")
        if self._cut_pending:
            self._cut_back()
        wrote_blob = None
        try:
            meta = dict(meta)
            if len(body) > BLOB_THRESHOLD:
                if staged is None:
                    staged = write_blob(self.blobs, body, self._fsync)
                meta["blob"] = staged.digest
                wrote_blob = staged.digest if staged.new else None
                frame = encode_frame(meta)
            else:
                frame = encode_frame(meta, body)
            faults.point("append")
            self._cut_pending = True
            _write_all(self._fd, frame)
            self._fsync(self._fd)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if self._cut_pending:
                try:
                    self._cut_back()
                except JournalError as cut:
                    LOG.error("%s; the next change will try again first", cut)
            if wrote_blob and not self._cut_pending:   # no frame names it now
                (self.blobs / wrote_blob).unlink(missing_ok=True)
            raise JournalError(f"cannot write the journal {self.path}: {reason}") from exc
        self._size += len(frame)
        self._cut_pending = False

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
