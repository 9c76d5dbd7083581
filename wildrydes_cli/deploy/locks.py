"""One deploy at a time per target, account and region on this machine (an fcntl lock file).

Why: two deploys started together both find no stack, both create one, and
one loses: CloudFormation refuses the second CreateStack, but its code upload
and state writes race the first, and an interrupted pair has left a function
that no stack owns and cleanup never removes. The lock lives in the state
directory (``locks/<target>-<account>-<region>.lock``) and is released by the
kernel when the process ends, so a crashed deploy never leaves it held.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from wildrydes_cli.errors import AwsError

LOG = logging.getLogger(__name__)


def lock_path(state_dir: Path, target: str, account: str, region: str) -> Path:
    return Path(state_dir) / "locks" / f"{target}-{account}-{region}.lock"


@contextmanager
def held(path: Path, timeout: float = 900.0, poll: float = 1.0,
         sleep: Callable[[float], None] = time.sleep, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock at ``path``; wait up to ``timeout`` s for another holder, then refuse."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        waited = 0.0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            holder = _holder(path)
            if waited >= timeout:
                raise AwsError(f"Another wildrydes deploy ({holder}) is still running for this target, account "
                               f"and region after {int(timeout)} s: let it finish, then deploy again "
                               f"(lock file {path}).")
            if waited == 0 and on_wait is not None:
                on_wait(f"Waiting for another wildrydes deploy ({holder}) to finish")
            sleep(poll)
            waited += poll
        try:   # who holds it, for a waiting deploy's message: the lock itself is the flock
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}".encode())
        except OSError as exc:
            LOG.debug("could not note the holder in %s: %s", path, exc)
        yield
    finally:
        os.close(fd)   # closing releases the flock


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "pid unknown"
    except OSError:
        return "pid unknown"
