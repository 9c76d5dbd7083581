"""A small real disk for the fault tests: a tmpfs mounted where a test needs a disk that fills up.

Why a real filesystem and not a mocked ``write``: a full disk fails at the step the
kernel decides (a write that needs a new page, an fsync, a rename, a file creation),
often halfway through a frame; only a real one shows that the journal and the log
store survive that. Mounting needs root (CI runs the suite as root); elsewhere the
tests that need it skip, saying why.
"""
from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    """``path`` as the mount point of a tmpfs of ``size`` (skips the test without root), unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("a full-disk test mounts a small tmpfs, which needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): a full-disk test needs one")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path, name: str = "ballast") -> Path:
    """Write a file in ``directory`` until its disk is full; return it (remove it to free the space)."""
    ballast = Path(directory) / name
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    chunk = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    break
                chunk = chunk[:len(chunk) // 2]   # down to the last byte the disk takes
    finally:
        os.close(fd)
    return ballast


def free(ballast: Path) -> None:
    ballast.unlink()
