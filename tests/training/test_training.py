"""Training with MXNet on synthetic rides: the workshop's rule is recovered and the artifact reproduces it."""
from __future__ import annotations

import io
import json
import tarfile
import zipfile

import artifact
import engines
import numpy as np
import pytest
from click.testing import CliRunner
from ride_files import write_csv

from wildrydes_cli.cli.main import cli
from wildrydes_cli.training import metrics
from wildrydes_cli.training.data import COLUMNS, FEATURES, Dataset, read_csv
from wildrydes_cli.training.mxnet_trainer import TrainConfig, fold, train
from wildrydes_cli.training.sagemaker_archive import write_model_archive
from wildrydes_cli.training.synthetic import generate_rides, ground_truth


def export(model) -> bytes:
    return write_model_archive(model.weights, model.bias, model.predictor_type, model.threshold,
                               model.feature_names)


def lean_scores(data: bytes, rows: np.ndarray) -> np.ndarray:
    return np.asarray(engines.create_engine("lean", artifact.read_model_archive(data)).predict(rows.tolist()))


@pytest.fixture(scope="module")
def classifier():
    return train(generate_rides(40000, seed=7), TrainConfig(seed=7))


@pytest.fixture(scope="module")
def regressor():
    return train(generate_rides(20000, seed=8), TrainConfig(predictor_type="regressor", seed=8))


# ------------------------------------------------------------------ recovery


def test_validation_metrics_match_the_rule(classifier):
    """The labels are the workshop's deterministic rule, so a linear model can all but reproduce them."""
    assert classifier.validation_rows == 4000 and classifier.train_rows == 36000
    assert classifier.metrics["auc"] > 0.999 and classifier.metrics["accuracy"] > 0.99
    assert np.array_equal(classifier.validation_labels, ground_truth().labels(classifier.validation_features))


def test_weights_recover_the_rule(classifier):
    """magicpoints - 50 * distance >= 0: the learned weights keep that ratio; the rest barely count."""
    distance, health, magic, tmin, tmax, prcp = classifier.weights
    assert magic > 0 and distance < 0
    assert -distance / magic == pytest.approx(50.0, rel=0.3)
    # Over the workshop's ranges the other features move the margin far less than magic does.
    spread = np.array([10_000.0, 500.0, 500.0, 300.0])
    assert np.all(np.abs([health, tmin, tmax, prcp]) * spread < 0.1 * magic * 10_000)


def test_artifact_scores_equal_the_training_process_predictions(classifier):
    scores = lean_scores(export(classifier), classifier.validation_features)
    np.testing.assert_allclose(scores, classifier.validation_scores, rtol=0, atol=1e-5)


def test_threshold_maximises_validation_accuracy(classifier):
    scores, labels = classifier.validation_scores, classifier.validation_labels
    assert classifier.threshold != 0.5
    best = classifier.metrics["accuracy"]
    for other in (0.3, 0.4, 0.5, 0.6, 0.7):
        assert best >= metrics.classification_metrics(scores, labels, other)["accuracy"]
    assert artifact.read_model_archive(export(classifier)).threshold == pytest.approx(classifier.threshold)


def test_regressor_artifact_scores_equal_the_training_process_predictions(regressor):
    assert set(regressor.metrics) == {"rmse", "mae", "r2"}
    assert 0.1 < regressor.metrics["r2"] < 1 and 0 < regressor.metrics["rmse"] < 0.5
    scores = lean_scores(export(regressor), regressor.validation_features)
    np.testing.assert_allclose(scores, regressor.validation_scores, rtol=1e-5, atol=1e-5)


def test_exported_classifier_loads_in_mxnet_with_the_lean_engine_scores(classifier, tmp_path):
    import mxnet as mx

    data = export(classifier)
    outer = tarfile.open(fileobj=io.BytesIO(data))
    zipfile.ZipFile(io.BytesIO(outer.extractfile("model_algo-1").read())).extractall(tmp_path)
    rows = classifier.validation_features[:100]
    module = mx.module.Module.load(str(tmp_path / "mx-mod"), 0, label_names=None)
    module.bind(data_shapes=[("data", rows.shape)], for_training=False)
    reference = module.predict(mx.io.NDArrayIter(rows.astype(np.float32), batch_size=100)).asnumpy().ravel()
    np.testing.assert_allclose(lean_scores(data, rows), reference, rtol=1e-5, atol=1e-6)


def test_same_seed_same_model_bytes():
    dataset = generate_rides(3000, seed=1)
    first = export(train(dataset, TrainConfig(seed=1, epochs=3)))
    assert first == export(train(dataset, TrainConfig(seed=1, epochs=3)))
    assert first != export(train(dataset, TrainConfig(seed=2, epochs=3)))


def test_breeds_get_different_models_for_the_same_ride():
    """arabian's usual magic per mile falls in the heat, mustang's rises: a hot ride splits them."""
    assert ground_truth("arabian").temperature < 0 < ground_truth("mustang").temperature
    ride = np.array([[30.0, 300.0, 1500.0, 250.0, 350.0, 0.0]])
    arabian = train(generate_rides(8000, seed=3, breed="arabian"), TrainConfig(seed=3, epochs=8))
    mustang = train(generate_rides(8000, seed=3, breed="mustang"), TrainConfig(seed=3, epochs=8))
    assert ground_truth("arabian").labels(ride)[0] == 1.0 and ground_truth("mustang").labels(ride)[0] == 0.0
    assert lean_scores(export(arabian), ride)[0] > arabian.threshold
    assert lean_scores(export(mustang), ride)[0] < mustang.threshold


# ------------------------------------------------------------ pure functions


def test_fold_gives_the_same_scores_on_raw_features():
    rng = np.random.default_rng(0)
    raw = rng.normal(100, 20, (50, 3))
    mean, std = raw.mean(0), raw.std(0)
    w, b = np.array([0.5, -1.0, 2.0]), 0.3
    folded_w, folded_b = fold(w, b, mean, std, target_mean=4.0, target_std=2.5)
    np.testing.assert_allclose(raw @ folded_w + folded_b, (((raw - mean) / std) @ w + b) * 2.5 + 4.0)


def test_auc_counts_ties_as_half():
    assert metrics.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert metrics.auc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    assert metrics.auc([0.2, 0.9], [0, 1]) == 1.0
    assert np.isnan(metrics.auc([0.2, 0.9], [1, 1]))


def test_best_threshold_picks_the_most_accurate_cut():
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    labels = np.array([0, 0, 1, 0, 1, 1])
    threshold = metrics.best_threshold(scores, labels)
    assert 0.3 < threshold < 0.6 or 0.6 < threshold < 0.7
    assert metrics.classification_metrics(scores, labels, threshold)["accuracy"] == pytest.approx(5 / 6)
    assert metrics.best_threshold(np.array([0.2, 0.3]), np.array([0, 0])) >= 0.3   # nobody positive


def test_regression_metrics():
    result = metrics.regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert result["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert result["r2"] == pytest.approx(1 - 4 / (26 / 3))   # SST around the mean 8/3


# -------------------------------------------------------------- synthetic


def test_synthetic_rides_look_like_the_workshop():
    data = generate_rides(20000, seed=11)
    distance, health, magic, tmin, tmax, prcp = data.features.T
    assert data.features.shape == (20000, 6) and set(np.unique(data.labels)) == {0.0, 1.0}
    assert distance.min() >= 29 and distance.max() <= 31 and 29.9 < distance.mean() < 30.1
    for points in (health, magic):   # uniform integers in 0-10,000
        assert points.min() >= 0 and points.max() <= 10_000 and np.all(np.mod(points, 1) == 0)
        assert 4_800 < points.mean() < 5_200 and 0.18 < np.mean(points < 2_000) < 0.22
    assert np.all(tmin <= tmax) and np.all(prcp >= 0)
    assert np.all(np.equal(np.mod(tmax, 1), 0))                       # NOAA integers (tenths)
    assert -250 < tmin.min() and tmax.max() < 450                       # New York, in tenths of degC
    assert 0.2 < np.mean(prcp > 0) < 0.5
    # The workshop's rule, exactly: 10,000 - 1,500 of 10,000 points lie above 50 * 30.
    assert np.array_equal(data.labels, (magic >= 50 * distance).astype(float))
    assert 0.83 < data.labels.mean() < 0.87


def test_synthetic_data_is_deterministic_per_seed_and_breed():
    assert np.array_equal(generate_rides(500, 4).features, generate_rides(500, 4).features)
    assert not np.array_equal(generate_rides(500, 4).features, generate_rides(500, 5).features)
    assert not np.array_equal(generate_rides(500, 4, "shire").features, generate_rides(500, 4).features)
    assert ground_truth("shire") == ground_truth("shire") != ground_truth("pegasus")


# --------------------------------------------------------------------- CSV


def test_csv_columns_are_found_by_name(tmp_path):
    path = tmp_path / "rides.csv"
    path.write_text("ride_id,PRCP,TMAX,TMIN,magicpoints,healthpoints,distance,heavy_utilization\n"
                    "a,5,200,100,310,290,30.5,1\n\nb,0,250,150,300,300,29.5,0\n")
    data = read_csv(path)
    assert data.rows == 2
    assert data.features.tolist()[0] == [30.5, 290, 310, 100, 200, 5]   # exact in float32
    assert data.labels.tolist() == [1.0, 0.0]


def test_csv_round_trip(tmp_path):
    original = generate_rides(50, seed=2)
    write_csv(original, tmp_path / "rides.csv")
    again = read_csv(tmp_path / "rides.csv")
    assert np.array_equal(original.features, again.features) and np.array_equal(original.labels, again.labels)


# ------------------------------------------------------------- CLI (--save)


def run(args, **kwargs):
    return CliRunner().invoke(cli, args, catch_exceptions=False, **kwargs)


def test_cli_trains_on_a_csv_and_saves_the_artifact(tmp_path):
    write_csv(generate_rides(2000, seed=5), tmp_path / "rides.csv")
    out = tmp_path / "model.tar.gz"
    result = run(["--output", "json", "train", "--data", str(tmp_path / "rides.csv"), "--save", str(out),
                  "--epochs", "4"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["model"]["saved_to"] == str(out) and report["synthetic"] is False
    assert report["rows"] == {"train": 1800, "validation": 200}
    assert set(report["metrics"]) >= {"accuracy", "precision", "recall", "auc"}
    model = artifact.read_model_archive(out.read_bytes())
    assert model.feature_names == FEATURES and model.threshold == pytest.approx(report["threshold"])


def test_cli_text_report_says_the_data_is_synthetic(tmp_path):
    result = run(["train", "--rows", "10000", "--epochs", "2", "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.stdout and "AUC" in result.stdout and "model saved to" in result.stdout
    assert "on 1,000 validation rows (9,000 trained, 2 epochs" in " ".join(result.stdout.split())
    assert "SYNTHETIC" in run(["train", "--help"]).stdout


# -------------------------------------------------------------- bad input


def write(tmp_path, text: str):
    path = tmp_path / "rides.csv"
    path.write_text(text)
    return path


HEADER = ",".join(COLUMNS)


@pytest.mark.parametrize("text, message", [
    ("distance,healthpoints,magicpoints,TMIN,TMAX,heavy_utilization\n30,300,300,10,20,1\n",
     "rides.csv has no column 'PRCP'"),
    (f"{HEADER}\n30,300,300,10,20,0,1\n30,300,abc,10,20,0,0\n",
     "rides.csv row 2 (line 3): column 'magicpoints' has value 'abc', which is not a finite number"),
    (f"{HEADER}\n30,300,300,10,nan,0,1\n", "column 'TMAX' has value 'nan'"),
    (f"{HEADER}\n30,300,300,10,20,0\n", "rides.csv row 1 (line 2) has 6 fields but the header has 7"),
    ("", "rides.csv is empty; expected a CSV with a header row"),
    ("\n\n", "rides.csv is empty"),
    (f"{HEADER}\n", "rides.csv has a header but no data rows"),
    (f"{HEADER}\n" + "30,300,300,10,20,0,0\n" * 20, "cannot train a classifier with one class"),
    (f"{HEADER}\n" + "30,300,300,10,20,0,1\n" * 10 + "30,300,300,10,20,0,2\n",
     "row 11: heavy_utilization is 2, but a binary_classifier needs labels 0 or 1"),
    (f"{HEADER}\n30,300,300,10,20,0,1\n30,300,300,10,20,0,0\n", "has 2 rows; training needs at least 10"),
])
def test_bad_csv_is_refused_with_a_message(tmp_path, text, message):
    path = write(tmp_path, text)
    result = run(["train", "--data", str(path), "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "m.tar.gz").exists()


def test_missing_data_file(tmp_path):
    result = run(["train", "--data", str(tmp_path / "nope.csv"), "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2 and "cannot read --data" in result.stderr and "nope.csv" in result.stderr


@pytest.fixture
def no_emulator(monkeypatch):
    """A guard: resolving the local target fails loudly instead of starting the emulator daemon."""
    from wildrydes_cli.errors import LocalTargetError
    from wildrydes_cli.local import daemon

    def refuse(settings):
        raise LocalTargetError("the emulator would have been started")
    monkeypatch.setattr(daemon, "ensure_running", refuse)


def test_missing_data_file_is_reported_before_the_target_starts(tmp_path, no_emulator):
    """No --save, no bucket, local target: the missing file is the error, and no emulator is started."""
    from wildrydes_cli.local import daemon_files
    from wildrydes_cli.settings import Settings
    result = run(["--target", "local", "--scratchpad", str(tmp_path / "scratchpad.txt"),
                  "train", "--data", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2, result.stderr
    assert "cannot read --data" in result.stderr and "missing.csv" in result.stderr
    assert "emulator" not in result.stderr and "no data bucket" not in result.stderr
    state_dir = Settings(target="local").state_dir
    assert daemon_files.read_state(state_dir) is None and not daemon_files.local_dir(state_dir).exists()


def test_bad_data_file_is_reported_before_the_target_starts(tmp_path, no_emulator):
    path = write(tmp_path, "distance,healthpoints\n1,2\n")
    result = run(["--target", "local", "train", "--data", str(path)])
    assert result.exit_code == 2 and "rides.csv has no column 'magicpoints'" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--rows", "0"], "--rows must be between 10 and 10,000,000 (got 0)"),
    (["--rows", "-5"], "--rows must be between 10"),
    (["--epochs", "0"], "--epochs must be between 1 and 1,000 (got 0)"),
    (["--epochs", "1001"], "--epochs must be between 1 and 1,000 (got 1001)"),
    (["--rows", "10000000", "--epochs", "101"],
     "10,000,000 rows x 101 epochs is 1,010,000,000 row passes, over the limit of 1,000,000,000"),
    (["--breed", "../etc"], "invalid breed name '../etc'"),
    (["--breed", "Shire"], "invalid breed name 'Shire'"),
    (["--bucket", "wildrydes-data"], "--save writes the model to a local file and --bucket uploads it"),
    (["--predictor-type", "multiclass"], "'multiclass' is not one of"),
])
def test_bad_flags_are_refused_with_a_message(tmp_path, args, message):
    result = run(["train", "--save", str(tmp_path / "m.tar.gz"), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_data_file_too_big_for_its_epochs_is_refused_before_training(tmp_path, monkeypatch):
    from wildrydes_cli.training import service
    monkeypatch.setattr(service, "MAX_ROW_PASSES", 100)
    path = tmp_path / "rides.csv"
    write_csv(generate_rides(30, seed=1), path)
    result = run(["train", "--data", str(path), "--epochs", "4", "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2
    assert "30 rows x 4 epochs is 120 row passes, over the limit of 100" in result.stderr
    assert not (tmp_path / "m.tar.gz").exists()


def test_save_into_a_missing_directory(tmp_path):
    result = run(["train", "--rows", "100", "--epochs", "1", "--save", str(tmp_path / "no" / "m.tar.gz")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_regressor_accepts_numeric_targets(tmp_path):
    rng = np.random.default_rng(0)
    features = generate_rides(300, seed=1).features
    write_csv(Dataset(features=features, labels=features[:, 0] * 2 + rng.normal(0, 0.1, 300), source="x"),
              tmp_path / "rides.csv")
    result = run(["--output", "json", "train", "--data", str(tmp_path / "rides.csv"),
                  "--predictor-type", "regressor", "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"]["r2"] > 0.9


def test_csv_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "rides.csv"
    path.write_bytes(("\ufeff" + HEADER + "\n30,300,300,10,20,0,1\n").encode("utf-8"))
    assert read_csv(path).rows == 1


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "rides.csv"
    path.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe\x00\x01" * 10)
    result = run(["train", "--data", str(path), "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2 and "rides.csv is not UTF-8 text" in result.stderr


def test_save_onto_a_directory(tmp_path):
    result = run(["train", "--rows", "100", "--epochs", "1", "--save", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr
