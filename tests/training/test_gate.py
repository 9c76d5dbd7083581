"""The quality gate: deploy and train --breed refuse a model worse than the served one on the same rows."""
from __future__ import annotations

import boto3
from cli_helpers import aws_for, upload_model

from wildrydes_cli.settings import Settings
from wildrydes_cli.training.publish import publish_model
from wildrydes_cli.training.sagemaker_archive import write_model_archive

GOOD = write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0)         # the workshop's rule
WEAK = write_model_archive([0.0, 0.001, 0.0, 0.0, 0.0, 0.0], -5.0)        # healthpoints only: a guess
BETTER_THAN_WEAK = write_model_archive([0.0, 0.0, 0.001, 0.0, 0.0, 0.0], -1.3)   # magicpoints only
KEYS = [f"linear-learner-2026-0{month}-01-00-00-00-000/output/model.tar.gz" for month in (3, 4, 5)]


def _served(function: str) -> str:
    config = boto3.client("lambda").get_function_configuration(FunctionName=function)
    return config["Environment"]["Variables"]["MODEL_PATH"]


def test_deploy_refuses_a_worse_model_with_both_figures_and_changes_nothing(wildrydes, boot):
    upload_model(boot["bucket"], KEYS[0], GOOD)
    first = wildrydes.json("deploy")
    assert first["gate"] is None                       # nothing served before: nothing to compare
    upload_model(boot["bucket"], KEYS[1], WEAK)
    refused = wildrydes("deploy", expect=3, json_output=False)
    message = " ".join(refused.stderr.split())
    assert f"The candidate {KEYS[1]} has auc 0." in message and f"the served model {KEYS[0]} 1.0000: worse by 0.5" in message
    assert "more than --max-regression 0.01" in message and "--force" in message
    assert _served(first["function_name"]) == KEYS[0]   # nothing changed

    forced = wildrydes.json("deploy", "--force")
    assert forced["model_path"] == KEYS[1] and _served(first["function_name"]) == KEYS[1]
    gate = forced["gate"]
    assert gate["passed"] is False and gate["forced"] is True and gate["rows"] == 20000
    assert gate["served_value"] - gate["candidate_value"] > 0.01 and gate["data"].startswith("SYNTHETIC")



def test_max_regression_and_gate_data_are_checked_and_used(wildrydes, boot, tmp_path):
    upload_model(boot["bucket"], KEYS[0], GOOD)
    wildrydes.json("deploy")
    upload_model(boot["bucket"], KEYS[1], WEAK)
    result = wildrydes("deploy", "--max-regression", "2", expect=2, json_output=False)
    assert "--max-regression must be between 0 and 1 (got 2)" in result.stderr
    missing = wildrydes("deploy", "--gate-data", str(tmp_path / "none.csv"), expect=2, json_output=False)
    assert "none.csv" in missing.stderr
    rides = tmp_path / "rides.csv"   # rides on which neither model can be told apart by distance: one class
    rides.write_text("distance,healthpoints,magicpoints,TMIN,TMAX,PRCP,heavy_utilization\n"
                     + "".join(f"30,1,{9000 + i},0,0,0,1\n" for i in range(20)))
    one_class = wildrydes("deploy", "--gate-data", str(rides), expect=2, json_output=False)
    assert "rides.csv" in one_class.stderr and "one class only" in one_class.stderr
    text = wildrydes("deploy", "--max-regression", "1", json_output=False).stdout
    assert "quality gate passed: auc 0.49" in text and "allowed drop 1" in text
    upload_model(boot["bucket"], KEYS[2], BETTER_THAN_WEAK)
    passed = wildrydes.json("deploy")
    assert passed["gate"]["passed"] is True and passed["gate"]["candidate_value"] > passed["gate"]["served_value"]


def test_a_model_of_other_features_is_not_compared_on_ride_samples(wildrydes, deployed):
    upload_model(deployed["bucket"], KEYS[0], GOOD)   # the served one is SageMaker's regressor of 513 features
    gate = wildrydes.json("deploy")["gate"]
    assert gate["passed"] is True and "takes 513 features" in gate["skipped"]


def test_train_breed_keeps_latest_on_the_better_model_unless_forced(wildrydes, boot):
    aws = aws_for(Settings(target="aws"))
    served = publish_model(aws, boot["bucket"], GOOD, breed="pony")
    tiny = ("train", "--breed", "pony", "--rows", "200", "--epochs", "1", "--trainer", "numpy")
    refused = wildrydes(*tiny, expect=3, json_output=False)
    assert f"the served model {served} 0.99" in " ".join(refused.stderr.split())
    index = wildrydes.json("models", "--breeds-only")["breeds"][0]
    assert index["model_path"] == served                 # latest.json did not move
    forced = wildrydes.json(*tiny, "--force")
    assert forced["gate"]["forced"] is True and any("trained on only 180 rows" in f for f in forced["gate"]["flags"])
    assert wildrydes.json("models", "--breeds-only")["breeds"][0]["model_path"] == forced["model"]["key"]


def test_train_breeds_moves_only_breeds_whose_new_model_is_not_worse(wildrydes, boot):
    aws = aws_for(Settings(target="aws"))
    served = publish_model(aws, boot["bucket"], GOOD, breed="breed-0001")   # a better model than 200 rides make
    tiny = ("train", "--breeds", "2", "--rows", "200", "--epochs", "1", "--trainer", "numpy")
    refused = wildrydes.json(*tiny, expect=3)
    assert [item["breed"] for item in refused["refused"]] == ["breed-0001"]
    verdict = refused["refused"][0]["gate"]
    assert verdict["served"] == served and verdict["candidate_value"] < verdict["served_value"] - 0.01
    assert [item["breed"] for item in refused["breeds"]] == ["breed-0002"]   # its first model: nothing to compare
    assert refused["breeds"][0]["gate"] is None
    rows = {b["breed"]: b for b in wildrydes.json("models", "--breeds-only")["breeds"]}
    assert rows["breed-0001"]["model_path"] == served                           # latest.json did not move
    assert [m["model_path"] for m in wildrydes.json("models", "--breed", "breed-0001")["models"]] == [served]

    text = " ".join(wildrydes(*tiny, expect=3, json_output=False).stdout.split())
    assert "quality gate REFUSED 1 of 2 breeds" in text and "breed-0001: auc 0." in text and "--force" in text

    forced = wildrydes.json(*tiny, "--force")
    assert forced["refused"] == [] and forced["breeds"][0]["gate"]["forced"] is True
    history = wildrydes.json("models", "--breed", "breed-0001")
    assert history["latest"] == forced["breeds"][0]["key"] and history["moves"][0]["how"] == "forced"
    assert history["moves"][0]["previous"] == served


def _job(bucket: str, name: str) -> dict:
    return {"TrainingJobName": name, "TrainingJobStatus": "Completed",   # S3OutputPath breeds/pony/, as start_job
            "ModelArtifacts": {"S3ModelArtifacts": f"s3://{bucket}/breeds/pony/{name}/output/model.tar.gz"},
            "FinalMetricDataList": [{"MetricName": "validation:roc_auc_score", "Value": 0.5}]}


def test_a_sagemaker_jobs_breed_model_moves_latest_only_through_the_gate(wildrydes, boot):
    import pytest

    from wildrydes_cli.training import gate, job_watch
    from wildrydes_cli.training.sagemaker_job import Place
    aws = aws_for(Settings(target="aws"))
    bucket = boot["bucket"]
    served = publish_model(aws, bucket, GOOD, breed="pony")
    place = Place(aws=aws, target="aws", region="us-east-1", bucket=bucket, role="r", image="i")
    name = "linear-learner-2026-12-03-00-00-00-000"
    key = f"breeds/pony/{name}/output/model.tar.gz"
    upload_model(bucket, key, WEAK)   # what the job wrote
    card = {"data": {"rows": 20000, "source": "synthetic", "name": "s"}, "predictor_type": "binary_classifier",
            "trainer": "sagemaker", "epochs": 1}
    with pytest.raises(gate.GateRefusedError) as refused:
        job_watch.finish(place, _job(bucket, name), "pony", card, gate_options=gate.GateOptions())
    message = " ".join(str(refused.value.message).split())
    assert f"the served model {served} 0.99" in message
    assert f"The job's model stays at s3://{bucket}/{key} (with its metrics.json)" in message
    history = wildrydes.json("models", "--breed", "pony")
    assert history["latest"] == served and [m["how"] for m in history["moves"]] == ["not gated"]
    refused_model = next(m for m in history["models"] if m["model_path"] == key)   # published, with its card
    assert refused_model["latest"] is False and refused_model["card"]["trainer"] == "sagemaker"

    forced = job_watch.finish(place, _job(bucket, name), "pony", card, gate_options=gate.GateOptions(force=True))
    assert forced["gate"]["forced"] is True
    history = wildrydes.json("models", "--breed", "pony")
    assert history["latest"] == key and history["moves"][0]["how"] == "forced"


# ------------------------------------------------------------------ a model's own validation rows, stored


def test_stored_validation_rows_are_bounded_float32_and_the_same_each_time():
    import numpy as np

    from wildrydes_cli.training import validation_rows
    from wildrydes_cli.training.synthetic import generate_rides
    rides = generate_rides(25_000, seed=3)
    body = validation_rows.encode(rides.features, rides.labels)
    assert body == validation_rows.encode(rides.features, rides.labels)    # a seeded sample
    assert len(body) <= validation_rows.MAX_BYTES
    stored = validation_rows.decode(body, "v.npy")
    assert stored is not None and stored.rows == validation_rows.MAX_ROWS and stored.features.dtype == np.float32
    rows = {tuple(r) for r in rides.features.tolist()}
    assert all(tuple(r) in rows for r in stored.features[:100].tolist())     # rows of the split, not made up
    small = generate_rides(100, seed=4)
    assert validation_rows.decode(validation_rows.encode(small.features, small.labels), "v").rows == 100


def test_stored_validation_rows_that_are_not_a_table_of_rides_are_not_used():
    import io

    import numpy as np

    from wildrydes_cli.training import validation_rows

    def npy(array) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=True)
        return buffer.getvalue()
    assert validation_rows.decode(npy(np.array([{"a": 1}], dtype=object)), "v") is None   # no pickles
    assert validation_rows.decode(npy(np.zeros((3, 6), dtype=np.float32)), "v") is None   # six columns
    assert validation_rows.decode(npy(np.zeros((3, 7), dtype=np.float64)), "v") is None   # not float32
    assert validation_rows.decode(npy(np.full((3, 7), np.nan, dtype=np.float32)), "v") is None
    assert validation_rows.decode(b"not numpy", "v") is None


def test_deploy_gates_a_model_trained_on_a_file_on_its_own_validation_split(wildrydes, boot, tmp_path):
    from ride_files import write_csv

    from wildrydes_cli.training.synthetic import generate_rides
    upload_model(boot["bucket"], KEYS[0], GOOD)       # no validation rows stored with it
    wildrydes.json("deploy")
    rides = tmp_path / "rides.csv"
    write_csv(generate_rides(3000, seed=11), rides)
    trained = wildrydes.json("train", "--data", str(rides), "--epochs", "3", "--trainer", "numpy")
    stored = trained["model"]["validation_key"]
    assert stored == trained["model"]["key"].replace("model.tar.gz", "validation.npy")
    assert boto3.client("s3").head_object(Bucket=boot["bucket"], Key=stored)["ContentLength"] < 20_000 * 28 + 1024
    gate = wildrydes.json("deploy", "--force")["gate"]
    assert gate["data"] == "the candidate's validation split (validation.npy stored beside it)"
    assert gate["rows"] == trained["rows"]["validation"] == 300

    later = "linear-learner-2099-01-01-00-00-00-000/output/model.tar.gz"   # newer than what train wrote
    upload_model(boot["bucket"], later, GOOD)         # and without stored rows: synthetic, said so
    fallback = wildrydes.json("deploy")["gate"]
    assert fallback["data"].startswith("SYNTHETIC rides") and "the candidate has no validation.npy" in fallback["data"]


def test_the_help_says_what_the_gate_covers_and_models_breed_shows():
    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli

    def help_of(command: str) -> str:
        return " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())
    assert "the new model's own validation split when train --data stored it beside the model" in help_of("deploy")
    train = help_of("train")
    assert "With --breed or --breeds: move latest.json even when the quality gate refuses" in train
    assert "before latest.json stays where it is (exit 3)" in train
    assert "One breed's history: every model published for it" in help_of("models")
