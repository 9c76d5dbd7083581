"""State file, pid/port facts and port selection for the emulator daemon."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from wildrydes_cli.errors import UsageError
from wildrydes_cli.local import state as st


def test_state_round_trip_and_clear(tmp_path):
    assert st.read_state(tmp_path) is None
    record = st.DaemonState(pid=123, port=4566, log_file="/x.log", started_at=1.5, version="0.1.0")
    st.write_state(tmp_path, record)
    assert st.read_state(tmp_path) == record and record.url == "http://127.0.0.1:4566"
    st.clear_state(tmp_path, pid=999)            # someone else's pid: left alone
    assert st.read_state(tmp_path) == record
    st.clear_state(tmp_path, pid=123)
    assert st.read_state(tmp_path) is None
    st.clear_state(tmp_path)                     # idempotent


def test_unreadable_state_is_ignored(tmp_path):
    st.state_file(tmp_path).parent.mkdir(parents=True)
    st.state_file(tmp_path).write_text("{not json")
    assert st.read_state(tmp_path) is None


def test_pid_alive_and_zombies():
    assert st.pid_alive(os.getpid())
    assert not st.pid_alive(0)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline_zombie = proc.pid
    import time
    for _ in range(100):  # exited but not reaped: a zombie counts as dead
        if not st.pid_alive(deadline_zombie):
            break
        time.sleep(0.02)
    assert not st.pid_alive(deadline_zombie)
    proc.wait()
    assert not st.pid_alive(proc.pid)


def test_is_daemon_process_checks_the_command_line():
    assert not st.is_daemon_process(os.getpid())       # pytest, not our server
    assert not st.is_daemon_process(2 ** 22 + 7)       # no such process


def test_port_in_use():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert st.port_in_use(sock.getsockname()[1])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert not st.port_in_use(free)


def test_port_precedence(monkeypatch):
    monkeypatch.delenv(st.PORT_ENV, raising=False)
    assert st.resolve_port(None, 4566) == 4566
    monkeypatch.setenv(st.PORT_ENV, "5001")
    assert st.resolve_port(None, 4566) == 5001
    assert st.resolve_port(6000, 4566) == 6000
    monkeypatch.setenv(st.PORT_ENV, "")
    assert st.resolve_port(None, 4566) == 4566


@pytest.mark.parametrize("value", ["abc", "-1", "65536", "4566.5"])
def test_bad_port_in_environment_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(st.PORT_ENV, value)
    with pytest.raises(UsageError, match="WILDRYDES_LOCAL_PORT must be a port number"):
        st.resolve_port(None, 4566)


def test_bad_port_flag_names_the_flag():
    with pytest.raises(UsageError, match="--port must be a port number .* got 70000"):
        st.resolve_port(70000, 4566)
