"""A canary on the local target, with the real executable over real HTTP: both models answer through the
alias while it runs (each response's model_path says which), rollback returns every request to the
served model in one step, and promote sends every request to the new one."""
from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from emulated import http

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RIDE = json.dumps({"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0})
TRAIN = ("train", "--trainer", "numpy", "--rows", "5000", "--epochs", "5")
REQUESTS = 200


def _answers(url: str, count: int = REQUESTS) -> Counter:
    seen: Counter = Counter()
    for _ in range(count):
        status, _, data = http("POST", url, RIDE, {"Content-Type": "application/json"})
        assert status == 200, data
        seen[json.loads(data)["model_path"]] += 1
    return seen


def test_canary_serves_both_models_then_rollback_and_promote_serve_one(cli):
    try:
        cli.run("local", "start")
        cli.run("bootstrap")
        served = cli.json(*TRAIN)["model"]["key"]
        url = cli.json("deploy", "--yes")["invoke_url"]
        new = cli.json(*TRAIN, "--seed", "7")["model"]["key"]
        started = cli.json("deploy", "--yes", "--canary", "50", "--max-regression", "0.05")
        assert started["canary"]["candidate_model"] == new and started["canary"]["stable_model"] == served
        seen = _answers(url)
        assert set(seen) == {served, new}, seen
        assert 0.35 <= seen[new] / REQUESTS <= 0.65, seen   # 50% asked; a binomial of 200 stays well inside
        status = cli.run("status").stdout
        assert "canary: 50% to" in " ".join(status.split())
        time.sleep(0.5)   # the runner writes logs in batches (every 0.2 s), as Lambda delivers them
        starts = {e["message"] for e in cli.json("logs", "--since", "10m", "--filter", "START")["events"]}
        for version in (started["canary"]["stable_version"], started["canary"]["candidate_version"]):
            assert any(m.endswith(f"Version: {version}") for m in starts), starts   # each version's own lines
        cli.run("local", "stop")            # the versions and the alias's weights are kept across a restart
        cli.run("local", "start")
        assert set(_answers(url, 100)) == {served, new}

        back = cli.json("rollback")
        assert back["action"] == "rollback" and back["model_path"] == served
        assert _answers(url, 50) == Counter({served: 50})

        # the rollback pinned the served model: trying the newest again is asked for by name
        cli.json("deploy", "--yes", "--canary", "50", "--max-regression", "0.05", "--model-path", "newest")
        assert set(_answers(url, 100)) == {served, new}
        promoted = cli.json("promote")
        assert promoted["model_path"] == new
        assert _answers(url, 50) == Counter({new: 50})
        actions = [(e["action"], e["model_path"]) for e in cli.json("history")["entries"]]
        assert actions[:4] == [("promote", new), ("canary", new), ("rollback", served), ("canary", new)]
    finally:
        cli.run("cleanup", check=False)
        cli.run("local", "stop", check=False)


def test_a_canary_killed_after_latest_got_the_new_model_serves_the_old_one_and_running_it_again_completes_it(cli):
    try:
        cli.run("local", "start")
        cli.run("bootstrap")
        served = cli.json(*TRAIN)["model"]["key"]
        url = cli.json("deploy", "--yes")["invoke_url"]
        new = cli.json(*TRAIN, "--seed", "7")["model"]["key"]
        cli.env["WILDRYDES_FAULT_KILL_AT"] = "canary-candidate-published"
        try:
            killed = cli.run("deploy", "--yes", "--canary", "50", "--max-regression", "0.05", check=False)
        finally:
            del cli.env["WILDRYDES_FAULT_KILL_AT"]
        assert killed.returncode == -9, (killed.returncode, killed.stderr)
        assert _answers(url, 50) == Counter({served: 50})   # the API on the alias, the served model's version alone

        again = cli.json("deploy", "--yes", "--canary", "50", "--max-regression", "0.05")
        assert again["canary"]["stable_model"] == served and again["canary"]["candidate_model"] == new
        assert set(_answers(url, 100)) == {served, new}

        promoted = cli.json("promote")
        assert promoted["model_path"] == new and promoted["pinned"] is True
        newer = cli.json(*TRAIN, "--seed", "11")["model"]["key"]
        kept = cli.json("deploy", "--yes")           # the promoted model stays: a newer one waits for newest
        assert kept["model_path"] == new and newer != new
        assert _answers(url, 20) == Counter({new: 20})
    finally:
        cli.run("cleanup", check=False)
        cli.run("local", "stop", check=False)
