"""What a person sees at a terminal (a pseudo-terminal at 80 columns) and a script sees through a pipe, with
the real executable against the local target: whole model keys, the deployed model marked, a breed's new model
and when it is served, `logs -f` saying it waits, and status's "last modified" following MODEL_PATH."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import warnings
from pathlib import Path

import pytest
from clitools import WILDRYDES
from ptytools import plain, run_in_pty

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TRAIN = ["train", "--rows", "2000", "--epochs", "2", "--trainer", "numpy"]
PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]
KEY = re.compile(r"(?:breeds/[a-z0-9-]+/)?linear-learner-\d{4}(?:-\d\d){5}-\d{3}/output/model\.tar\.gz")


@pytest.fixture(scope="module")
def made(cli):
    cli.run("bootstrap")
    first = cli.json(*TRAIN)
    deployed = cli.json("deploy", "--yes")
    second = cli.json(*TRAIN, "--seed", "3")            # newer than the deployed one
    breeds = cli.json(*TRAIN, "--breeds", "3")
    return {"first": first["model"]["key"], "second": second["model"]["key"], "deployed": deployed,
            "breeds": [b["key"] for b in breeds["breeds"]]}


def _tty(cli, *args: str, columns: int = 80) -> str:
    code, out = run_in_pty([str(WILDRYDES), *args], cli.env, columns=columns, cwd=str(cli.home))
    assert code == 0, plain(out)
    return plain(out).replace("\r\n", "\n")


def test_models_at_80_columns_shows_every_key_whole_and_marks_the_deployed_one(cli, made):
    shown = _tty(cli, "models")
    for key in (made["first"], made["second"], *made["breeds"]):
        assert key in shown, f"{key} cut at 80 columns:\n{shown}"
    assert "…" not in shown
    # too wide for a box at 80 columns: a block per model, its key first, then every column (none left out)
    blocks = {block.splitlines()[0]: block for block in shown.split("\n\n") if KEY.fullmatch(block.splitlines()[0])}
    assert set(blocks) >= {made["first"], made["second"]}, shown
    assert [key for key, block in blocks.items() if "<- deployed" in block] == [made["first"]]
    for key in (made["first"], made["second"]):
        assert re.search(r"validation +auc \d\.\d{3}, accuracy \d\.\d{3} on 200 validation rows", blocks[key]), shown
    assert "not shown at this width" not in shown


def test_models_piped_is_plain_and_complete(cli, made):
    out = cli.run("models").stdout
    assert not any(ch in out for ch in "│┃━…") and "\x1b[" not in out
    assert set(KEY.findall(out)) == {made["first"], made["second"], *made["breeds"]}


def test_train_breeds_at_80_columns_keeps_the_keys_whole(cli, made):
    shown = _tty(cli, *TRAIN, "--breeds", "2", "--seed", "5")
    keys = KEY.findall(shown)
    assert len(keys) == 2 and all(k.startswith("breeds/breed-000") for k in keys), shown


def test_a_breeds_new_model_is_announced_and_then_served(cli, made):
    cli.json(*TRAIN, "--breed", "pegasus")
    first = cli.json(*PREDICT, "--breed", "pegasus")         # loads the breed's newest: nothing newer
    assert "newer_model" not in first
    trained = cli.json(*TRAIN, "--breed", "pegasus", "--seed", "9")
    assert trained["served_by"] == {"function": made["deployed"]["function_name"], "refresh_seconds": 60.0,
                                    "source": "default"}
    assert "within 60 s (MODEL_REFRESH_SECONDS, the default)" in cli.run(*TRAIN, "--breed", "pegasus",
                                                                          "--seed", "11").stdout
    newest = cli.json("models", "--breeds-only")
    published = next(b["model_path"] for b in newest["breeds"] if b["breed"] == "pegasus")
    answer = cli.json(*PREDICT, "--breed", "pegasus")        # the warm function still has the first model
    assert answer["model_path"] == first["model_path"] != published
    assert answer["newer_model"]["model_path"] == published and answer["newer_model"]["refresh_seconds"] == 60.0
    text = cli.run(*PREDICT, "--breed", "pegasus").stdout
    assert "a newer one is published" in text and published in text


def test_status_last_modified_follows_model_path(cli, made):
    before = cli.json("status")["function"]["last_modified"]
    time.sleep(0.05)
    again = cli.json("deploy", "--yes")
    assert again["model_path"] == made["second"]              # the newest: MODEL_PATH changed
    after = cli.json("status")["function"]["last_modified"]
    assert after > before


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child before exec: SIGINT at its default and unblocked, as a shell gives a command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _signal_state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "(gone)"
    return " ".join(line for line in status.splitlines() if line.startswith(("State", "Sig", "ShdPnd", "Threads")))


def test_logs_follow_says_it_is_waiting(cli, made, tmp_path):
    """The waiting line, over a real process. That Ctrl-C ends it cleanly is held in-process by
    tests/observe/test_logs_command.py; here the command is stopped with Ctrl-C, and killed if that fails."""
    # stdout to a file, not a pipe: the last minute's events could fill a pipe nobody reads and block the exit
    with open(tmp_path / "events.txt", "w") as events:
        proc = subprocess.Popen([str(WILDRYDES), "logs", "-f", "--since", "1m"], cwd=cli.home, env=cli.env,
                                stdin=subprocess.DEVNULL, stdout=events, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        line = proc.stderr.readline()                          # the first thing it says, before any poll ends
        assert line.startswith("Waiting for new events in /aws/lambda/") and "Ctrl-C" in line, line
    finally:
        os.kill(proc.pid, signal.SIGINT)                       # Ctrl-C, to the command alone
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Seen only in the parallel full suite on a loaded machine, cause not found yet: say what the
            # process's signal state was, then stop it.
            warnings.warn(f"logs -f did not stop on SIGINT within 30 s: {_signal_state(proc.pid)}", stacklevel=1)
            proc.kill()
            proc.wait()
        finally:
            proc.stderr.close()


def test_local_status_exits_3_once_stopped(cli, made):
    assert cli.run("local", "status").returncode == 0
    cli.run("local", "stop")
    stopped = cli.run("--output", "json", "local", "status", check=False)
    assert stopped.returncode == 3 and json.loads(stopped.stdout)["running"] is False
