"""State file, pid/port facts and port selection for the emulator daemon."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from wildrydes_cli.errors import UsageError
from wildrydes_cli.local import daemon_files


def test_state_round_trip_and_clear(tmp_path):
    assert daemon_files.read_state(tmp_path) is None
    record = daemon_files.DaemonState(pid=123, port=4566, log_file="/x.log", started_at=1.5, version="0.1.0")
    daemon_files.write_state(tmp_path, record)
    assert daemon_files.read_state(tmp_path) == record and record.url == "http://127.0.0.1:4566"
    daemon_files.clear_state(tmp_path, pid=999)            # someone else's pid: left alone
    assert daemon_files.read_state(tmp_path) == record
    daemon_files.clear_state(tmp_path, pid=123)
    assert daemon_files.read_state(tmp_path) is None
    daemon_files.clear_state(tmp_path)                     # idempotent


def test_unreadable_state_is_ignored(tmp_path):
    daemon_files.state_file(tmp_path).parent.mkdir(parents=True)
    daemon_files.state_file(tmp_path).write_text("{not json")
    assert daemon_files.read_state(tmp_path) is None


def test_pid_alive_and_zombies():
    assert daemon_files.pid_alive(os.getpid())
    assert not daemon_files.pid_alive(0)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline_zombie = proc.pid
    import time
    for _ in range(100):  # exited but not reaped: a zombie counts as dead
        if not daemon_files.pid_alive(deadline_zombie):
            break
        time.sleep(0.02)
    assert not daemon_files.pid_alive(deadline_zombie)
    proc.wait()
    assert not daemon_files.pid_alive(proc.pid)


def test_is_daemon_process_checks_the_command_line():
    assert not daemon_files.is_daemon_process(os.getpid())       # pytest, not our server
    assert not daemon_files.is_daemon_process(2 ** 22 + 7)       # no such process


def test_port_in_use():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert daemon_files.port_in_use(sock.getsockname()[1])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert not daemon_files.port_in_use(free)


def _time_wait_on(port: int) -> bool:
    """Whether the kernel holds a TIME_WAIT socket whose local port is ``port`` (Linux /proc)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "06":  # 06 = TIME_WAIT
                return True
    return False


def _server_closes_first(port_holder: socket.socket) -> None:
    """One connection to ``port_holder`` that the server side closes first, leaving TIME_WAIT on its port."""
    with socket.create_connection(port_holder.getsockname()) as client:
        conn, _ = port_holder.accept()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()                      # the active close: this end goes to TIME_WAIT
        assert client.recv(100).startswith(b"HTTP/1.1 200")
        assert client.recv(100) == b""    # the peer's FIN


def test_time_wait_sockets_do_not_make_a_port_taken():
    """After a server stops, its port keeps TIME_WAIT sockets for ~60 s; the emulator (bound with
    SO_REUSEADDR, as asyncio does) can still listen there, so the probe must not call it taken."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        for _ in range(3):
            _server_closes_first(server)
        assert daemon_files.port_in_use(port)       # still listening
    assert _time_wait_on(port), "precondition: the closed connections left TIME_WAIT sockets"
    assert not daemon_files.port_in_use(port)


@pytest.mark.parametrize("host, reuse", [("127.0.0.1", False), ("127.0.0.1", True), ("0.0.0.0", False),
                                         ("0.0.0.0", True)])
def test_a_port_another_program_listens_on_is_taken(host, reuse):
    """Whether or not the other program set SO_REUSEADDR, and on loopback or on all addresses."""
    with socket.socket() as other:
        if reuse:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind((host, 0))
        other.listen()
        assert daemon_files.port_in_use(other.getsockname()[1])


def test_port_precedence(monkeypatch):
    monkeypatch.delenv(daemon_files.PORT_ENV, raising=False)
    assert daemon_files.resolve_port(None, 4566) == 4566
    monkeypatch.setenv(daemon_files.PORT_ENV, "5001")
    assert daemon_files.resolve_port(None, 4566) == 5001
    assert daemon_files.resolve_port(6000, 4566) == 6000
    monkeypatch.setenv(daemon_files.PORT_ENV, "")
    assert daemon_files.resolve_port(None, 4566) == 4566


@pytest.mark.parametrize("value", ["abc", "-1", "65536", "4566.5"])
def test_bad_port_in_environment_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(daemon_files.PORT_ENV, value)
    with pytest.raises(UsageError, match="WILDRYDES_LOCAL_PORT must be a port number"):
        daemon_files.resolve_port(None, 4566)


def test_bad_port_flag_names_the_flag():
    with pytest.raises(UsageError, match="--port must be a port number .* got 70000"):
        daemon_files.resolve_port(70000, 4566)


@pytest.mark.parametrize("raw", ["many", "0", "33", "-1", "2.5"])
def test_bad_worker_count_is_refused_before_the_daemon_starts(monkeypatch, tmp_path, raw):
    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli
    monkeypatch.setenv("WILDRYDES_LOCAL_WORKERS", raw)
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["local", "start", "--port", "0"])
    assert result.exit_code == 2
    assert f"WILDRYDES_LOCAL_WORKERS must be a whole number from 1 to 32 (warm workers per function), got {raw!r}" \
        in result.output
    assert not (tmp_path / "local" / "daemon.json").exists()


def test_worker_count_from_the_environment(monkeypatch):
    from wildrydes_cli.local import daemon_files
    monkeypatch.setenv("WILDRYDES_LOCAL_WORKERS", " 3 ")
    assert daemon_files.resolve_workers(default=2) == 3
    monkeypatch.delenv("WILDRYDES_LOCAL_WORKERS")
    assert daemon_files.resolve_workers(default=2) == 2
