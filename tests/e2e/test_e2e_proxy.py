"""A shell behind a company proxy (HTTP_PROXY, HTTPS_PROXY and ALL_PROXY set, NO_PROXY not): the local
target is this machine's loopback, so the whole flow runs without one connection to the proxy. Before,
`local start` waited 30 s for a daemon that was up (its health probe went to the proxy) and every AWS call
of the CLI went there too."""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading

import emulated
import pytest
from clitools import WILDRYDES, make_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TRAIN = ["train", "--rows", "2000", "--epochs", "2", "--trainer", "numpy"]
PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture
def proxy():
    """A 'proxy' on a free port that only notes who connects (and answers nothing)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    connections: list[tuple] = []
    stop = threading.Event()

    def note() -> None:
        while not stop.is_set():
            try:
                connection, peer = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(peer)
            connection.close()
    thread = threading.Thread(target=note, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", connections
    stop.set()
    thread.join(5)
    server.close()


def test_the_whole_local_flow_never_connects_to_the_proxy(tmp_path, proxy):
    if not WILDRYDES.exists():
        pytest.skip(f"no wildrydes console script next to {sys.executable}")
    url, connections = proxy
    cli = make_cli(tmp_path)
    cli.env.update({name: url for name in PROXY_VARIABLES})
    cli.env.pop("NO_PROXY", None)
    cli.env.pop("no_proxy", None)
    try:
        cli.run("local", "start", timeout=60)
        cli.run("bootstrap")
        cli.run(*TRAIN)
        cli.json("deploy", "--yes")
        assert cli.json(*PREDICT)["label"] == "heavy magic use likely"
        exported = cli.run("local", "env")
        assert "export AWS_ENDPOINT_URL=" in exported.stdout         # stdout stays what eval takes
        assert f"this shell has a proxy set ({url}) and NO_PROXY does not name 127.0.0.1" in " ".join(
            exported.stderr.split())
        cli.env["NO_PROXY"] = "localhost,127.0.0.1"
        assert "proxy" not in cli.run("local", "env").stderr          # named in NO_PROXY: nothing to say
    finally:
        pid = cli.daemon_pid()
        cli.run("local", "stop", check=False)
        if pid is not None and not emulated.pid_gone(pid, timeout=10):
            os.killpg(pid, signal.SIGKILL)
    assert connections == []
