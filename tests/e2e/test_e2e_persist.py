"""The local target keeps the user's work, with the real executable:
bootstrap, train, deploy, predict; ``local stop`` + ``local start``: the same invoke URL
answers the same score; ``kill -9`` of the daemon, start again: it still does;
``--fresh`` and ``local reset`` start empty."""
from __future__ import annotations

import os
import re
import signal
import stat

import emulated
import pytest
from clitools import curl_post

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKSHOP = emulated.WORKSHOP_BODY
PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]


@pytest.fixture(scope="module")
def deployed(cli):
    cli.json("local", "start")
    cli.run("bootstrap")
    cli.run("train", "--rows", "3000", "--epochs", "3")
    cli.run("train", "--rows", "3000", "--epochs", "3", "--breed", "pegasus")
    deploy = cli.json("deploy", "--yes")
    status, body = curl_post(deploy["invoke_url"], WORKSHOP)
    assert status == 200, body
    return {"deploy": deploy, "score": body["score"], "models": cli.json("models"), "status": _status(cli)}


def _status(cli) -> dict:
    """``wildrydes status`` without the function's LastModified (the replay's time, by design)."""
    out = cli.json("status")
    assert out["deployed"] and out["api_id"] and out["up_to_date"], out
    (out.get("function") or {}).pop("last_modified", None)
    return out


def _same_work(cli, deployed) -> None:
    url = deployed["deploy"]["invoke_url"]
    status, body = curl_post(url, WORKSHOP)
    assert status == 200, body
    assert body["score"] == pytest.approx(deployed["score"], rel=1e-12)
    assert body["model_path"] == deployed["deploy"]["model_path"]
    status, breed = curl_post(url + "breeds/pegasus", WORKSHOP)
    assert status == 200, breed
    assert cli.json(*PREDICT)["score"] == pytest.approx(deployed["score"], rel=1e-12)
    assert cli.json("models") == deployed["models"]
    assert _status(cli) == deployed["status"]  # stacks, function, API, invoke URL, models: all as before


def test_stop_then_start_keeps_bucket_models_stack_function_and_api(cli, deployed):
    pid = cli.daemon_pid()
    cli.run("local", "stop")
    assert emulated.pid_gone(pid)
    started = cli.json("local", "start")
    assert started["pid"] != pid
    _same_work(cli, deployed)


def test_journal_is_private_and_holds_no_signature(cli, deployed):
    journal_dir = cli.home / "state" / "local" / "journal"
    assert stat.S_IMODE((journal_dir / "journal.bin").stat().st_mode) == 0o600
    assert stat.S_IMODE(journal_dir.stat().st_mode) == 0o700
    data = (journal_dir / "journal.bin").read_bytes()
    signatures = re.findall(rb"Signature=([0-9a-f]*)", data)
    assert signatures and set(signatures) == {b"0"}  # only the credential scope moto needs is kept
    assert b"X-Amz-Security-Token" not in data
    assert b'"target"' in data   # each record names its request target: the check below reads them
    # endpoint traffic is never journaled: no request to an execute-api URL (function.yml itself names the
    # form of that URL in its outputs, so the template inside a CreateStack record may)
    assert re.search(rb'"target": ?"[^"]*_user_request_', data) is None


def _kept_lines(cli) -> list[tuple]:
    """``wildrydes logs`` as data, without the event ids (moto numbers them afresh at each start)."""
    events = cli.json("logs", "--since", "1h")["events"]
    return [(e["timestamp"], e["logStreamName"], e["message"], e["requestId"]) for e in events]


def _logged(cli, request_id: str) -> bool:
    return any(line[3] == request_id for line in _kept_lines(cli))


def test_log_events_survive_stop_start_and_kill_9(cli, deployed):
    import time

    status, _ = curl_post(deployed["deploy"]["invoke_url"] + "breeds/pegasus", WORKSHOP)
    assert status == 200
    cli.json(*PREDICT)
    time.sleep(0.6)   # the runner hands log lines over in batches every 0.2 s
    before = _kept_lines(cli)
    last = next(line[3] for line in reversed(before) if line[2].startswith("REPORT RequestId: "))
    pid = cli.daemon_pid()
    cli.run("local", "stop")
    assert emulated.pid_gone(pid)
    cli.json("local", "start")
    assert _kept_lines(cli)[:len(before)] == before          # the same lines, stamps and streams, in order
    assert _logged(cli, last)
    reports = cli.json("logs", "--since", "1h", "--filter", "REPORT")["events"]
    assert reports and all(e["message"].startswith("REPORT RequestId: ") for e in reports)
    pegasus = cli.json("logs", "--since", "1h", "--breed", "pegasus")["events"]
    assert any("breed=pegasus" in e["message"] for e in pegasus)
    assert all("breed=-" not in e["message"] for e in pegasus)
    store = cli.home / "state" / "local" / "logs"
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in store.iterdir()} == {0o600}

    cli.json(*PREDICT)     # a crash: no shutdown code runs, the last batch was only written, not synced
    time.sleep(0.6)
    crashed = next(line[3] for line in reversed(_kept_lines(cli)) if line[2].startswith("REPORT RequestId: "))
    pid = cli.daemon_pid()
    os.kill(pid, signal.SIGKILL)
    assert emulated.pid_gone(pid)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    cli.json("local", "start")
    assert _logged(cli, crashed) and _logged(cli, last)


def test_kill_9_then_start_keeps_the_work(cli, deployed):
    pid = cli.daemon_pid()
    os.kill(pid, signal.SIGKILL)  # a crash: no shutdown code runs
    assert emulated.pid_gone(pid)
    try:
        os.killpg(pid, signal.SIGKILL)  # its orphaned Lambda workers, so the test leaves nothing behind
    except ProcessLookupError:
        pass
    cli.json("local", "start")
    _same_work(cli, deployed)


def test_retrain_stop_compact_start_keeps_the_work_and_the_invoke_url(cli, deployed):
    """A retrained breed rewrites its latest.json: ``local compact`` drops the superseded one (refused
    while the daemon runs), and the next start still serves both models at the same invoke URL."""
    for seed in ("7", "8"):   # twice: the deploy read the first index (a reader pins it), not the second
        cli.run("train", "--rows", "3000", "--epochs", "3", "--breed", "pegasus", "--seed", seed)
    deployed["models"], deployed["status"] = cli.json("models"), _status(cli)   # the retrain is part of the work
    url = deployed["deploy"]["invoke_url"]
    cli.run("local", "stop")      # a cold function: it reads the newest index (far under what start compacts)
    cli.json("local", "start")
    status, breed = curl_post(url + "breeds/pegasus", WORKSHOP)
    assert status == 200, breed
    newest = {b["breed"]: b["model_path"] for b in deployed["models"]["breeds"]}["pegasus"]
    assert newest and breed["model_path"].endswith(newest), (breed, newest)
    refused = cli.run("local", "compact", check=False)
    assert refused.returncode == 5
    assert "The emulator is running" in refused.stderr and "wildrydes local stop" in refused.stderr
    pid = cli.daemon_pid()
    cli.run("local", "stop")
    assert emulated.pid_gone(pid)
    out = cli.json("local", "compact")
    assert out["compacted"] is True and out["records_after"] < out["records_before"], out
    assert out["bytes_after"] < out["bytes_before"]
    cli.json("local", "start")
    _same_work(cli, deployed)
    status, again = curl_post(url + "breeds/pegasus", WORKSHOP)
    assert status == 200 and again["score"] == pytest.approx(breed["score"], rel=1e-12)
    assert again["model_path"] == breed["model_path"]


def test_fresh_is_refused_while_running(cli, deployed):
    out = cli.run("local", "start", "--fresh", check=False)
    assert out.returncode != 0
    assert "already running" in out.stderr and "local stop" in out.stderr


def test_reset_refuses_without_a_terminal_unless_yes(cli, deployed):
    out = cli.run("local", "reset", check=False)  # stdin is not a terminal here
    assert out.returncode != 0
    assert "--yes" in out.stderr
    _same_work(cli, deployed)  # nothing was erased


def test_start_fresh_starts_empty(cli, deployed):
    url = deployed["deploy"]["invoke_url"]
    pid = cli.daemon_pid()
    cli.run("local", "stop")
    assert emulated.pid_gone(pid)
    assert list((cli.home / "state" / "local" / "logs").glob("*.jsonl*"))   # events were kept ...
    cli.json("local", "start", "--fresh")
    assert not list((cli.home / "state" / "local" / "logs").glob("*.jsonl*"))   # ... and are erased
    status, body = curl_post(url, WORKSHOP)
    assert status == 403, body  # the API is gone: Missing Authentication Token
    out = cli.run("models", check=False)
    assert out.returncode != 0


def test_reset_yes_erases_and_the_next_start_is_empty(cli, deployed):
    cli.run("bootstrap")
    pid = cli.daemon_pid()
    out = cli.json("local", "reset", "--yes")
    assert out["running"] is False and out["pid"] == pid
    assert emulated.pid_gone(pid)
    assert not (cli.home / "state" / "local" / "journal").exists()
    cli.json("local", "start")
    assert cli.run("models", check=False).returncode != 0  # no bucket any more
    cli.run("local", "stop")
