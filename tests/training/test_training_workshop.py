"""A model trained with `wildrydes train`'s defaults gives the workshop's answers; breeds react to weather.

The workshop's label is ``heavy_utilization = magicpoints >= 50 * distance``;
its own example ride (2500 magic points over 30 miles) is the textbook positive.
"""
from __future__ import annotations

import artifact
import engines
import numpy as np
import pytest

from wildrydes_cli.training.mxnet_trainer import TrainConfig, train
from wildrydes_cli.training.sagemaker_archive import write_model_archive
from wildrydes_cli.training.service import DEFAULT_ROWS
from wildrydes_cli.training.synthetic import (
    MILD_TMAX,
    GroundTruth,
    generate_rides,
    ground_truth,
)

WORKSHOP_RIDE = [30.0, 30.0, 2500.0, 300.0, 333.0, 0.0]   # distance, health, magic, TMIN, TMAX, PRCP
LOW_MAGIC_RIDE = [30.0, 30.0, 500.0, 300.0, 333.0, 0.0]
BREEDS = ("arabian", "mustang", "shire", "pegasus", "breed-0001", "breed-0002")
TMAX, PRCP = 4, 5


def served(model):
    """The model as the deployed function serves it: the exported artifact on the lean engine."""
    data = write_model_archive(model.weights, model.bias, model.predictor_type, model.threshold,
                               model.feature_names)
    parsed = artifact.read_model_archive(data)
    engine = engines.create_engine("lean", parsed)

    def answer(rows):
        scores = np.asarray(engine.predict([list(map(float, r)) for r in rows]))
        return scores, (scores > parsed.threshold).astype(float)
    return answer


@pytest.fixture(scope="module")
def default_model():
    """What `wildrydes train` (no flags) trains: DEFAULT_ROWS synthetic rides, seed 0, default config."""
    return train(generate_rides(DEFAULT_ROWS, seed=0), TrainConfig())


def test_the_workshops_ride_is_heavy_magic_use(default_model):
    scores, labels = served(default_model)([WORKSHOP_RIDE, LOW_MAGIC_RIDE])
    assert labels.tolist() == [1.0, 0.0]
    assert scores[0] >= 0.9
    assert scores[1] < 0.1


def test_agrees_with_the_rule_on_fresh_rides_away_from_the_boundary(default_model):
    fresh = generate_rides(50_000, seed=12345)
    margin = ground_truth().margin(fresh.features)
    away = np.abs(margin) > 100          # 100 of 10,000 magic points: 1% of the range
    assert away.mean() > 0.95
    _, labels = served(default_model)(fresh.features[away])
    assert np.mean(labels == fresh.labels[away]) >= 0.97


def test_the_default_label_is_exactly_the_workshops_rule():
    rides = generate_rides(5000, seed=3)
    distance, magic = rides.features[:, 0], rides.features[:, 2]
    assert np.array_equal(rides.labels, (magic >= 50 * distance).astype(float))
    on_the_line = np.array([[30.0, 0.0, 1500.0, 0.0, 0.0, 0.0], [30.0, 0.0, 1499.0, 0.0, 0.0, 0.0]])
    assert ground_truth().labels(on_the_line).tolist() == [1.0, 0.0]


# ------------------------------------------------------------------ breeds


def test_breed_sensitivities_are_seeded_by_the_name_on_any_machine():
    """sha256 of the name, not Python's per-process salted hash: these numbers hold everywhere."""
    assert ground_truth("shire") == GroundTruth(temperature=9.19, rain=-10.06, breed="shire")
    assert ground_truth("arabian") == GroundTruth(temperature=-13.84, rain=8.13, breed="arabian")
    for name in BREEDS:
        truth = ground_truth(name)
        assert 5 <= abs(truth.temperature) <= 15 and 5 <= abs(truth.rain) <= 15


def test_breeds_agree_in_mild_dry_weather_and_disagree_in_the_rain():
    mild = np.array([[30.0, 30.0, 1600.0, 120.0, MILD_TMAX, 0.0], [30.0, 30.0, 1400.0, 120.0, MILD_TMAX, 0.0]])
    for name in BREEDS:
        assert ground_truth(name).labels(mild).tolist() == [1.0, 0.0] == ground_truth().labels(mild).tolist()
    # shire uses less magic per mile in the rain, arabian more: a ride between their usual use splits them.
    shire, arabian = ground_truth("shire"), ground_truth("arabian")
    rain = np.array([[30.0, 30.0, 0.0, 120.0, MILD_TMAX, 300.0]])
    rain[0, 2] = 30.0 * (shire.magic_per_mile(rain)[0] + arabian.magic_per_mile(rain)[0]) / 2
    assert shire.labels(rain).tolist() == [1.0] and arabian.labels(rain).tolist() == [0.0]


@pytest.mark.parametrize("name", BREEDS)
def test_trained_breed_models_recover_the_direction_of_the_weather_effect(name):
    """More usual magic per mile in the heat (rain) means fewer heavy rides: TMAX's (PRCP's) weight
    takes the opposite sign of the breed's temperature (rain) sensitivity."""
    truth = ground_truth(name)
    model = train(generate_rides(20_000, seed=0, breed=name), TrainConfig(seed=0))
    assert np.sign(model.weights[TMAX]) == -np.sign(truth.temperature)
    assert np.sign(model.weights[PRCP]) == -np.sign(truth.rain)
    assert model.metrics["accuracy"] > 0.98


def test_two_trained_breeds_disagree_on_a_rainy_ride_and_agree_on_a_mild_dry_one():
    shire, arabian = ground_truth("shire"), ground_truth("arabian")
    rainy = np.array([[30.0, 30.0, 0.0, 120.0, MILD_TMAX, 300.0]])
    rainy[0, 2] = 30.0 * (shire.magic_per_mile(rainy)[0] + arabian.magic_per_mile(rainy)[0]) / 2
    mild = np.array([[30.0, 30.0, 2500.0, 120.0, MILD_TMAX, 0.0], [30.0, 30.0, 500.0, 120.0, MILD_TMAX, 0.0]])
    answers = {}
    for name in ("shire", "arabian"):
        model = served(train(generate_rides(20_000, seed=1, breed=name), TrainConfig(seed=1)))
        answers[name] = (model(rainy)[1].tolist(), model(mild)[1].tolist())
    assert answers["shire"][0] == [1.0] and answers["arabian"][0] == [0.0]
    assert answers["shire"][1] == answers["arabian"][1] == [1.0, 0.0]


def test_train_reports_the_rule_that_labelled_its_synthetic_rides(tmp_path):
    import json

    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["--output", "json", "train", "--rows", "500", "--epochs", "1", "--breed", "shire",
                                 "--save", str(tmp_path / "m.tar.gz")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rule = json.loads(result.stdout)["rule"]
    assert (rule["temperature"], rule["rain"]) == (9.19, -10.06)
    assert rule["text"] == ("heavy_utilization = magicpoints >= distance * "
                            "(50 +9.19 * (TMAX - 200) / 100 -10.06 * PRCP / 100)")
    text = runner.invoke(cli, ["train", "--rows", "500", "--epochs", "1", "--save", str(tmp_path / "d.tar.gz")],
                         catch_exceptions=False).stdout
    assert "labelled by: heavy_utilization = magicpoints >= 50 * distance" in text


def test_the_readme_states_the_default_models_score_for_the_workshops_ride(default_model):
    """README: "The first command ends with ... `score 0.9868`" and the --explain example's full score."""
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    score = float(served(default_model)([WORKSHOP_RIDE])[0][0])
    assert f"`score {score:.4f}`" in readme
    assert f"score    {score!r}" in readme or f"score    {score:.12f}" in readme
