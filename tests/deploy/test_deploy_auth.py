"""deploy --auth none|api-key against moto: every method requires the key, the stack's parameters hold the mode
and limits, later deploys keep them, a switch on a live API asks first, and limits that refuse everything are
usage errors. (moto's CloudFormation skips the key and plan themselves: the local target makes them, see
tests/local/awsapi/test_stack_keys.py and tests/e2e/test_e2e_api_keys.py.)"""
from __future__ import annotations

import boto3
import pytest
from cli_helpers import interactive


def _key_required(api_id: str) -> dict[str, bool]:
    items = boto3.client("apigateway").get_resources(restApiId=api_id, embed=["methods"])["items"]
    return {r["path"]: bool(r["resourceMethods"]["ANY"].get("apiKeyRequired")) for r in items
            if "ANY" in (r.get("resourceMethods") or {})}


def _params() -> dict[str, str]:
    stack = boto3.client("cloudformation").describe_stacks(StackName="wildrydes-ml-mod3-4")["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def test_api_key_mode_requires_the_key_on_every_method_and_keeps_it(wildrydes, with_model):
    made = wildrydes.json("deploy", "--auth", "api-key", "--rate", "100", "--burst", "20", "--quota", "5000/day")
    assert (made["auth"], made["rate"], made["burst"], made["quota"]) == ("api-key", 100.0, 20, "5000/day")
    assert '-H "x-api-key: $WILDRYDES_API_KEY"' in made["curl"]
    assert _key_required(made["api_id"]) == {"/": True, "/breeds": True, "/breeds/{breed}": True}
    params = _params()
    assert (params["Auth"], params["ThrottleRate"], params["ThrottleBurst"], params["QuotaLimit"],
            params["QuotaPeriod"]) == ("api-key", "100", "20", "5000", "DAY")

    again = wildrydes.json("deploy")          # kept until changed
    assert again["auth"] == "api-key" and (again["rate"], again["burst"], again["quota"]) == (100.0, 20, "5000/day")
    assert "auth api-key" in again["kept"] and _key_required(again["api_id"])["/"] is True
    status = wildrydes.json("status")
    assert (status["auth"], status["rate"], status["burst"], status["quota"]) == ("api-key", 100.0, 20, "5000/day")

    wildrydes.json("deploy", "--quota", "none")
    assert _params()["QuotaLimit"] == "0" and _params()["ThrottleRate"] == "100"


def test_the_default_is_open_and_the_curl_line_has_no_key(wildrydes, deployed):
    assert deployed["auth"] == "none" and deployed["rate"] is None and "x-api-key" not in deployed["curl"]
    assert set(_key_required(deployed["api_id"]).values()) == {False}
    assert _params()["Auth"] == "none"


def test_switching_a_live_api_asks_first_and_a_refusal_changes_nothing(wildrydes, deployed, monkeypatch):
    refused = wildrydes("deploy", "--auth", "api-key", expect=2)          # no terminal: cannot ask
    assert "callers without the key get 403 Forbidden" in refused.stderr and "--yes" in refused.stderr
    assert _params()["Auth"] == "none"
    interactive(monkeypatch)
    declined = wildrydes("deploy", "--auth", "api-key", input="n\n", expect=2, json_output=False)
    assert "Not switched: stack wildrydes-ml-mod3-4 keeps --auth none" in declined.stderr
    assert _params()["Auth"] == "none" and set(_key_required(deployed["api_id"]).values()) == {False}
    wildrydes("deploy", "--auth", "api-key", input="y\n", json_output=False)
    assert _params()["Auth"] == "api-key" and set(_key_required(deployed["api_id"]).values()) == {True}
    back = wildrydes.json("deploy", "--auth", "none", "--yes")
    assert back["auth"] == "none" and set(_key_required(deployed["api_id"]).values()) == {False}


@pytest.mark.parametrize("args, message", [
    (["--auth", "api-key", "--rate", "0"], "--rate must be above 0"),
    (["--auth", "api-key", "--burst", "0"], "--burst must be at least 1"),
    (["--auth", "api-key", "--quota", "0/day"], "--quota '0/day'"),
    (["--auth", "api-key", "--quota", "100/year"], "N/day, N/week or N/month"),
    (["--auth", "none", "--rate", "5"], "need --auth api-key"),
])
def test_limits_that_refuse_everything_are_usage_errors_before_anything_is_made(wildrydes, args, message):
    result = wildrydes("deploy", *args, expect=2)
    assert message in result.stderr
    assert boto3.client("cloudformation").describe_stacks()["Stacks"] == []


def test_iam_mode_signs_every_method_and_prints_a_signing_curl(wildrydes, with_model):
    made = wildrydes.json("deploy", "--auth", "iam")
    assert made["auth"] == "iam" and made["rate"] is None
    assert '--aws-sigv4 "aws:amz:us-east-1:execute-api"' in made["curl"]
    assert made["credentials_export"] == 'eval "$(aws configure export-credentials --format env)"'
    items = boto3.client("apigateway").get_resources(restApiId=made["api_id"], embed=["methods"])["items"]
    assert {r["path"]: r["resourceMethods"]["ANY"]["authorizationType"] for r in items
            if "ANY" in (r.get("resourceMethods") or {})} == {"/": "AWS_IAM", "/breeds": "AWS_IAM",
                                                                "/breeds/{breed}": "AWS_IAM"}
    assert _params()["Auth"] == "iam" and "auth iam" in wildrydes.json("deploy")["kept"]
    refused = wildrydes("deploy", "--auth", "none", expect=2)
    assert "requires requests signed with AWS credentials" in refused.stderr
    assert "need --auth api-key" in wildrydes("deploy", "--rate", "5", "--auth", "iam", expect=2).stderr


def test_limits_for_a_stack_kept_without_a_key_are_a_usage_error(wildrydes, deployed):
    refused = wildrydes("deploy", "--rate", "5", expect=2)
    assert "is deployed with --auth none: add --auth api-key" in refused.stderr
    assert _params()["ThrottleRate"] == "50"
