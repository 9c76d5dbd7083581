"""The function's log events on disk, so ``wildrydes logs`` still shows them after ``local stop``/``start``.

Why a store of its own and not the journal: the journal (``persist.py``)
keeps the AWS API requests that built the user's resources and fsyncs each
one; log events arrive once per invocation, from the Lambda runner, in
process (``lambda_log_lines.LogSink`` → ``moto_backends.append_log_events``), and an
fsync per request would put a disk flush on the execute-api path. Log lines
are also worth less than the user's resources: losing the last second of
them on a crash is acceptable, corrupting the store is not.

Layout (``<state_dir>/local/logs/``, directory 0700, files 0600): one JSON
Lines file per log group and the one before its last rotation; the format,
and why hostile text cannot forge events, is ``kept_logs_file.py``.

Durability: the LogSink hands over a batch per stream at most every 0.2 s;
each batch is one ``write`` (in the page cache at once, so it survives the
daemon being killed) and the files are ``fdatasync``ed at most once per
``SYNC_SECONDS`` (so an OS crash or power loss loses at most about the last
second), never per request, and in the loop's executor, not on the loop.

Bounds: per group the newest ``MAX_EVENTS`` events and ``MAX_BYTES`` of
lines are served (10,000 is what one ``wildrydes logs`` read returns; 4 MiB
is 400 bytes a line on average, where a request's lines are 100-200, and
stops a function printing 256 KB lines from keeping 2.5 GB). When a group's
file reaches either bound it becomes ``<name>.jsonl.1`` (replacing the one
before) and a new file starts: a rename, never a rewrite on the request path
(a rewrite of 10,000 lines with its fsyncs took ~45 ms of event loop per
2,500 events here). So a group holds at most twice the bounds (plus one
batch) on disk, and at most ``MAX_GROUPS`` groups are kept (the least recently written is dropped):
a load test cannot fill the disk, at most 16 x 2 x 4 MiB = 128 MiB in the
worst case, about 2-3 MB for a busy function printing ordinary lines.

A log group that is deleted (``DeleteLogGroup``, or ``cleanup`` deleting the
stack that owns it) has its file removed (``prune``, called by the daemon
after each successful AWS API change), so its events are never served again,
not even to a later group of the same name.

At the next start what is kept is put back into moto by ``kept_logs_restore.py``.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wildrydes_cli.local.invoke.kept_logs_file import (
    PREVIOUS,
    SUFFIX,
    encode_batch,
    file_name,
    header,
    header_key,
    read_file,
    write_all,
)
from wildrydes_cli.state_dir import remove_tree

LOG = logging.getLogger(__name__)

MAX_EVENTS = 10_000
MAX_BYTES = 4 * 1024 * 1024
MAX_GROUPS = 16
SYNC_SECONDS = 1.0

WriteFn = Callable[[str, str, str, str, list, int], None]


def store_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "local" / "logs"


@dataclass
class KeptGroup:
    """One log group's kept events, oldest first (file order is write order)."""

    account_id: str
    region: str
    group: str
    events: list[dict] = field(default_factory=list)


@dataclass
class _Open:
    path: Path
    fd: int
    events: int
    size: int                   # bytes of event lines (the header not counted)
    last_write: float


class LogStore:
    """Append-only per-group files with bounds; one writer (the daemon), used from its event loop.

    No fsync runs on the request path: ``append`` writes (and, once per
    ``max_events``, renames), and ``sync`` runs in ``background`` (the loop's
    executor: a sync of a busy disk took 190 ms here, too long to hold the
    event loop), at most once per ``sync_seconds``; ``schedule(delay,
    callback)`` (the loop's ``call_later``) syncs a batch written just after a
    sync a second later instead of waiting for the next batch. File
    descriptors a rotation or a deleted group retires are closed by the next
    sync, after it synced them, so a sync never touches a closed descriptor.
    Without ``background``, syncs run inline (tests, benchmarks); ``fsync`` and
    ``clock`` are injectable for tests.
    """

    def __init__(self, directory: Path, *, max_events: int = MAX_EVENTS, max_bytes: int = MAX_BYTES,
                 max_groups: int = MAX_GROUPS, sync_seconds: float = SYNC_SECONDS,
                 fsync: Callable[[int], None] = os.fdatasync, clock: Callable[[], float] = time.monotonic,
                 schedule: Callable[[float, Callable[[], None]], object] | None = None,
                 background: Callable[[Callable[[], None]], object] | None = None):
        self.directory = Path(directory)
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.max_groups = max_groups
        self.sync_seconds = sync_seconds
        self.schedule = schedule
        self.background = background
        self._fsync = fsync
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str, str], _Open] = {}
        self._dirty: set[int] = set()
        self._retired: list[int] = []     # descriptors to sync once more, then close (by ``sync``)
        self._dir_dirty = False           # a file was created, renamed or removed since the last sync
        self._sync_lock = threading.Lock()
        self._last_sync = clock()
        self._sync_pending = False
        self._warned = False

    # --- reading (at start) -------------------------------------------------------------------
    def load(self, known: Iterable[tuple[str, str, str]] = ()) -> list[KeptGroup]:
        """Every kept group's events within the bounds; cuts torn tails and trims what is over them.

        ``known``: groups that exist (moto's, after the replay), to name a file whose header is damaged.
        """
        known = list(known)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        kept = []
        with self._lock:
            for stale in self.directory.glob("*.tmp"):   # a rewrite a crash interrupted
                stale.unlink(missing_ok=True)
            for previous in self.directory.glob("*" + SUFFIX + PREVIOUS):
                current = previous.with_name(previous.name[:-len(PREVIOUS)])
                if not current.exists():               # a crash between a rotation's rename and the new file
                    os.replace(previous, current)
            for path in sorted(self.directory.glob("*" + SUFFIX)):
                try:
                    found = self._load_group(path, known)
                except OSError as exc:
                    LOG.warning("log store: cannot read %s (%s); its events are not restored", path.name, exc)
                    continue
                if found is not None:
                    kept.append(found)
            while len(self._open) > self.max_groups:
                self._evict_oldest()
            return [g for g in kept if (g.account_id, g.region, g.group) in self._open]

    def _load_group(self, path: Path, known: list[tuple[str, str, str]]) -> KeptGroup | None:
        previous_path = path.with_name(path.name + PREVIOUS)
        before = header_key(previous_path)
        current = read_file(path, self.max_bytes, known=([before] if before else []) + known)
        if current is None and previous_path.exists():   # set aside: the previous file is the group's now
            os.replace(previous_path, path)
            current = read_file(path, self.max_bytes, known=known)
        if current is None:
            return None
        previous = read_file(previous_path, self.max_bytes, current.key) if previous_path.exists() else None
        events = (previous.events if previous else []) + current.events
        lines = (previous.lines if previous else []) + current.lines
        dropped = len(lines) - self._newest(lines)
        events, lines = events[dropped:], lines[dropped:]
        account, region, group = current.key
        over = len(current.lines) >= self.max_events or sum(map(len, current.lines)) >= self.max_bytes
        if current.torn or current.skipped or current.clipped or current.header_damaged or over:
            # Rare (a crash mid-write, damage, smaller bounds): one clean file within the bounds.
            self._rewrite(path, account, region, group, lines)
            previous_path.unlink(missing_ok=True)
            self._sync_dir()
            current.lines = lines
        fd = self._open_fd(path)
        self._open[current.key] = _Open(path, fd, len(current.lines), sum(map(len, current.lines)),
                                        path.stat().st_mtime)
        return KeptGroup(account, region, group, events)

    def _newest(self, lines: list[bytes]) -> int:
        """How many of the newest lines fit the bounds."""
        total = count = 0
        for line in reversed(lines):
            if count >= self.max_events or total + len(line) > self.max_bytes:
                break
            total += len(line)
            count += 1
        return count

    # --- writing (the LogSink's flush, on the event loop) -------------------------------------------
    def append(self, account_id: str, region: str, group: str, stream: str, events: Iterable[dict]) -> bool:
        """Append one batch (False, logged once, when the disk refuses: serving goes on without it)."""
        data = encode_batch(stream, events)
        if not data:
            return True
        try:
            with self._lock:
                entry = self._entry(account_id, region, group)
                start = os.lseek(entry.fd, 0, os.SEEK_END)
                try:
                    write_all(entry.fd, data)
                except OSError:   # a full disk mid-batch: cut the partial lines off, never glue the next to them
                    os.ftruncate(entry.fd, start)
                    raise
                entry.events += data.count(b"\n")
                entry.size += len(data)
                entry.last_write = time.time()
                self._dirty.add(entry.fd)
                if entry.events >= self.max_events or entry.size >= self.max_bytes:
                    self._rotate(account_id, region, group, entry)
        except OSError as exc:
            if not self._warned:
                LOG.warning("log store %s: cannot keep log events (%s); they are served until the emulator "
                            "stops, then lost", self.directory, exc)
                self._warned = True
            return False
        self._warned = False
        self._maybe_sync()
        return True

    def keeping(self, write: WriteFn) -> WriteFn:
        """``write`` (moto's logs backend), then the same batch to disk once moto has taken it."""
        def write_and_keep(account_id: str, region: str, group: str, stream: str, events: list,
                           keep: int) -> None:
            write(account_id, region, group, stream, events, keep)
            self.append(account_id, region, group, stream, events)
        return write_and_keep

    def _entry(self, account_id: str, region: str, group: str) -> _Open:
        key = (account_id, region, group)
        entry = self._open.get(key)
        if entry is None:
            if len(self._open) >= self.max_groups:
                self._evict_oldest()
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.directory / file_name(account_id, region, group)
            entry = self._open[key] = _Open(path, self._create(path, key), 0, 0, time.time())
        return entry

    def _create(self, path: Path, key: tuple[str, str, str]) -> int:
        """A new group file with its header, not synced here (the next sync does; a lost header at a
        crash makes the file unusable, which ``load`` handles: the previous file, if any, is used)."""
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        write_all(fd, header(*key))
        self._dirty.add(fd)
        self._dir_dirty = True
        return fd

    def _open_fd(self, path: Path) -> int:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        return fd

    def _rewrite(self, path: Path, account_id: str, region: str, group: str, lines: list[bytes]) -> None:
        """Replace a group's file atomically: temp file, fsync, rename, directory fsync."""
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            write_all(fd, header(account_id, region, group) + b"".join(lines))
            self._fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        self._sync_dir()

    def _rotate(self, account_id: str, region: str, group: str, entry: _Open) -> None:
        """The full file becomes the previous one (replacing the older), a new one starts: no rewrite.

        The pair always holds the newest ``max_events`` (or ``max_bytes``)
        and at most twice that; costs a rename and a file creation per
        ``max_events`` on the loop, the syncs in the background.
        """
        self._retire(entry)
        os.replace(entry.path, entry.path.with_name(entry.path.name + PREVIOUS))
        entry.fd = self._create(entry.path, (account_id, region, group))
        entry.events = entry.size = 0

    def _evict_oldest(self) -> None:
        key = min(self._open, key=lambda k: self._open[k].last_write)
        entry = self._open.pop(key)
        LOG.info("log store: keeping at most %d log groups; dropping the events of %s", self.max_groups, key[2])
        self._drop_files(entry)

    def _drop_files(self, entry: _Open) -> None:
        self._retire(entry)
        entry.path.unlink(missing_ok=True)
        entry.path.with_name(entry.path.name + PREVIOUS).unlink(missing_ok=True)
        self._dir_dirty = True

    def _retire(self, entry: _Open) -> None:
        self._dirty.discard(entry.fd)
        self._retired.append(entry.fd)

    # --- durability -----------------------------------------------------------------------------
    def _maybe_sync(self) -> None:
        if self._sync_pending:
            return
        wait = self._last_sync + self.sync_seconds - self._clock()
        if wait <= 0:
            self._start_sync()
        elif self.schedule is not None:
            self._sync_pending = True
            self.schedule(wait, self._start_sync)

    def _start_sync(self) -> None:
        self._sync_pending = True
        if self.background is not None:
            self.background(self.sync)
        else:
            self.sync()

    def sync(self) -> None:
        """fdatasync every file written since the last sync, close retired ones, sync the directory."""
        with self._sync_lock:                      # one at a time; appends go on meanwhile
            with self._lock:
                self._last_sync = self._clock()
                dirty, self._dirty = self._dirty, set()
                retired, self._retired = self._retired, []
                dir_dirty, self._dir_dirty = self._dir_dirty, False
            try:
                for fd in [*dirty, *retired]:
                    try:
                        self._fsync(fd)
                    except OSError as exc:
                        LOG.warning("log store: fdatasync failed: %s", exc)
                for fd in retired:
                    os.close(fd)
                if dir_dirty:
                    self._sync_dir()
            except OSError as exc:
                LOG.warning("log store: sync failed: %s", exc)
            finally:
                self._sync_pending = False

    def _sync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            self._fsync(fd)
        finally:
            os.close(fd)

    # --- deleted groups, closing --------------------------------------------------------------------
    def forget(self, account_id: str, region: str, group: str) -> bool:
        """Drop a group's kept events (its file), durably; True when there were some."""
        with self._lock:
            entry = self._open.pop((account_id, region, group), None)
            if entry is None:
                return False
            self._drop_files(entry)
        self.sync()   # durably: a deleted group's events must not come back after a crash (rare: cleanup)
        LOG.info("log store: log group %s was deleted; its kept events are dropped", group)
        return True

    def prune(self, exists: Callable[[str, str, str], bool]) -> list[str]:
        """Forget every kept group that no longer exists (a few dict lookups: run after each AWS change).

        Events reach this store only after moto has taken them, so a kept
        group missing from moto was deleted since.
        """
        with self._lock:
            gone = [key for key in self._open if not exists(*key)]
        for key in gone:
            self.forget(*key)
        return [key[2] for key in gone]

    def groups(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return list(self._open)

    def close(self) -> None:
        self.sync()
        with self._lock:
            for entry in self._open.values():
                os.close(entry.fd)
            self._open.clear()
            self._dirty.clear()


def erase(directory: Path) -> bool:
    """Delete the store (``local start --fresh``/``local reset``); True when there was one."""
    return remove_tree(directory)
