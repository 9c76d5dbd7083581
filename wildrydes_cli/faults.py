"""Fault-injection points for the crash tests: ``kill -9`` this process at a named step.

Why: the local target promises that a crash at any step of ``local start`` (the
journal's torn tail cut off, a compaction's rewrite, the replay, a recovery) loses
nothing that was acknowledged. Killing a process "somewhere during start" from
outside hits whichever step happens to run; these named points let the tests in
``tests/local/test_crash_points.py`` kill the daemon at each step in turn.

Active only when ``WILDRYDES_FAULT_KILL_AT`` is set in the process's environment
when it starts (tests set it for the daemon or CLI process they start; nothing
else should): ``NAME`` kills at the first pass through point NAME, ``NAME@N`` at
the Nth. Unset, ``point`` is one comparison with None (one point is on the
journal's append, the rest on start and compaction).
"""
from __future__ import annotations

import os
import signal

FAULT_ENV = "WILDRYDES_FAULT_KILL_AT"
_WANTED = os.environ.get(FAULT_ENV) or None
_passes: dict[str, int] = {}


def point(name: str) -> None:
    """SIGKILL this process if its environment named this point (and this pass through it)."""
    if _WANTED is None:
        return
    target, _, nth = _WANTED.partition("@")
    if target != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
