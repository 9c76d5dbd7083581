"""The local runner honours qualifiers: a version runs its own configuration, an alias splits by its weights."""
from __future__ import annotations

import random

import pytest
from test_functions import deployed  # noqa: F401  (the fixture: a function in moto)

from wildrydes_cli.local.awsapi import moto_backends
from wildrydes_cli.local.invoke import functions

REQUESTS = 10_000


def _two_versions(deployed) -> tuple[str, str]:   # noqa: F811
    lam = deployed["lam"]
    first = lam.publish_version(FunctionName="fn")["Version"]
    lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"MODEL_PATH": "b/model.tar.gz"}})
    second = lam.publish_version(FunctionName="fn")["Version"]
    lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"MODEL_PATH": "a/model.tar.gz"}})
    return first, second


def _model(spec) -> str:
    return dict(spec.environment)["MODEL_PATH"]


def test_a_version_or_latest_runs_its_own_frozen_configuration(deployed):   # noqa: F811
    first, second = _two_versions(deployed)
    arn = deployed["arn"]
    assert _model(functions.find_function(f"{arn}:{second}")) == "b/model.tar.gz"
    assert _model(functions.find_function(f"{arn}:{first}")) == "a/model.tar.gz"
    assert _model(functions.find_function(arn)) == "a/model.tar.gz"
    assert _model(functions.find_function(f"{arn}:$LATEST")) == "a/model.tar.gz"
    # each version is its own function to the runner (its own warm pool)
    assert functions.find_function(f"{arn}:{second}").arn == f"{arn}:{second}"
    assert functions.find_function(f"{arn}:9") is None and functions.find_function(f"{arn}:nope") is None
    # its code is the version's, verified
    assert functions.fetch_code(functions.find_function(f"{arn}:{second}")) == deployed["code"]


@pytest.mark.parametrize("percent", [1, 10, 50, 99])
def test_an_alias_splits_requests_by_its_weight_within_two_points_over_ten_thousand(deployed, percent):   # noqa: F811
    first, second = _two_versions(deployed)
    deployed["lam"].create_alias(FunctionName="fn", Name="live", FunctionVersion=first,
                                 RoutingConfig={"AdditionalVersionWeights": {second: percent / 100}})
    draw = random.Random(percent).random
    arn = f"{deployed['arn']}:live"
    answered = [_model(functions.find_function(arn, draw)) for _ in range(REQUESTS)]
    share = answered.count("b/model.tar.gz") / REQUESTS * 100
    assert abs(share - percent) <= 2, f"{share:.2f}% to the new version, asked {percent}%"
    assert answered.count("a/model.tar.gz") + answered.count("b/model.tar.gz") == REQUESTS


def test_an_alias_without_weights_runs_its_version_and_moves_in_one_update(deployed):   # noqa: F811
    first, second = _two_versions(deployed)
    lam, arn = deployed["lam"], f"{deployed['arn']}:live"
    lam.create_alias(FunctionName="fn", Name="live", FunctionVersion=first)
    assert {_model(functions.find_function(arn)) for _ in range(200)} == {"a/model.tar.gz"}
    lam.update_alias(FunctionName="fn", Name="live", FunctionVersion=second, RoutingConfig={"AdditionalVersionWeights": {}})
    assert {_model(functions.find_function(arn)) for _ in range(200)} == {"b/model.tar.gz"}


def test_pick_counts_the_weight_exactly_at_its_edges():
    routing = {"AdditionalVersionWeights": {"2": 0.1}}
    assert moto_backends.pick_version("1", routing, lambda: 0.0999) == "2"
    assert moto_backends.pick_version("1", routing, lambda: 0.1) == "1"
    assert moto_backends.pick_version("1", None, lambda: 0.0) == "1"
    counted = iter(i / 1000 for i in range(1000))   # an even sweep: exactly 10% go to version 2
    assert sum(moto_backends.pick_version("1", routing, lambda: next(counted)) == "2" for _ in range(1000)) == 100


def test_an_alias_of_a_deleted_function_or_a_missing_alias_runs_nothing(deployed):   # noqa: F811
    first, _ = _two_versions(deployed)
    lam, arn = deployed["lam"], f"{deployed['arn']}:live"
    assert functions.find_function(arn) is None                      # no such alias yet
    lam.create_alias(FunctionName="fn", Name="live", FunctionVersion=first)
    assert functions.find_function(arn) is not None
    lam.delete_function(FunctionName="fn")
    assert functions.find_function(arn) is None


def test_a_version_runs_with_its_number_in_its_environment_and_log_lines(deployed, tmp_path):   # noqa: F811
    from wildrydes_cli.local.invoke import lambda_log_lines
    from wildrydes_cli.local.invoke.runner import worker_environment
    _, second = _two_versions(deployed)
    spec = functions.find_function(f"{deployed['arn']}:{second}")
    assert spec.version == second and functions.find_function(deployed["arn"]).version == "$LATEST"
    assert worker_environment(spec, "http://127.0.0.1:1", tmp_path, None)["AWS_LAMBDA_FUNCTION_VERSION"] == second
    lines = lambda_log_lines.invocation_lines(lambda_log_lines.Invocation("r1", (), 1.0, 128, 50, version=second))
    assert lines[0] == f"START RequestId: r1 Version: {second}"
    assert f"/[{second}]" in lambda_log_lines.stream_name(version=second)
