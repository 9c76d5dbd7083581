"""The local Linear Learner started ahead of its job: imported, then waiting for the job's ROOT on stdin.

    python -m wildrydes_cli.training.algorithm standby IDLE_SECONDS      (then ``ROOT\\n`` on stdin)

Why: starting Python and importing numpy and the trainer takes 0.25-0.45 s on a
2-core machine, a fixed cost every training job paid before it read a row (and
1,000 breed jobs paid 1,000 times). The emulator starts this process when a job
is created, so the import overlaps the channel download, and keeps one waiting
after a job ends for the next one (``local/training/processes.py``). Once ROOT
arrives it is exactly ``algorithm train ROOT`` (same exit codes, same output).

A waiting process prints nothing and exits by itself on end of input (the
emulator stopped or died: its pipe closed) or after IDLE_SECONDS without a job
(the emulator stops handing it a job well before), so it never outlives the
emulator that started it.
"""
from __future__ import annotations

import os
import select
import sys

from wildrydes_cli.training import algorithm, numpy_trainer, recordio_protobuf  # noqa: F401  (imported ahead: the point)

MAX_ROOT_BYTES = 4096
MAX_IDLE_S = 24 * 3600.0


def wait_for_root(stdin_fd: int, idle_s: float) -> str | None:
    """The job's ROOT (one line), or None on end of input, idle time out or a line that is not a path."""
    readable, _, _ = select.select([stdin_fd], [], [], idle_s)
    if not readable:
        return None
    line = b""
    while not line.endswith(b"\n") and len(line) <= MAX_ROOT_BYTES:
        chunk = os.read(stdin_fd, MAX_ROOT_BYTES)
        if not chunk:
            break
        line += chunk
    root = line.decode("utf-8", "replace").strip()
    return root if root.startswith("/") and "\n" not in root and len(line) <= MAX_ROOT_BYTES else None


def main(idle: str) -> int:
    try:
        idle_s = min(max(float(idle), 0.0), MAX_IDLE_S)
    except ValueError:
        print(f"standby: IDLE_SECONDS must be a number, not {idle!r}", file=sys.stderr)
        return 2
    root = wait_for_root(sys.stdin.fileno(), idle_s)
    if root is None:
        return 0
    os.chdir(root)
    return algorithm.main(["train", root])
