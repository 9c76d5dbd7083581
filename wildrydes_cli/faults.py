"""Fault-injection points for the crash tests: ``kill -9`` this process at a named step.

Why: the local target promises that a crash at any step of ``local start`` (the
journal's torn tail cut off, a compaction's rewrite, the replay, a recovery) loses
nothing that was acknowledged. Killing a process "somewhere during start" from
outside hits whichever step happens to run; these named points let the tests in
``tests/local/test_crash_points.py`` kill the daemon at each step in turn.

Active only when ``WILDRYDES_FAULT_KILL_AT`` is set (tests set it; nothing else
should): ``NAME`` kills at the first pass through point NAME, ``NAME@N`` at the
Nth. Unset, ``point`` is one dictionary lookup, and no point sits on the path of
a request.
"""
from __future__ import annotations

import os
import signal

FAULT_ENV = "WILDRYDES_FAULT_KILL_AT"
_passes: dict[str, int] = {}


def point(name: str) -> None:
    """SIGKILL this process if the environment names this point (and this pass through it)."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    target, _, nth = wanted.partition("@")
    if target != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
