"""The daemon's own log file, ``<state>/local/daemon.log``: size-bounded, and read from its end.

Why: the daemon runs for days and anyone who can reach the open invoke URL
can make it log, so its log must not grow without bound. It is rotated at
``MAX_BYTES`` into ``daemon.log.1`` .. ``daemon.log.<BACKUPS>`` (the oldest
dropped): at most ``(BACKUPS + 1) x MAX_BYTES`` on disk, 12 MiB. What the
function prints is not written here (it goes to its log group and the kept
log store, ``invoke/kept_logs.py``), only what the emulator itself has to say.

The daemon's standard output and error are pointed at the current file, at
start and after each rotation, so that what bypasses ``logging`` (a traceback
printed by a dying thread, a library's warning, a worker's last words) lands
in the file that is measured and rotated, not in a renamed one that would
grow unseen. ``daemon.start`` opens the same file for the process's output
before ``configure`` runs, so an error during start-up is there too.

``tail`` reads only the end of the file: a failed start prints the last
lines of a log that may be large, without reading it whole.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

MAX_BYTES = 4 * 1024 * 1024
BACKUPS = 2
TAIL_BYTES = 64 * 1024
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RotatingDaemonLog(logging.handlers.RotatingFileHandler):
    """Rotation by size, files 0600, the process's stdout and stderr following the current file."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS):
        super().__init__(str(path), maxBytes=max_bytes, backupCount=backups, encoding="utf-8",
                         errors="backslashreplace")

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def doRollover(self) -> None:
        super().doRollover()
        self.follow()

    def follow(self) -> None:
        """Point file descriptors 1 and 2 at the current file."""
        if self.stream is None:
            self.stream = self._open()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        for fd in (1, 2):
            os.dup2(self.stream.fileno(), fd)


def configure(path: Path, level: int = logging.INFO, max_bytes: int = MAX_BYTES,
              backups: int = BACKUPS) -> RotatingDaemonLog:
    """Log the daemon to ``path`` with rotation (replacing any handler of the root logger)."""
    handler = RotatingDaemonLog(path, max_bytes, backups)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    handler.follow()
    return handler


def tail(path: Path | str, lines: int = 15, max_bytes: int = TAIL_BYTES) -> str:
    """The last ``lines`` lines of ``path``, reading at most its last ``max_bytes`` ("" when unreadable)."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max_bytes))
            data = handle.read(max_bytes)
    except OSError:
        return ""
    kept = data.splitlines()
    if len(data) == max_bytes and size > max_bytes and kept:
        kept = kept[1:]   # the first line was cut by where the read began
    return "\n".join(line.decode("utf-8", "replace") for line in kept[-lines:])
