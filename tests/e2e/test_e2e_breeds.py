"""One deployed function serving a model per breed, over real HTTP on the local target:
train several synthetic breeds, deploy once, score each breed through /breeds/{breed},
`predict --breed` and `models` agree, a newer breed model is picked up after the
refresh interval without redeploying, and bad or unknown breeds are refused."""
from __future__ import annotations

import json
import time

import emulated
import pytest
from clitools import curl_post

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BREEDS = ["breed-0001", "breed-0002", "breed-0003"]
PREDICT = ["predict", "--distance", "30", "--healthpoints", "300", "--magicpoints", "300",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]
RIDE = json.dumps({"distance": 30, "healthpoints": 300, "magicpoints": 300, "TMAX": 333, "TMIN": 300, "PRCP": 0})


@pytest.fixture(scope="module")
def deployed(cli):
    cli.run("local", "start")
    cli.run("bootstrap")
    cli.run("train", "--rows", "2000", "--epochs", "3")
    trained = cli.json("train", "--breeds", str(len(BREEDS)), "--rows", "2000", "--epochs", "3")
    deploy = cli.json("deploy", "--yes")
    yield {"deploy": deploy, "trained": trained, "url": deploy["invoke_url"]}
    cli.run("cleanup", check=False)
    cli.run("local", "stop", check=False)


def test_each_breed_is_served_by_its_own_model(cli, deployed):
    scores = {}
    for breed in BREEDS:
        status, body = curl_post(deployed["url"] + f"breeds/{breed}", RIDE)
        assert status == 200, body
        assert body["breed"] == breed and body["model_path"].startswith(f"breeds/{breed}/linear-learner-")
        scores[breed] = body["score"]
    assert len({round(s, 6) for s in scores.values()}) == len(BREEDS), scores
    predicted = cli.json(*PREDICT, "--breed", BREEDS[1])
    assert predicted["score"] == pytest.approx(scores[BREEDS[1]], rel=1e-9)
    # the root keeps serving the default model
    status, body = curl_post(deployed["url"], RIDE)
    assert status == 200 and not body["model_path"].startswith("breeds/")


def test_models_lists_the_breeds_the_function_serves(cli, deployed):
    listed = cli.json("models")
    assert [b["breed"] for b in listed["breeds"]] == BREEDS
    status, _, data = emulated.http("GET", deployed["url"] + "breeds")
    assert status == 200 and json.loads(data)["breeds"] == BREEDS


def test_unknown_and_invalid_breeds(cli, deployed):
    status, body = curl_post(deployed["url"] + "breeds/no-such-breed", RIDE)
    assert status == 404 and "unknown breed 'no-such-breed'" in body["error"]
    status, body = curl_post(deployed["url"] + "breeds/Bad_Name", RIDE)
    assert status == 400 and "invalid breed name" in body["error"]
    result = cli.run(*PREDICT, "--breed", "no-such-breed", check=False)
    assert result.returncode != 0 and "no-such-breed" in result.stderr


def test_newer_breed_model_is_served_after_the_refresh_interval(cli, deployed):
    clients = emulated.clients(f"http://127.0.0.1:{cli.port}", state_dir=cli.home / "state")
    function = deployed["deploy"]["function_name"]
    config = clients["lambda"].get_function_configuration(FunctionName=function)
    env = dict(config["Environment"]["Variables"], MODEL_REFRESH_SECONDS="1")
    clients["lambda"].update_function_configuration(FunctionName=function, Environment={"Variables": env})
    before = curl_post(deployed["url"] + f"breeds/{BREEDS[0]}", RIDE)[1]
    other = curl_post(deployed["url"] + f"breeds/{BREEDS[2]}", RIDE)[1]
    cli.run("train", "--breed", BREEDS[0], "--seed", "99", "--rows", "2000", "--epochs", "3")
    deadline = time.monotonic() + 15
    while True:
        after = curl_post(deployed["url"] + f"breeds/{BREEDS[0]}", RIDE)[1]
        if after["model_path"] != before["model_path"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert after["model_path"] != before["model_path"], "the newer model was not picked up"
    assert curl_post(deployed["url"] + f"breeds/{BREEDS[2]}", RIDE)[1] == other


def test_a_breeds_history_shows_its_models_and_each_move_of_latest(cli, deployed):
    """After the newer model above (or alone: --breeds published the first): every model of the breed,
    the one latest.json names, and how latest.json moved, read from the emulator's S3."""
    first = next(b["key"] for b in deployed["trained"]["breeds"] if b["breed"] == BREEDS[1])
    newer = cli.json("train", "--breed", BREEDS[1], "--seed", "98", "--rows", "2000", "--epochs", "3")
    history = cli.json("models", "--breed", BREEDS[1])
    assert [m["model_path"] for m in history["models"]] == [newer["model"]["key"], first]
    assert history["latest"] == newer["model"]["key"] and history["models"][0]["latest"] is True
    assert [m["how"] for m in history["moves"]] == ["gate passed", "not gated"]
    assert history["moves"][0]["previous"] == first and history["moves"][0]["by"].startswith("arn:aws:")
    unknown = cli.run("models", "--breed", "no-such-breed", check=False)
    assert unknown.returncode == 3 and "breed 'no-such-breed' has no models" in unknown.stderr
