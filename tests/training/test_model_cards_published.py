"""Every model `train` publishes carries its metrics.json; `models` and `status` show it, or "no metrics"."""
from __future__ import annotations

import hashlib
import json

import boto3
from cli_helpers import MODEL_KEY, upload_model
from ride_files import write_csv

from wildrydes_cli.training.synthetic import generate_rides

FAST = ("--rows", "2000", "--epochs", "2", "--trainer", "numpy")


def _card(bucket: str, model_key: str) -> dict:
    s3 = boto3.client("s3")
    key = model_key.replace("model.tar.gz", "metrics.json")
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_published_model_has_its_metrics_and_data_beside_it(wildrydes, boot):
    result = wildrydes.json("train", *FAST)
    key = result["model"]["key"]
    assert result["model"]["metrics_key"] == key.replace("model.tar.gz", "metrics.json")
    card = _card(boot["bucket"], key)
    model = boto3.client("s3").get_object(Bucket=boot["bucket"], Key=key)["Body"].read()
    assert card["model_sha256"] == hashlib.sha256(model).hexdigest()
    assert card["metrics"] == result["metrics"]
    assert card["data"]["source"] == "synthetic" and card["data"]["rows"] == 2000
    assert card["data"]["train_rows"] + card["data"]["validation_rows"] == 2000
    assert 0.5 < card["data"]["label_share"] < 1.0 and card["trainer"] == "numpy" and card["epochs"] == 2
    assert card["flags"] == result["flags"]


def test_a_model_trained_on_a_file_names_it_with_its_sha256_and_dates(wildrydes, boot, tmp_path):
    rides = tmp_path / "rides.csv"
    write_csv(generate_rides(300, seed=3), rides)
    lines = rides.read_text().splitlines()
    dated = [lines[0] + ",statustime"] + [f"{line},2019-0{1 + i % 9}-15 10:00:00" for i, line in enumerate(lines[1:])]
    rides.write_text("\n".join(dated) + "\n")
    result = wildrydes.json("train", "--data", str(rides), "--epochs", "2", "--trainer", "numpy")
    card = _card(boot["bucket"], result["model"]["key"])
    assert card["data"]["source"] == "file" and card["data"]["name"] == "rides.csv"
    assert card["data"]["sha256"] == hashlib.sha256(rides.read_bytes()).hexdigest()
    assert card["data"]["date_range"] == ["2019-01-15 10:00:00", "2019-09-15 10:00:00"]
    assert any("trained on only 270 rows" in flag for flag in card["flags"])   # 300 rows, 90% trained
    text = wildrydes("train", "--data", str(rides), "--epochs", "2", "--trainer", "numpy", json_output=False).stdout
    assert "flagged: trained on only 270 rows" in text


def test_a_breed_model_and_a_saved_model_have_theirs_too(wildrydes, boot, tmp_path):
    result = wildrydes.json("train", *FAST, "--breed", "shire")
    assert _card(boot["bucket"], result["model"]["key"])["data"]["name"] == "synthetic (seed 0, breed shire)"
    saved = wildrydes.json("train", *FAST, "--save", str(tmp_path / "model.tar.gz"))
    assert saved["model"]["metrics_file"] == str(tmp_path / "metrics.json")
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"] == saved["metrics"]


def test_models_shows_each_models_metrics_or_no_metrics(wildrydes, boot):
    upload_model(boot["bucket"], MODEL_KEY)   # SageMaker's own: no metrics.json
    trained = wildrydes.json("train", *FAST)["model"]["key"]
    rows = {m["model_path"]: m for m in wildrydes.json("models")["default_models"]}
    assert rows[MODEL_KEY]["card"] is None
    assert rows[trained]["card"]["metrics"]["auc"] > 0.9
    text = wildrydes("models", json_output=False).stdout
    # the metrics are the held-out rows' (10%), not the 2,000 the model was made from
    assert "no metrics" in text and "on 200 validation rows (of 2,000 synthetic)" in " ".join(text.split())


def test_status_shows_the_deployed_models_metrics(wildrydes, deployed):
    status = wildrydes.json("status")
    assert status["deployed_card"] is None
    assert "model metrics no metrics" in " ".join(wildrydes("status", json_output=False).stdout.split())
    trained = wildrydes.json("train", *FAST)["model"]["key"]
    wildrydes.json("deploy", "--force")
    status = wildrydes.json("status")
    assert status["deployed_model"] == trained
    assert status["deployed_card"]["data"]["rows"] == 2000
