"""`wildrydes models`: default models newest first, breeds with their newest model and metrics."""
from __future__ import annotations

from datetime import datetime, timezone

import boto3
from cli_helpers import MODEL_KEY, NEWER_KEY, aws_for, upload_model

from wildrydes_cli.settings import Settings
from wildrydes_cli.training.publish import publish_model
from wildrydes_cli.training.sagemaker_archive import write_model_archive

MODEL = write_model_archive([0.1] * 6, 0.0)   # publish_model refuses what the function could not serve


def test_lists_default_models_newest_first_and_breeds_with_metrics(wildrydes, boot):
    bucket = boot["bucket"]
    upload_model(bucket, MODEL_KEY)
    upload_model(bucket, NEWER_KEY)
    aws = aws_for(Settings(target="aws"))
    publish_model(aws, bucket, MODEL, breed="pegasus", now=datetime(2026, 11, 1, tzinfo=timezone.utc),
                  metrics={"auc": 0.81, "accuracy": 0.77})
    newest = publish_model(aws, bucket, MODEL, breed="pegasus", now=datetime(2026, 11, 2, tzinfo=timezone.utc),
                           metrics={"auc": 0.83})
    publish_model(aws, bucket, MODEL, breed="appaloosa", metrics={"auc": 0.7})
    result = wildrydes.json("models")
    assert [m["model_path"] for m in result["default_models"]] == [NEWER_KEY, MODEL_KEY]
    rows = {b["breed"]: b for b in result["breeds"]}
    assert set(rows) == {"appaloosa", "pegasus"}
    assert rows["pegasus"]["model_path"] == newest
    assert rows["pegasus"]["metrics"] == {"auc": 0.83}
    assert rows["pegasus"]["trained_at"].startswith("2026-11-02")

    text = wildrydes("models", json_output=False).stdout
    assert "pegasus" in text and "auc 0.830" in text and "2026-02-01-00-00-00-000" in text


def test_breed_without_index_is_reported_not_fatal(wildrydes, boot):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=boot["bucket"], Key="breeds/orphan/linear-learner-x/output/model.tar.gz", Body=b"m")
    s3.put_object(Bucket=boot["bucket"], Key="breeds/broken/latest.json", Body=b"{")
    rows = {b["breed"]: b for b in wildrydes.json("models", "--breeds-only")["breeds"]}
    assert "no latest.json" in rows["orphan"]["problem"]
    assert "not a valid index" in rows["broken"]["problem"]


def test_empty_bucket_says_how_to_train(wildrydes, boot):
    out = wildrydes("models", json_output=False).stdout
    assert "No models in s3://" in out and "wildrydes train" in out


def test_missing_bucket_is_a_clear_error(wildrydes, aws):
    result = wildrydes("models", "--bucket", "no-such-bucket-anywhere", json_output=False, expect=3)
    assert "no-such-bucket-anywhere" in result.stderr


def test_the_deployed_model_is_marked_and_keys_are_whole_when_piped(wildrydes, deployed, with_model):
    upload_model(with_model["bucket"], NEWER_KEY)     # newer than what is deployed
    result = wildrydes.json("models")
    assert result["deployed_model"] == MODEL_KEY
    assert [(m["model_path"], m["deployed"]) for m in result["default_models"]] == [(NEWER_KEY, False),
                                                                                  (MODEL_KEY, True)]
    lines = wildrydes("models", json_output=False).stdout.splitlines()   # piped: plain columns, whole keys
    assert any(line.startswith(MODEL_KEY) and line.endswith("<- deployed") for line in lines), lines
    assert any(line.startswith(NEWER_KEY) and "deployed" not in line for line in lines)
    assert not any(ch in "".join(lines) for ch in "│┃…")


def test_nothing_is_marked_without_a_deployment(wildrydes, with_model):
    result = wildrydes.json("models")
    assert result["deployed_model"] is None and not any(m["deployed"] for m in result["default_models"])


# ------------------------------------------------------------------ models --breed NAME: a breed's history

GOOD = write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0)   # the workshop's rule


def test_breed_history_lists_models_latest_and_how_latest_moved(wildrydes, boot):
    aws = aws_for(Settings(target="aws"))
    first = publish_model(aws, boot["bucket"], GOOD, breed="pony", now=datetime(2026, 11, 1, tzinfo=timezone.utc))
    tiny = ("train", "--breed", "pony", "--rows", "200", "--epochs", "1", "--trainer", "numpy")
    wildrydes(*tiny, expect=3, json_output=False)        # refused: not published, latest.json stays
    forced = wildrydes.json(*tiny, "--force")["model"]["key"]
    history = wildrydes.json("models", "--breed", "pony")
    assert history["breed"] == "pony" and history["latest"] == forced
    assert [m["model_path"] for m in history["models"]] == [forced, first]            # newest first
    assert [m["latest"] for m in history["models"]] == [True, False]
    assert history["models"][0]["card"]["metrics"]["auc"] > 0 and history["models"][1]["card"] is None
    newest, oldest = history["moves"]
    assert newest["key"] == forced and newest["how"] == "forced" and newest["previous"] == first
    assert newest["gate"]["candidate_value"] < newest["gate"]["served_value"] and newest["by"].startswith("arn:aws:")
    assert oldest["key"] == first and oldest["how"] == "not gated" and oldest["previous"] is None

    text = " ".join(wildrydes("models", "--breed", "pony", json_output=False).stdout.split())
    assert "Models of breed pony" in text and "<- latest.json" in text and "no metrics" in text
    assert "forced" in text and "not gated" in text and "auc 0." in text


def test_breed_history_says_when_latest_json_is_missing_or_moves_were_not_recorded(wildrydes, boot):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=boot["bucket"], Key="breeds/orphan/linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz",
                  Body=MODEL)
    result = wildrydes.json("models", "--breed", "orphan")
    assert result["latest"] is None and "no latest.json" in result["latest_problem"] and result["moves"] == []
    text = wildrydes("models", "--breed", "orphan", json_output=False).stdout
    assert "latest.json: no latest.json" in text and "none recorded" in text


def test_breed_history_bad_input(wildrydes, boot):
    aws = aws_for(Settings(target="aws"))
    publish_model(aws, boot["bucket"], MODEL, breed="appaloosa")
    unknown = wildrydes("models", "--breed", "pegasus", expect=3, json_output=False)
    message = " ".join(unknown.stderr.split())
    assert "breed 'pegasus' has no models in s3://" in message and "breeds here: appaloosa" in message
    assert "wildrydes train --breed pegasus" in message
    invalid = wildrydes("models", "--breed", "../x", expect=2, json_output=False)
    assert "invalid breed name '../x'" in invalid.stderr
    both = wildrydes("models", "--breed", "appaloosa", "--breeds-only", expect=2, json_output=False)
    assert "--breed shows one breed's history and --breeds-only lists every breed" in both.stderr
