"""The algorithm's processes: started when a job is created, and one kept waiting for the next job.

Why: a process that starts Python and imports numpy and the trainer costs a
quarter to half a second before it reads a row. So each job's process is
started as the job starts (``take``), before its channels are downloaded, and
told its ROOT once they are (``algorithm standby``: ``training/algorithm_standby.py``);
and when a job ends, one process is started to wait for the next job
(``replenish``), so jobs created one after another (``train --breeds``, a user
training again) start at once. SageMaker's own warm pools do this for its
instances (``KeepAlivePeriodInSeconds``); here it is automatic and costs one idle
process (~40 MB) that exits after ``IDLE_S`` without a job, when the emulator
stops (``shutdown``), or when its pipe closes because the emulator died. A
process near its idle limit is never handed a job (``HAND_OVER_S``): it ends, and
a new one starts.

A process is used by one job only: taken out of the slot before its ROOT is written.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

LOG = logging.getLogger(__name__)

# The algorithm's entry point (training/algorithm.py), named, never imported (local/ imports only the
# ground; tests/test_import_rule.py checks this name).
ALGORITHM = ("-m", "wildrydes_cli.training.algorithm")
IDLE_S = 600.0          # a waiting process exits after this long without a job
HAND_OVER_S = 540.0     # ... and is handed one only while it is younger than this


class AlgorithmProcesses:
    """At most one waiting process; every other one started for its job."""

    def __init__(self, python: str = sys.executable, cwd: Path | None = None) -> None:
        self.python = python
        self.cwd = cwd
        self.waiting: subprocess.Popen | None = None
        self.started: dict[subprocess.Popen, float] = {}    # when each live one started (its idle clock)
        self.lock = threading.Lock()
        self.closed = False

    def _start(self) -> subprocess.Popen:
        for gone in [p for p in self.started if p.poll() is not None]:
            del self.started[gone]
        process = subprocess.Popen([self.python, *ALGORITHM, "standby", f"{IDLE_S:g}"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.cwd,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.started[process] = time.monotonic()
        return process

    def _usable(self, process: subprocess.Popen) -> bool:
        """Alive, and far enough from its idle limit that it cannot exit as its job is written."""
        return process.poll() is None and time.monotonic() - self.started.get(process, 0.0) < HAND_OVER_S

    def take(self) -> subprocess.Popen:
        """A process for one job: the waiting one while it is usable, else one started now."""
        with self.lock:
            process, self.waiting = self.waiting, None
            if process is not None and self._usable(process):
                return process
            started = self._start()
        if process is not None:
            end(process)
        return started

    def replenish(self) -> None:
        """Start one process to wait for the next job, unless one waits already or the emulator stops."""
        with self.lock:
            if self.closed or (self.waiting is not None and self._usable(self.waiting)):
                return
            stale, self.waiting = self.waiting, None
            try:
                self.waiting = self._start()
            except OSError as exc:   # the next job starts its own
                LOG.warning("cannot start a training process ahead: %s", exc)
        if stale is not None:
            end(stale)

    def give_back(self, process: subprocess.Popen) -> None:
        """A job that ended before its training: its unused process waits for the next job, or ends."""
        with self.lock:
            if not self.closed and self.waiting is None and self._usable(process):
                self.waiting = process
                return
        end(process)

    def shutdown(self) -> None:
        with self.lock:
            self.closed = True
            process, self.waiting = self.waiting, None
        if process is not None:
            end(process)


def start_job(process: subprocess.Popen, root: Path) -> None:
    """Hand the process its job: ROOT on one line, then end of input."""
    assert process.stdin is not None
    try:
        process.stdin.write(f"{root}\n".encode())
        process.stdin.close()
    except BrokenPipeError:   # it died meanwhile: its exit code says so to the runner
        pass


def end(process: subprocess.Popen) -> None:
    """End a process that has no job (closing its input is enough; a kill if it lingers)."""
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
    _reap(process)


def _reap(process: subprocess.Popen) -> None:
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
