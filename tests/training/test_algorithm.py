"""The local Linear Learner behind SageMaker's container contract: what it trains, what it refuses and how."""
from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import pytest
from job_roots import HP, job_root

from wildrydes_cli import linear_learner as ll
from wildrydes_cli.training import algorithm
from wildrydes_cli.training.mxnet_trainer import TrainConfig
from wildrydes_cli.training.numpy_trainer import train


def test_it_trains_the_model_a_local_run_trains_from_the_same_rows(tmp_path, capsys):
    root, rides, train_idx, valid_idx = job_root(tmp_path, HP)
    assert algorithm.main(["train", str(root)]) == 0
    member = (root / "model" / "model_algo-1").read_bytes()
    names = zipfile.ZipFile(io.BytesIO(member)).namelist()
    assert "mx-mod-0000.params" in names and "additional-params.json" in names
    local = train(rides, TrainConfig(mini_batch_size=90))          # the same split, seed and batch
    lines = capsys.readouterr().out.splitlines()
    final = dict(filter(None, (ll.parse_metric(line) for line in lines)))
    assert final["validation:binary_classification_accuracy"] == pytest.approx(local.metrics["accuracy"], abs=1e-9)
    assert final["validation:roc_auc_score"] == pytest.approx(local.metrics["auc"], abs=1e-9)
    assert sum("train objective_loss" in line for line in lines) == 15   # one per epoch
    assert not (root / "output" / "failure").exists()


@pytest.mark.parametrize("hp, text, reason", [
    ({**HP, "mini_batch_size": "5000"}, None, "mini_batch_size 5000 is larger than the 1,800 rows"),
    ({**HP, "feature_dim": "7"}, None, "feature_dim 7 does not match the data: the train channel has 6 features"),
    ({**HP, "colour": "blue"}, None, "Failed to validate input hyperparameters: hyperparameter 'colour'"),
    ({**HP, "momentum": "0.9"}, None, "hyperparameter 'momentum'"),
    (HP, "heavy_utilization,distance,healthpoints,magicpoints,TMIN,TMAX,PRCP\n1,30,1,2,3,4,5\n",
     "line 1 is not numbers"),
    (HP, "30.5,1,2500,3,4,5,1\n29.5,1,200,3,4,5,0\n", "label (the first column) is 30.5 in row 1"),
])
def test_what_linear_learner_refuses_fails_the_job_with_a_client_error(tmp_path, hp, text, reason):
    root, *_ = job_root(tmp_path, hp, text=text)
    if text is not None:
        (root / "input" / "data" / "train" / "part-00001.csv").unlink()
    assert algorithm.main(["train", str(root)]) == 2
    failure = (root / "output" / "failure").read_text()
    assert failure.startswith("ClientError: ") and reason in failure, failure
    assert not (root / "model").exists()


def test_without_a_validation_channel_a_tenth_is_held_out(tmp_path):
    root, *_ = job_root(tmp_path, HP, channels=("train",))
    assert algorithm.main(["train", str(root)]) == 0


def test_a_train_channel_is_required(tmp_path):
    root, *_ = job_root(tmp_path, HP, channels=("validation",))
    assert algorithm.main(["train", str(root)]) == 2
    assert "'train' is a required channel" in (root / "output" / "failure").read_text()


def test_it_runs_as_the_documented_entry_point(tmp_path):
    root, *_ = job_root(tmp_path, HP, rows=500)
    done = subprocess.run([sys.executable, "-m", algorithm.MODULE, "train", str(root)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "#quality_metric: host=algo-1, validation roc_auc_score" in done.stdout
    assert (root / "model" / "model_algo-1").exists()
