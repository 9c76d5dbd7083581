"""The emulator daemon's life cycle: start, already running, stale pid, taken port, status, stop."""
from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path

import emulated
import pytest
from click.testing import CliRunner

from wildrydes_cli.cli.main import cli
from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.local import daemon, daemon_files
from wildrydes_cli.settings import Settings

pytestmark = pytest.mark.slow


def settings(tmp_path: Path, port: int = 0) -> Settings:
    return Settings(state_dir=tmp_path, local_port=port)


def test_start_status_second_start_and_stop(tmp_path, monkeypatch):
    monkeypatch.delenv(daemon_files.PORT_ENV, raising=False)
    port = emulated.free_port()
    s = settings(tmp_path, port)
    assert daemon.status(s).running is False
    started = daemon.start(s)
    try:
        assert started.running and started.port == port and not started.already_running
        assert started.endpoint_url == f"http://127.0.0.1:{port}"
        assert daemon_files.is_daemon_process(started.pid) and os.getpgid(started.pid) == started.pid  # own session
        with urllib.request.urlopen(f"{started.endpoint_url}/_wildrydes/health") as resp:
            assert json.loads(resp.read())["pid"] == started.pid
        again = daemon.start(s)
        assert again.already_running and again.pid == started.pid
        assert daemon.ensure_running(s) == started.endpoint_url
        current = daemon.status(s)
        assert current.running and current.pid == started.pid and Path(current.log_file).exists()
    finally:
        stopped = daemon.stop(s)
    assert stopped.pid == started.pid and emulated.pid_gone(started.pid)
    assert daemon_files.read_state(tmp_path) is None
    assert daemon.stop(s).running is False  # stopping twice is fine


def test_env_port_is_honoured(tmp_path, monkeypatch):
    port = emulated.free_port()
    monkeypatch.setenv(daemon_files.PORT_ENV, str(port))
    s = settings(tmp_path, 4566)
    url = daemon.ensure_running(s)
    try:
        assert url == f"http://127.0.0.1:{port}"
    finally:
        pid = daemon.status(s).pid
        daemon.stop(s)
    assert emulated.pid_gone(pid)


def test_taken_port_gets_a_clear_message(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(LocalTargetError, match=f"Port {port} on 127.0.0.1 is already in use.*--port"):
            daemon.start(settings(tmp_path, port))
    assert daemon_files.read_state(tmp_path) is None


def test_cli_taken_port_exits_5_naming_both_ways_to_choose_another(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    monkeypatch.delenv(daemon_files.PORT_ENV, raising=False)
    with socket.socket() as other:          # another program's listener, with SO_REUSEADDR as servers do
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        out = CliRunner().invoke(cli, ["local", "start", "--port", str(port)])
    assert out.exit_code == 5, out.output
    assert f"Port {port} on 127.0.0.1 is already in use by another program" in out.output
    assert "wildrydes local start --port N" in out.output and "WILDRYDES_LOCAL_PORT=N" in out.output
    assert daemon_files.read_state(tmp_path) is None


def test_a_port_taken_by_another_homes_emulator_says_so(tmp_path, monkeypatch):
    """Two state directories (two HOMEs, or two users), one port: the second start names the first
    emulator's pid instead of "another program", and both ways out."""
    monkeypatch.delenv(daemon_files.PORT_ENV, raising=False)
    port = emulated.free_port()
    first, second = tmp_path / "first", tmp_path / "second"
    started = daemon.start(settings(first, port))
    try:
        with pytest.raises(LocalTargetError) as refused:
            daemon.start(settings(second, port))
    finally:
        daemon.stop(settings(first, port))
    message = str(refused.value)
    assert (f"Port {port} on 127.0.0.1 is already in use by another wildrydes emulator (pid {started.pid}), not "
            f"the one that keeps its state in {second}") in message
    assert "`wildrydes local stop`" in message and "--port N" in message and "WILDRYDES_LOCAL_PORT=N" in message
    assert daemon_files.read_state(second) is None and emulated.pid_gone(started.pid)


@pytest.mark.parametrize("answer", [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
                                    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"pid\": true}",
                                    b"HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n{\"pid\": 7, " + b" " * 8980 + b"}",
                                    b"not http at all\r\n\r\n", b""])
def test_another_program_that_answers_is_not_taken_for_an_emulator(answer):
    """Whatever listens on the port is untrusted: only a JSON object with an int pid counts, read
    within 4 KiB and half a second; anything else is "another program"."""
    import threading
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def reply() -> None:
            connection, _ = server.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(answer)
        thread = threading.Thread(target=reply, daemon=True)
        thread.start()
        assert daemon.health_pid(port) is None
        thread.join(5)


def test_a_listener_that_drips_its_answer_does_not_hang_the_start():
    """A byte every 0.05 s keeps each read within any per-read timeout (http.client's kind): the probe's
    deadline is for the whole exchange."""
    import threading
    import time
    stop = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def drip() -> None:
            connection, _ = server.accept()
            with connection:
                connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not stop.is_set():
                    try:
                        connection.sendall(b"a")
                    except OSError:
                        return
                    time.sleep(0.05)
        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        t0 = time.monotonic()
        try:
            assert daemon.health_pid(server.getsockname()[1], timeout=0.5) is None
            assert time.monotonic() - t0 < 5
        finally:
            stop.set()
            thread.join(5)


def test_a_listener_that_never_answers_does_not_hang_the_start():
    import time
    with socket.socket() as server:        # listens, never accepts: the probe connects, then waits
        server.bind(("127.0.0.1", 0))
        server.listen()
        t0 = time.monotonic()
        assert daemon.health_pid(server.getsockname()[1], timeout=0.3) is None
        assert time.monotonic() - t0 < 5


def _time_wait_on(port: int) -> bool:
    """Whether a TIME_WAIT socket has ``port`` as its local port (Linux /proc; state 06)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "06":
            return True
    return False


def test_stop_then_start_on_the_same_port_despite_time_wait(tmp_path, monkeypatch):
    """Regression: the served connections' TIME_WAIT sockets (~60 s) made `local start` right after
    `local stop` fail with "already in use" (exit 5) although nothing listened."""
    import http.client

    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    monkeypatch.delenv(daemon_files.PORT_ENV, raising=False)
    port = emulated.free_port()
    s = settings(tmp_path, port)
    runner = CliRunner()
    first = daemon.start(s)
    pids = [first.pid]
    try:
        for _ in range(5):   # urllib sends "Connection: close": the server closes first
            with urllib.request.urlopen(f"{first.endpoint_url}/_wildrydes/health") as resp:
                assert json.loads(resp.read())["pid"] == first.pid
        idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # keep-alive, closed by stop
        idle.request("GET", "/_wildrydes/health")
        assert idle.getresponse().read()
        out = runner.invoke(cli, ["local", "stop"])
        assert out.exit_code == 0 and f"stopped (pid {first.pid})" in out.output
        assert emulated.pid_gone(first.pid)
        idle.close()
        assert _time_wait_on(port), "precondition: the served connections left TIME_WAIT sockets"
        out = runner.invoke(cli, ["--output", "json", "local", "start", "--port", str(port)])
        assert out.exit_code == 0, out.output
        second = json.loads(out.output)
        pids.append(second["pid"])
        assert second["port"] == port and second["pid"] != first.pid
        daemon.stop(s)
        assert emulated.pid_gone(second["pid"])
        url = daemon.ensure_running(s)      # the auto-start every local command does
        pids.append(daemon.status(s).pid)
        assert url == f"http://127.0.0.1:{port}"
    finally:
        daemon.stop(s)
    assert all(emulated.pid_gone(pid) for pid in pids)


def test_stale_pid_is_reported_and_replaced(tmp_path):
    stale = daemon_files.DaemonState(pid=2 ** 22 + 11, port=1, log_file="x", started_at=0.0)
    daemon_files.write_state(tmp_path, stale)
    status = daemon.status(settings(tmp_path))
    assert status.running is False and status.stale_pid == stale.pid
    daemon_files.write_state(tmp_path, stale)
    started = daemon.start(settings(tmp_path))
    try:
        assert started.stale_pid == stale.pid and started.pid != stale.pid
    finally:
        daemon.stop(settings(tmp_path))
    assert emulated.pid_gone(started.pid)


def test_cli_reports_a_stale_pid(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    daemon_files.write_state(tmp_path, daemon_files.DaemonState(pid=2 ** 22 + 13, port=1, log_file="x", started_at=0.0))
    out = CliRunner().invoke(cli, ["local", "status"])
    assert out.exit_code == 3   # not running
    assert f"Removed stale emulator state (pid {2 ** 22 + 13} was not running)" in out.output
    assert "not running" in out.output


def test_live_pid_that_is_not_our_daemon_counts_as_stale(tmp_path):
    daemon_files.write_state(tmp_path, daemon_files.DaemonState(pid=os.getpid(), port=1, log_file="x", started_at=0.0))
    status = daemon.status(settings(tmp_path))
    assert status.running is False and status.stale_pid == os.getpid()
    assert daemon.stop(settings(tmp_path)).running is False  # never signals a stranger


def test_daemon_that_dies_at_start_up_reports_its_log(tmp_path, monkeypatch):
    monkeypatch.setattr(daemon_files, "SERVER_MODULE", "wildrydes_cli.local.no_such_module")
    with pytest.raises(LocalTargetError, match="(?s)exited during start-up.*No module named"):
        daemon.start(settings(tmp_path))


def test_cli_local_commands(tmp_path, monkeypatch):
    port = emulated.free_port()
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    runner = CliRunner()
    out = runner.invoke(cli, ["local", "status"])
    assert out.exit_code == 3 and "not running" in out.output
    out = runner.invoke(cli, ["--output", "json", "local", "start", "--port", str(port)])
    assert out.exit_code == 0, out.output
    pid = json.loads(out.output)["pid"]
    try:
        out = runner.invoke(cli, ["local", "start", "--port", str(port)])
        assert "already running" in out.output and str(pid) in out.output
        out = runner.invoke(cli, ["--output", "json", "local", "status"])
        assert out.exit_code == 0 and json.loads(out.output)["endpoint_url"] == f"http://127.0.0.1:{port}"
    finally:
        out = runner.invoke(cli, ["local", "stop"])
    assert f"stopped (pid {pid})" in out.output and emulated.pid_gone(pid)


def test_cli_bad_port_values(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    runner = CliRunner()
    out = runner.invoke(cli, ["local", "start", "--port", "99999"])
    assert out.exit_code == 2 and "--port must be a port number" in out.output
    monkeypatch.setenv(daemon_files.PORT_ENV, "http")
    out = runner.invoke(cli, ["local", "start"])
    assert out.exit_code == 2 and "WILDRYDES_LOCAL_PORT must be a port number" in out.output
    out = runner.invoke(cli, ["local", "start", "--port", "abc"])
    assert out.exit_code == 2 and "abc" in out.output


def test_workers_die_with_a_killed_daemon_and_the_stale_state_is_cleaned(tmp_path):
    import concurrent.futures
    import signal

    s = settings(tmp_path)
    started = daemon.start(s)
    try:
        d = emulated.deploy(started.endpoint_url, emulated.zip_files(
            {"index.py": "import os\ndef handler(e, c):\n    return {'statusCode': 200, 'body': str(os.getpid())}\n"}),
            {}, state_dir=tmp_path)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            pids = {int(r[2]) for r in pool.map(lambda _: emulated.http("POST", d.invoke_url, "x"), range(6))}
        assert pids and all(daemon_files.pid_alive(p) for p in pids)
    finally:
        os.kill(started.pid, signal.SIGKILL)
    assert emulated.pid_gone(started.pid)
    assert all(emulated.pid_gone(p, timeout=5) for p in pids), "no worker outlives the daemon"
    assert daemon_files.read_state(tmp_path) is not None      # left behind by the kill
    again = daemon.start(s)
    try:
        assert again.stale_pid == started.pid and again.pid != started.pid
    finally:
        daemon.stop(s)
    assert emulated.pid_gone(again.pid)
