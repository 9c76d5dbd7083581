"""Linear Learner as data: the image table against the SageMaker SDK's, hyperparameter rules, metric lines."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from wildrydes_cli import linear_learner as ll

SDK_TABLE = Path(__file__).resolve().parent / "fixtures" / "sagemaker-sdk" / "linear-learner.json"


def sdk_registries() -> dict[str, str]:
    data = json.loads(SDK_TABLE.read_text())
    assert set(data["scope"]) >= {"training"}
    return data["versions"]["1"]["registries"]


def test_our_table_is_the_sdks_for_every_region_it_names():
    registries = sdk_registries()
    assert ll.REGISTRIES == registries
    for region, account in registries.items():
        assert ll.image_uri(region).startswith(f"{account}.dkr.ecr.{region}.")
        assert ll.image_uri(region).endswith("/linear-learner:1")


def test_the_image_domain_is_the_partitions_dns_suffix_as_botocore_knows_it():
    import botocore.session
    partitions = botocore.session.get_session().get_data("endpoints")["partitions"]
    known = {region: p["dnsSuffix"] for p in partitions for region in p["regions"]}
    checked = 0
    for region in ll.REGISTRIES:
        if region in known:
            assert ll.image_uri(region).split("/")[0].endswith("." + known[region]), region
            checked += 1
    assert checked >= 30


def test_the_installed_sdk_agrees_with_the_copy_when_it_is_installed():
    resources = pytest.importorskip("importlib.resources")
    try:
        installed = resources.files("sagemaker.core").joinpath("image_uri_config/linear-learner.json").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        pytest.skip("the SageMaker SDK (sagemaker-core) is not installed: the copy in tests/fixtures is the oracle")
    assert json.loads(installed)["versions"]["1"]["registries"] == sdk_registries()


def test_a_region_without_the_image_is_refused_by_name():
    assert ll.image_uri("xx-nowhere-1") is None
    assert "no image registry in region xx-nowhere-1" in ll.image_problem("anything", "xx-nowhere-1")


@pytest.mark.parametrize("uri, region, problem", [
    (ll.image_uri("us-east-1"), "us-east-1", None),
    ("382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:latest", "us-east-1", None),
    (ll.image_uri("eu-west-1"), "us-east-1", "is not the Linear Learner image of us-east-1"),
    ("111111111111.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "us-east-1", "is not the Linear Learner"),
    ("382416733822.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", "us-east-1", "is not SageMaker's Linear Learner"),
])
def test_image_problem(uri, region, problem):
    found = ll.image_problem(uri, region)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("hp, message", [
    ({}, "'predictor_type' is required"),
    ({"predictor_type": "ranker"}, "predictor_type 'ranker' is not one of"),
    ({"predictor_type": "regressor", "mini_batch_size": "0"}, "mini_batch_size '0' is not valid"),
    ({"predictor_type": "regressor", "epochs": "ten"}, "epochs 'ten' is not valid"),
    ({"predictor_type": "regressor", "wd": "-1"}, "wd '-1' is not valid"),
    ({"predictor_type": "regressor", "learning_rate": "0"}, "learning_rate '0' is not valid"),
    ({"predictor_type": "regressor", "feature_dim": "6.5"}, "feature_dim '6.5' is not valid"),
    ({"predictor_type": "regressor", "normalize_data": "yes"}, "normalize_data 'yes' is not valid"),
    ({"predictor_type": "regressor", "colour": "blue"}, "'colour' is not one of Linear Learner's"),
    ({"predictor_type": "binary_classifier", "binary_classifier_model_selection_criteria":
      "precision_at_target_recall"}, "needs hyperparameter target_recall"),
    ({"predictor_type": "multiclass_classifier"}, "num_classes must be an integer from 3"),
])
def test_hyperparameter_problems_name_the_field(hp, message):
    assert any(message in problem for problem in ll.problems(hp)), ll.problems(hp)


def test_valid_hyperparameters_have_no_problems():
    hp = {"predictor_type": "binary_classifier", "feature_dim": "6", "mini_batch_size": "900", "epochs": "15",
          "learning_rate": "auto", "wd": "0.01", "l1": "auto", "normalize_data": "true",
          "binary_classifier_model_selection_criteria": "f_beta", "f_beta": "2"}
    assert ll.problems(hp) == [] and ll.unsupported_locally(hp) == []
    assert ll.unsupported_locally({"predictor_type": "multiclass_classifier", "num_classes": "3", "momentum": "0.9"})


def test_metric_lines_round_trip_and_per_epoch_lines_are_not_final():
    line = ll.metric_line("algo-1", "validation", "roc_auc_score", 0.987)
    assert ll.parse_metric(line) == ("validation:roc_auc_score", 0.987)
    assert ll.parse_metric(ll.metric_line("algo-1", "train", "objective_loss", 0.3, epoch=2)) is None
    assert ll.validation_metrics([{"MetricName": "validation:binary_classification_accuracy", "Value": 0.9},
                                  {"MetricName": "train:objective_loss", "Value": 0.1}]) == {"accuracy": 0.9}
