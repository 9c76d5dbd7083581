"""The numpy trainer (Python 3.12+ has no MXNet): the same model as the MXNet trainer within noise,
the same artifact, and ``--trainer`` / MXNet-missing messages at the command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import artifact
import engines
import numpy as np
import pytest
from click.testing import CliRunner

from wildrydes_cli import mxnet_support
from wildrydes_cli.cli.main import cli
from wildrydes_cli.errors import UsageError
from wildrydes_cli.training import choose_trainer, numpy_trainer
from wildrydes_cli.training.data import Dataset
from wildrydes_cli.training.mxnet_trainer import TrainConfig
from wildrydes_cli.training.sagemaker_archive import write_model_archive
from wildrydes_cli.training.synthetic import generate_rides, ground_truth


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def regression_data(rows: int, seed: int) -> Dataset:
    rides = generate_rides(rows, seed=seed)
    noise = np.random.default_rng(seed).normal(0.0, 50.0, rides.rows)
    return Dataset(features=rides.features, labels=rides.features @ np.arange(1.0, 7.0) + noise, source="numeric")


@pytest.fixture
def without_mxnet(monkeypatch):
    """This Python as if MXNet were not installed (``import mxnet`` raises ImportError)."""
    monkeypatch.setitem(sys.modules, "mxnet", None)


# ------------------------------------------------------- equal to the MXNet trainer


@pytest.mark.parametrize("seed", [7, 11])
def test_classifier_equals_the_mxnet_trainer_within_noise(seed):
    from wildrydes_cli.training.mxnet_trainer import train as mxnet_train
    pytest.importorskip("mxnet")
    data, config = generate_rides(20000, seed=seed), TrainConfig(seed=seed)
    ours, theirs = numpy_trainer.train(data, config), mxnet_train(data, config)
    assert (ours.train_rows, ours.validation_rows) == (theirs.train_rows, theirs.validation_rows)
    np.testing.assert_allclose(ours.validation_labels, theirs.validation_labels)   # the same split
    assert abs(ours.metrics["auc"] - theirs.metrics["auc"]) <= 1e-4
    assert abs(ours.metrics["accuracy"] - theirs.metrics["accuracy"]) <= 1e-3   # one row may flip
    assert ours.threshold == pytest.approx(theirs.threshold, abs=1e-4)
    np.testing.assert_allclose(ours.validation_scores, theirs.validation_scores, atol=1e-5)   # float32 noise
    np.testing.assert_allclose(ours.loss_history, theirs.loss_history, rtol=1e-5)
    scale = ours.validation_features.std(axis=0)          # compare weights per standard deviation
    np.testing.assert_allclose(np.asarray(ours.weights) * scale, np.asarray(theirs.weights) * scale, rtol=1e-5, atol=1e-5)   # float32: relative on the large magicpoints weight


def test_regressor_equals_the_mxnet_trainer_within_noise():
    from wildrydes_cli.training.mxnet_trainer import train as mxnet_train
    pytest.importorskip("mxnet")
    data, config = regression_data(20000, seed=8), TrainConfig(predictor_type="regressor", seed=8)
    ours, theirs = numpy_trainer.train(data, config), mxnet_train(data, config)
    for name in ("rmse", "mae", "r2"):
        assert ours.metrics[name] == pytest.approx(theirs.metrics[name], rel=1e-4)
    np.testing.assert_allclose(ours.weights, theirs.weights, rtol=1e-4)
    assert ours.bias == pytest.approx(theirs.bias, rel=1e-3)


# ------------------------------------------------------- on its own (any Python)


@pytest.fixture(scope="module")
def classifier():
    return numpy_trainer.train(generate_rides(40000, seed=7), TrainConfig(seed=7))


def test_recovers_the_workshops_rule(classifier):
    """On its own (no MXNet to compare with): it learns heavy_utilization = magicpoints >= 50 * distance."""
    rule = ground_truth().labels(classifier.validation_features).astype(bool)
    predicted = np.asarray(classifier.validation_scores) > classifier.threshold
    assert (predicted == rule).mean() >= 0.97 and classifier.metrics["auc"] >= 0.99
    distance, magicpoints = classifier.weights[0], classifier.weights[2]
    assert magicpoints > 0 > distance


def test_artifact_scores_equal_the_training_scores(classifier):
    data = write_model_archive(classifier.weights, classifier.bias, classifier.predictor_type,
                               classifier.threshold, classifier.feature_names)
    model = artifact.read_model_archive(data)
    lean = engines.create_engine("lean", model).predict(classifier.validation_features.tolist())
    np.testing.assert_allclose(lean, classifier.validation_scores, rtol=1e-5, atol=1e-6)
    assert model.feature_names == classifier.feature_names and model.threshold == pytest.approx(classifier.threshold)


def test_same_seed_same_model_and_epoch_callback():
    seen = []
    data = generate_rides(2000, seed=3)
    first = numpy_trainer.train(data, TrainConfig(epochs=4, seed=3), on_epoch=lambda *a: seen.append(a))
    again = numpy_trainer.train(data, TrainConfig(epochs=4, seed=3))
    assert first.weights == again.weights and first.bias == again.bias
    assert [(done, total) for done, total, _ in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(np.isfinite(loss) for _, _, loss in seen)


@pytest.mark.parametrize("labels, config, message", [
    (np.zeros(50), TrainConfig(), "cannot train a classifier with one class"),
    (np.full(50, 2.0), TrainConfig(), "a binary_classifier needs labels 0 or 1"),
    (np.arange(5.0) % 2, TrainConfig(), "has 5 rows; training needs at least 10"),
    (np.arange(50.0) % 2, TrainConfig(epochs=0), "--epochs must be at least 1"),
])
def test_bad_training_input_is_refused(labels, config, message):
    data = Dataset(features=generate_rides(labels.size, seed=1).features, labels=labels, source="rides.csv")
    with pytest.raises(UsageError, match=message):
        numpy_trainer.train(data, config)


# ------------------------------------------------------- choosing a trainer


def test_auto_is_mxnet_where_importable_else_numpy(monkeypatch):
    expected = "mxnet" if mxnet_support.mxnet_importable() else "numpy"
    assert choose_trainer.resolve("auto") == expected
    monkeypatch.setitem(sys.modules, "mxnet", None)
    assert choose_trainer.resolve("auto") == "numpy"
    assert choose_trainer.resolve("numpy") == "numpy"
    with pytest.raises(UsageError, match="--trainer must be one of auto, numpy, mxnet, not 'jax'"):
        choose_trainer.resolve("jax")


def test_cli_numpy_trainer_reports_itself_and_saves_a_readable_artifact(tmp_path):
    out = tmp_path / "m.tar.gz"
    result = run(["--output", "json", "train", "--trainer", "numpy", "--rows", "2000", "--save", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["trainer"] == "numpy" and report["metrics"]["auc"] > 0.6
    assert artifact.read_model_archive(out.read_bytes()).dimension == 6
    text = run(["train", "--trainer", "numpy", "--rows", "500", "--epochs", "2", "--save", str(out)])
    assert "numpy trainer" in text.stdout


def test_cli_auto_trains_with_numpy_when_mxnet_is_missing(tmp_path, without_mxnet):
    result = run(["--output", "json", "train", "--rows", "1000", "--epochs", "2", "--save", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trainer"] == "numpy"


def test_cli_mxnet_trainer_without_mxnet_says_how_to_get_it(tmp_path, without_mxnet):
    result = run(["train", "--trainer", "mxnet", "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "train --trainer mxnet needs MXNet" in lines[0]
    assert "MXNet 1.9.1 installs only on Python 3.11 (it needs numpy < 1.24), where it has a wheel" in lines[0]
    assert "pip install '.[mxnet]' (Intel Mac, Linux aarch64); none exists for Apple Silicon" in lines[0]
    assert not (tmp_path / "m.tar.gz").exists()


def test_cli_bad_trainer_name():
    result = run(["train", "--trainer", "sklearn"])
    assert result.exit_code == 2 and "'sklearn' is not one of 'auto', 'numpy', 'mxnet'" in result.stderr


# ------------------------------------------------------- deploy --engine mxnet on the local target


@pytest.mark.parametrize("engine, is_local, version, refused", [
    ("mxnet", True, (3, 13), True),
    ("mxnet", True, (3, 12), True),
    ("mxnet", True, (3, 11), False),
    ("mxnet", False, (3, 13), False),     # AWS runs the package on Lambda's python3.11
    ("lean", True, (3, 13), False),
])
def test_local_mxnet_engine_needs_python_311(engine, is_local, version, refused):
    if refused:
        with pytest.raises(UsageError, match=r"runs MXNet with this CLI's Python 3\.1[23], but MXNet 1\.9\.1"):
            mxnet_support.check_local_engine(engine, is_local, version, importable=lambda: True)
    else:
        mxnet_support.check_local_engine(engine, is_local, version, importable=lambda: True)


def test_local_mxnet_engine_on_311_without_mxnet_says_where_it_installs():
    """Python 3.11 on a machine without an MXNet wheel (Apple Silicon): refused, saying where it installs."""
    with pytest.raises(UsageError, match=r"cannot import it: MXNet 1\.9\.1 installs only .* '\.\[mxnet\]'"):
        mxnet_support.check_local_engine("mxnet", True, (3, 11), importable=lambda: False)
    mxnet_support.check_local_engine("mxnet", False, (3, 11), importable=lambda: False)   # AWS: built for Lambda


def test_cli_local_mxnet_deploy_is_refused_before_the_emulator_starts(monkeypatch, tmp_path):
    from wildrydes_cli.local import daemon

    def refuse(settings):
        raise AssertionError("the emulator would have been started")
    monkeypatch.setattr(daemon, "ensure_running", refuse)
    monkeypatch.setattr(mxnet_support, "MXNET_PYTHON", (3, 0))   # this Python is "not 3.11"
    result = run(["--scratchpad", str(tmp_path / "s.txt"), "deploy", "--engine", "mxnet", "--yes"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "deploy --engine mxnet on the local target" in result.stderr and "--engine lean" in result.stderr


def test_the_main_path_never_imports_mxnet(tmp_path):
    """Python 3.12+ has no MXNet: train (auto, without MXNet), write and read the artifact, import
    every main-path module, in a fresh interpreter where ``import mxnet`` fails - MXNet stays unimported."""
    import subprocess
    code = f"""
import sys
sys.modules["mxnet"] = None            # as on a Python where MXNet does not install
import wildrydes_cli.cli.main, wildrydes_cli.deploy.deployer, wildrydes_cli.observe.predict, wildrydes_cli.deploy.packaging
import wildrydes_cli.local.daemon, wildrydes_cli.local.invoke.runner, wildrydes_cli.training.service
from wildrydes_cli.cli.main import main
code = main(["train", "--rows", "500", "--epochs", "2", "--save", {str(tmp_path / "m.tar.gz")!r}])
sys.path.insert(0, {str(Path(__file__).resolve().parents[2] / "lambda")!r})
import artifact
model = artifact.read_model_archive(open({str(tmp_path / "m.tar.gz")!r}, "rb").read())
print(code, model.dimension, sys.modules["mxnet"])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-3:] == ["0", "6", "None"], done.stdout


def test_a_group_of_batches_is_the_standardised_rows_at_its_indices_in_order():
    from wildrydes_cli.training.mxnet_trainer import Scaled
    rng = np.random.default_rng(5)
    features = rng.normal(size=(1000, 6)).astype(np.float32)
    labels = (rng.random(1000) > 0.5).astype(np.float32)
    data = Scaled(features, labels, features.mean(axis=0, dtype=np.float64), features.std(axis=0, dtype=np.float64),
                  0.25, 2.0)
    index = rng.permutation(1000)[:300]
    assert np.array_equal(data.rows(index), (features[index] - data.mean) / data.std)
    assert data.rows(index).dtype == np.float64
    assert np.array_equal(data.targets(index), (labels[index].astype(np.float64) - 0.25) / 2.0)
