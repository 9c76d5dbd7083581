"""Shipping a new model on the local target, with the real executable over real HTTP: train (metrics
beside the model), deploy, evaluate the served model offline, a worse model refused by the gate while
the endpoint keeps answering with the served one, forced, then rolled back from the history."""
from __future__ import annotations

import json

import pytest
from clitools import curl_post

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RIDE = json.dumps({"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0})
TRAIN = ("train", "--trainer", "numpy")


def test_a_worse_model_is_refused_then_forced_then_rolled_back(cli):
    try:
        cli.run("local", "start")
        cli.run("bootstrap")
        good = cli.json(*TRAIN, "--rows", "5000", "--epochs", "5")["model"]["key"]
        url = cli.json("deploy", "--yes")["invoke_url"]
        served = cli.json("evaluate", "--deployed", "--rows", "5000")
        assert served["model"] == good and served["card"]["data"]["rows"] == 5000 and served["synthetic"] is True

        tiny = cli.json(*TRAIN, "--rows", "20", "--epochs", "1", "--seed", "3")
        assert any("trained on only 18 rows" in flag for flag in tiny["flags"])
        refused = cli.run("deploy", "--yes", check=False)
        assert refused.returncode == 3 and "more than --max-regression 0.01" in " ".join(refused.stderr.split())
        status, body = curl_post(url, RIDE)
        assert status == 200 and body["model_path"] == good        # nothing changed

        cli.json("deploy", "--yes", "--force")
        status, body = curl_post(url, RIDE)
        assert body["model_path"] == tiny["model"]["key"]
        back = cli.json("rollback")
        assert back["model_path"] == good
        status, body = curl_post(url, RIDE)
        assert status == 200 and body["model_path"] == good
        actions = [(e["action"], e["model_path"]) for e in cli.json("history")["entries"]]
        assert actions == [("rollback", good), ("deploy", tiny["model"]["key"]), ("deploy", good)]
    finally:
        cli.run("cleanup", check=False)
        cli.run("local", "stop", check=False)
