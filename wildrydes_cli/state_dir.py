"""Can this user write the state directory? Asked before a command that must write there.

Why: the state directory (``$WILDRYDES_HOME``, else the XDG state home) holds
the deployed-state file, the deploy lock, built packages and the local
target's daemon files and credentials. When it could not be written, deploy
failed half-way with "unexpected PermissionError" (exit 70) and the local
target with a message about a credentials file. Now the directory is made (or
found) and probed with a real file first, and a failure is a usage error that
names the path, where it came from and what to do.
"""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wildrydes_cli.errors import UsageError

LOG = logging.getLogger(__name__)

HOME_ENV = "WILDRYDES_HOME"


def _origin(path: Path) -> str:
    explicit = os.environ.get(HOME_ENV)
    if explicit and Path(explicit) == path:
        return f"{HOME_ENV}={explicit}"
    return f"the state directory {path} (set {HOME_ENV} to move it)"


def require_writable(state_dir: Path) -> Path:
    """``state_dir``, created if missing, once a file could be made in it; else a UsageError."""
    path = Path(state_dir)
    try:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(20, "it is not a directory")
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"Cannot write {_origin(path)}: {reason}. Point {HOME_ENV} at a directory you can "
                         f"write, e.g. `export {HOME_ENV}=$HOME/.local/state/wildrydes`.") from None
    return path


@contextmanager
def writing(path: Path, what: str) -> Iterator[None]:
    """Turn a failed write under the state directory (a full disk, a read-only one) into a UsageError naming
    ``what`` and ``path``, instead of an unexpected OSError."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"Cannot write {what} in {path}: {exc.strerror or exc}. Free space there (or fix its "
                         f"permissions), or point {HOME_ENV} at another directory.") from None


def remove_tree(directory: Path) -> bool:
    """Delete ``directory`` and everything in it, if it is there; True when it was.

    For what ``local start --fresh`` and ``local reset`` erase (the journal, the kept log events).
    """
    import shutil

    directory = Path(directory)
    if not directory.exists():
        return False
    shutil.rmtree(directory)
    return True
