"""The algorithm's processes started ahead of their jobs: one waits for the next job, is handed ROOT,
trains exactly as ``algorithm train ROOT`` does, and never outlives the emulator or its idle limit."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from emulated import pid_gone
from job_roots import HP, job_root

from wildrydes_cli.local.training import processes
from wildrydes_cli.training import algorithm


@pytest.fixture
def pool():
    made = processes.AlgorithmProcesses()
    yield made
    made.shutdown()


def test_a_job_started_ahead_trains_as_train_root_does(tmp_path, pool):
    root, *_ = job_root(tmp_path, HP, rows=500)
    process = pool.take()
    processes.start_job(process, root)
    out = process.stdout.read()
    assert process.wait(timeout=120) == 0, out
    assert b"#quality_metric: host=algo-1, validation roc_auc_score" in out
    assert (root / "model" / "model_algo-1").exists()


def test_the_process_waiting_after_a_job_runs_the_next_one(tmp_path, pool):
    pool.replenish()
    waiting = pool.waiting
    assert waiting is not None and waiting.poll() is None
    pool.replenish()                      # one waits already: no second one
    assert pool.waiting is waiting
    taken = pool.take()
    assert taken is waiting and pool.waiting is None
    root, *_ = job_root(tmp_path, HP, rows=500)
    processes.start_job(taken, root)
    assert taken.wait(timeout=120) == 0
    assert (root / "model" / "model_algo-1").exists()


def test_a_waiting_process_near_its_idle_limit_is_not_handed_a_job(pool, monkeypatch):
    pool.replenish()
    old = pool.waiting
    monkeypatch.setattr(processes, "HAND_OVER_S", 0.0)
    fresh = pool.take()
    try:
        assert fresh is not old and pid_gone(old.pid)
    finally:
        processes.end(fresh)


def test_an_unused_process_given_back_waits_and_shutdown_ends_it(pool):
    process = pool.take()
    pool.give_back(process)
    assert pool.waiting is process
    pool.shutdown()
    assert pid_gone(process.pid) and process.returncode == 0
    pool.replenish()                      # after shutdown nothing new starts
    assert pool.waiting is None


def test_a_waiting_process_exits_by_itself_on_end_of_input_or_after_its_idle_time():
    started = time.monotonic()
    idle = subprocess.run([sys.executable, "-m", algorithm.MODULE, "standby", "0.2"], stdin=subprocess.PIPE,
                          capture_output=True, timeout=60)
    assert idle.returncode == 0 and idle.stdout == b"" and time.monotonic() - started < 60
    closed = subprocess.run([sys.executable, "-m", algorithm.MODULE, "standby", "600"], input=b"",
                            capture_output=True, timeout=60)
    assert closed.returncode == 0 and closed.stdout == b""


@pytest.mark.parametrize("line", [b"relative/root\n", b"/" + b"x" * 5000 + b"\n"])
def test_a_line_that_is_not_an_absolute_root_runs_nothing(line, tmp_path):
    done = subprocess.run([sys.executable, "-m", algorithm.MODULE, "standby", "600"], input=line,
                          capture_output=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == b""
    assert not (tmp_path / "relative").exists()


def test_a_bad_idle_time_is_refused_with_usage():
    done = subprocess.run([sys.executable, "-m", algorithm.MODULE, "standby", "soon"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "IDLE_SECONDS must be a number, not 'soon'" in done.stderr


def test_the_guide_states_the_idle_time_in_use():
    from pathlib import Path

    text = " ".join((Path(__file__).resolve().parents[3] / "docs" / "training.md").read_text().split())
    assert f"one process waits for the next job, and exits after {processes.IDLE_S:g} s without one" in text


def test_a_waiting_process_ends_when_the_emulator_that_started_it_is_killed():
    """kill -9 of the emulator: no shutdown runs, but the waiting process's input closes and it exits."""
    import os
    import signal

    daemon = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from wildrydes_cli.local.training import processes\n"
        "pool = processes.AlgorithmProcesses()\n"
        "pool.replenish()\n"
        "print(pool.waiting.pid, flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    try:
        waiting = int(daemon.stdout.readline())
        assert not pid_gone(waiting, timeout=0.5)       # it waits while its emulator lives
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=10)
        assert pid_gone(waiting, timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
