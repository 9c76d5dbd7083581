"""The deploy history in the data bucket (who served what, when, with its metrics) and `rollback`."""
from __future__ import annotations

import boto3
from cli_helpers import upload_model

from wildrydes_cli.aws.client import Aws
from wildrydes_cli.errors import AwsError
from wildrydes_cli.training.sagemaker_archive import write_model_archive

GOOD = write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0)
ALSO_GOOD = write_model_archive([-0.5, 0.0, 0.0101, 0.0, 0.0, 0.0], 0.0)
KEYS = [f"linear-learner-2026-0{month}-01-00-00-00-000/output/model.tar.gz" for month in (3, 4)]


def _served(function: str) -> str:
    config = boto3.client("lambda").get_function_configuration(FunctionName=function)
    return config["Environment"]["Variables"]["MODEL_PATH"]


def test_history_lists_each_deploy_and_rollback_serves_the_previous_model(wildrydes, boot):
    upload_model(boot["bucket"], KEYS[0], GOOD)
    first = wildrydes.json("deploy")
    trained = wildrydes.json("train", "--rows", "2000", "--epochs", "2", "--trainer", "numpy")["model"]["key"]
    wildrydes.json("deploy", "--force")
    entries = wildrydes.json("history")["entries"]
    assert [e["model_path"] for e in entries] == [trained, KEYS[0]]
    caller = boto3.client("sts").get_caller_identity()["Arn"]
    assert {e["by"] for e in entries} == {caller} and entries[0]["previous_model"] == KEYS[0]
    assert entries[0]["metrics"]["auc"] > 0.9 and entries[0]["data"]["rows"] == 2000 and entries[1]["metrics"] is None
    assert entries[0]["gate"]["candidate_value"] is not None

    back = wildrydes.json("rollback")
    assert back["model_path"] == KEYS[0] and back["pinned"] is True and _served(first["function_name"]) == KEYS[0]
    latest = wildrydes.json("history", "--limit", "1")["entries"]
    assert len(latest) == 1 and latest[0]["action"] == "rollback" and latest[0]["previous_model"] == trained
    text = wildrydes("history", json_output=False).stdout
    assert "rollback" in text and "no metrics" in text and KEYS[0] in text


def test_rollback_without_a_previous_model_or_a_deployment_is_a_usage_error(wildrydes, boot, monkeypatch):
    nothing = wildrydes("rollback", expect=2, json_output=False)
    assert "Nothing is deployed, so there is nothing to roll back" in nothing.stderr
    upload_model(boot["bucket"], KEYS[0], GOOD)
    with monkeypatch.context() as patch:   # a history that cannot be written does not fail the deploy
        real = Aws.put_object

        def refuse_history(self, bucket, key, body, content_type):
            if key.startswith("deploy-history/"):
                raise AwsError("Could not upload: AccessDenied")
            return real(self, bucket, key, body, content_type)
        patch.setattr(Aws, "put_object", refuse_history)
        wildrydes.json("deploy")
    assert wildrydes.json("history")["entries"] == []
    alone = wildrydes("rollback", expect=2, json_output=False)
    assert "No previous model in the deploy history" in alone.stderr and "--to KEY" in alone.stderr
    missing = wildrydes("rollback", "--to", KEYS[1], expect=3, json_output=False)
    assert f"No model at s3://{boot['bucket']}/{KEYS[1]}" in missing.stderr
    upload_model(boot["bucket"], KEYS[1], ALSO_GOOD)
    to = wildrydes.json("rollback", "--to", KEYS[1])
    assert to["model_path"] == KEYS[1] and _served(to["function_name"]) == KEYS[1] and to["gate"] is None
