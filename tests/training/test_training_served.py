"""`train --breed` says when the deployed function serves the new model; `predict --breed` says when
the function answered with the breed's previous one (a warm function re-reads the index on a timer)."""
from __future__ import annotations

import json

import boto3
import pytest

from wildrydes_cli import layout

TRAIN = ["train", "--rows", "2000", "--epochs", "2", "--trainer", "numpy"]


def test_the_default_matches_the_functions_own():
    import config  # lambda/config.py: the deployed function's default
    assert layout.DEFAULT_REFRESH_SECONDS == config.DEFAULT_REFRESH_SECONDS


def test_train_breed_names_the_function_and_its_refresh(wildrydes, deployed):
    result = wildrydes.json(*TRAIN, "--breed", "pegasus")
    assert result["served_by"] == {"function": deployed["function_name"], "refresh_seconds": 60.0,
                                   "source": "default"}
    text = wildrydes(*TRAIN, "--breed", "pegasus", json_output=False).stdout
    assert (f"served by {deployed['function_name']} within 60 s (MODEL_REFRESH_SECONDS, the default)") in text


def test_the_functions_own_refresh_setting_is_read(wildrydes, deployed):
    lam = boto3.client("lambda")
    env = lam.get_function_configuration(FunctionName=deployed["function_name"])["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=deployed["function_name"],
                                      Environment={"Variables": {**env, "MODEL_REFRESH_SECONDS": "5"}})
    result = wildrydes.json(*TRAIN, "--breed", "pegasus")
    assert result["served_by"]["refresh_seconds"] == 5.0 and result["served_by"]["source"] == "function"
    text = wildrydes(*TRAIN, "--breed", "pegasus", json_output=False).stdout
    assert "within 5 s (its MODEL_REFRESH_SECONDS)" in text


def test_without_a_deployed_function_it_says_so(wildrydes, boot):
    result = wildrydes.json(*TRAIN, "--breed", "pegasus")
    assert result["served_by"] is None
    text = wildrydes(*TRAIN, "--breed", "pegasus", json_output=False).stdout
    assert "no deployed function reads this bucket yet" in text
    assert wildrydes.json(*TRAIN)["served_by"] is None          # a default model: deploy serves it


@pytest.mark.parametrize("served, expected", [("old", True), ("new", False)])
def test_predict_breed_compares_with_the_published_model(wildrydes, deployed, served, expected):
    from wildrydes_cli.aws.target import target_for
    from wildrydes_cli.deployment_record import Deployment
    from wildrydes_cli.observe.predict import newer_breed_model
    from wildrydes_cli.settings import Settings
    key = "breeds/pegasus/linear-learner-2026-12-03-00-00-00-000/output/model.tar.gz"
    boto3.client("s3").put_object(Bucket=deployed["bucket"], Key="breeds/pegasus/latest.json",
                                  Body=json.dumps({"key": key, "trained_at": "2026-12-03T00:00:00Z"}))
    deployment = Deployment(stack=deployed["stack"], bucket=deployed["bucket"], function_name=deployed["function_name"],
                            api_id=deployed["api_id"], invoke_url=deployed["invoke_url"], model_path="m",
                            engine="lean", runtime="python3.13")
    target = target_for(Settings(target="aws", scratchpad=wildrydes.scratchpad, account="123456789012"))
    newer = newer_breed_model(target, deployment, "pegasus", key.replace("00-00-00", "23-59-59") if served == "old"
                              else key)
    assert (newer is not None) is expected
    if expected:
        assert newer == {"model_path": key, "trained_at": "2026-12-03T00:00:00Z", "refresh_seconds": 60.0}
