"""End-to-end fixtures: the real ``wildrydes`` executable in subprocesses (see
clitools.py). Whatever daemon the run starts is stopped by pid at the end, even
when a test fails."""
from __future__ import annotations

import os
import signal
import sys

import emulated
import pytest
from clitools import WILDRYDES, make_cli


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    if not WILDRYDES.exists():
        pytest.skip(f"no wildrydes console script next to {sys.executable}")
    cli = make_cli(tmp_path_factory.mktemp("e2e"))
    yield cli
    pid = cli.daemon_pid()
    if pid is not None:  # a failed test left it running: stop it, by pid
        cli.run("local", "stop", check=False)
        if not emulated.pid_gone(pid, timeout=10):
            os.killpg(pid, signal.SIGKILL)
        assert emulated.pid_gone(pid)
