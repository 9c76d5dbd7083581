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
    booting = cli.run("--output", "json", "bootstrap")
    assert json.loads(booting.stdout)["bucket"]    # stdout stays one JSON object: the notice is on stderr
    status = cli.json("local", "status")
    assert status["running"] is True and status["port"] == cli.port
    pid = status["pid"]
    # a process now runs in the background: the command that started it says so, with how to stop it
    assert booting.stderr.splitlines()[:2] == [
        f"Started the local emulator (pid {pid}, port {cli.port}) in the background.",
        "It keeps running for the next commands: `wildrydes local stop` stops it."]
    again = cli.run("--output", "json", "status")
    assert "Started" not in again.stderr       # once: the next command finds it running
    cli.run("local", "stop")
    assert emulated.pid_gone(pid)
    assert cli.json("local", "status", check=False)["running"] is False
