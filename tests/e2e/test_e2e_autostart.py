"""A command that needs the local target starts the emulator itself, and `local stop` ends it."""
from __future__ import annotations

import json

import emulated
import pytest

pytestmark = [pytest.mark.e2e]


def test_bootstrap_starts_the_emulator_when_it_is_not_running(cli):
    stopped = cli.run("--output", "json", "local", "status", check=False)
    assert stopped.returncode == 3 and json.loads(stopped.stdout)["running"] is False   # one object, exit 3
    assert "not running" in cli.run("local", "status", check=False).stdout
    booted = cli.json("bootstrap")
    assert booted["bucket"]
    status = cli.json("local", "status")
    assert status["running"] is True and status["port"] == cli.port
    pid = status["pid"]
    cli.run("local", "stop")
    assert emulated.pid_gone(pid)
    assert cli.json("local", "status", check=False)["running"] is False
