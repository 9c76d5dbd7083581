"""Two commands starting the emulator at once end up with one daemon (the start lock)."""
from __future__ import annotations

import threading

import emulated
import pytest

from wildrydes_cli.local import daemon, daemon_files
from wildrydes_cli.results import LocalDaemonResult
from wildrydes_cli.settings import Settings

pytestmark = pytest.mark.slow


def test_concurrent_starts_share_one_daemon(tmp_path, monkeypatch):
    monkeypatch.delenv(daemon_files.PORT_ENV, raising=False)
    s = Settings(state_dir=tmp_path, local_port=emulated.free_port())
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def start(slot: int) -> None:
        barrier.wait()
        try:
            outcomes[slot] = daemon.start(s)
        except Exception as exc:   # without the lock, the second daemon cannot bind the port
            outcomes[slot] = exc

    threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert all(isinstance(o, LocalDaemonResult) for o in outcomes), outcomes
        assert outcomes[0].pid == outcomes[1].pid
        assert sorted(o.already_running for o in outcomes) == [False, True]
    finally:
        stopped = daemon.stop(s)
        if stopped.pid:
            assert emulated.pid_gone(stopped.pid)
