"""Bad input while the local daemon runs, with the real executable:
`local start --port P` when it listens on Q, WILDRYDES_LOCAL_PORT out of range, a bad region, and
`status` after the emulator restarted empty (the recorded deployment is gone)."""
from __future__ import annotations

import json
import subprocess

import emulated
import pytest
from clitools import WILDRYDES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TRAIN = ["train", "--rows", "2000", "--epochs", "2", "--trainer", "numpy"]


@pytest.fixture(scope="module")
def running(cli):
    started = cli.json("local", "start")
    assert started["running"] and started["port"] == cli.port
    return started


def test_start_on_another_port_while_running_says_where_it_runs(cli, running):
    other = emulated.free_port()
    proc = cli.run("local", "start", "--port", str(other), check=False)
    assert proc.returncode == 2, proc.stderr
    assert (f"The emulator is already running on port {cli.port} (pid {running['pid']}), not {other}: to move it, "
            f"run `wildrydes local stop`, then `wildrydes local start --port {other}`") in proc.stderr
    # the same port, or 0 (any port), is the daemon already running: fine
    assert cli.json("local", "start", "--port", str(cli.port))["already_running"] is True
    assert cli.json("local", "start", "--port", "0")["already_running"] is True
    assert cli.json("local", "status")["pid"] == running["pid"]


@pytest.mark.parametrize("value", ["99999", "-1", "http", "4566.0"])
@pytest.mark.parametrize("command", [["local", "status"], ["status"], ["local", "env"]])
def test_bad_port_variable_is_refused_while_the_daemon_runs(cli, running, value, command):
    env = {**cli.env, "WILDRYDES_LOCAL_PORT": value}
    proc = subprocess.run([str(WILDRYDES), *command], cwd=cli.home, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert (f"WILDRYDES_LOCAL_PORT must be a port number from 1 to 65535 (or 0 for any free port), "
            f"got {value!r}.") in proc.stderr
    assert cli.json("local", "status")["pid"] == running["pid"]   # untouched


def test_bad_region_on_the_running_emulator_is_a_usage_error(cli, running):
    proc = cli.run("--region", "xx-nowhere-9", "deploy", "--yes", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "--region 'xx-nowhere-9' is not an AWS region name (e.g. us-east-1" in proc.stderr
    proc = cli.run("--region", "us-nowhere-9", "status", check=False)
    assert proc.returncode == 2 and "is not a region the local emulator serves" in proc.stderr


def test_status_after_the_emulator_restarted_says_the_deployment_is_gone(cli, running):
    cli.run("bootstrap")
    cli.run(*TRAIN)
    cli.run("deploy", "--yes")
    assert cli.json("status")["up_to_date"] is True
    cli.run("local", "stop")
    assert emulated.pid_gone(running["pid"])
    # An emulator that keeps state across restarts (the persist branch) starts empty with --fresh.
    fresh = ["--fresh"] if "--fresh" in cli.run("local", "start", "--help").stdout else []
    cli.run("local", "start", *fresh)
    status = cli.json("status")
    assert status["up_to_date"] is False and status["function"] is None
    assert "function" in status["missing"] and "API" in status["missing"]
    text = " ".join(cli.run("status").stdout.split())   # rich may wrap long lines
    assert "The recorded deployment is gone: stack, function, API missing (the local emulator started empty " \
        "since that deploy); run `wildrydes deploy` to deploy again." in text
    assert "up to date" in text and "yes" not in text.split("up to date", 1)[1]
    json.dumps(status)  # one JSON object
    cli.run("local", "stop")
