"""deploy --auth api-key against real AWS behaviour (awsbehaviour.py, behaviour 19: api_stage_behaviour.py): CloudFormation makes the key
and plan, a switch reaches stage prod only through a new deployment (deploy makes it), rotate replaces the key,
cleanup deletes them, and what the CLI says about the limits on AWS (best effort) differs from the local target."""
from __future__ import annotations

import api_stage_behaviour
import boto3


def _keys() -> list[dict]:
    return boto3.client("apigateway").get_api_keys(includeValues=True)["items"]


def test_switching_to_api_key_reaches_stage_prod_only_through_a_new_deployment(wildrydes, with_model, real):
    first = wildrydes.json("deploy")
    assert real.stale_stages() == set()
    switched = wildrydes.json("deploy", "--auth", "api-key", "--yes")
    # the methods changed with a parameter only: without the redeployment deploy makes, prod would still
    # answer without a key
    assert real.stale_stages() == set(), "stage prod still serves the methods without ApiKeyRequired"
    assert "CreateDeployment" in real.operations("api-gateway") and switched["api_id"] == first["api_id"]
    assert [k["name"] for k in _keys()] == ["wildrydes-ml-mod3-4-key-1"] and _keys()[0]["enabled"]
    plans = boto3.client("apigateway").get_usage_plans()["items"]
    assert plans[0]["apiStages"] == [{"apiId": first["api_id"], "stage": "prod"}]
    assert plans[0]["throttle"] == {"rateLimit": 50.0, "burstLimit": 100}


def test_without_a_new_deployment_the_switch_would_not_reach_callers(wildrydes, with_model, real, monkeypatch):
    """The scripted snapshot itself: a switch whose stage is not deployed again leaves prod stale."""
    from wildrydes_cli.aws.client import Aws
    wildrydes.json("deploy")
    monkeypatch.setattr(Aws, "create_deployment", lambda self, api_id, stage: None)
    wildrydes.json("deploy", "--auth", "api-key", "--yes")
    assert real.stale_stages() != set()


def test_keys_show_rotate_and_cleanup_on_aws(wildrydes, with_model, real):
    wildrydes.json("deploy", "--auth", "api-key", "--quota", "1000/month")
    shown = wildrydes.json("keys", "show")
    assert shown["value"] == _keys()[0]["value"] and shown["quota"] == "1000/month"
    rotated = wildrydes.json("keys", "rotate")
    assert rotated["replaced"] == shown["keys"][0]["key_id"]
    assert [k["name"] for k in _keys()] == ["wildrydes-ml-mod3-4-key-2"]     # the old key is gone
    assert wildrydes.json("keys", "show")["value"] != shown["value"]
    wildrydes.json("cleanup", "--yes")
    assert _keys() == [] and boto3.client("apigateway").get_usage_plans()["items"] == []


def test_on_aws_the_limits_are_said_to_be_best_effort(wildrydes, with_model, real):
    assert api_stage_behaviour.USAGE_PLANS_BEST_EFFORT
    text = wildrydes("deploy", "--auth", "api-key", "--rate", "10", json_output=False).stdout
    assert "best-effort" in " ".join(text.split())
    assert wildrydes.json("status")["limits_enforced"] == "best-effort"


def test_status_shows_todays_usage_as_api_gateway_counts_it(wildrydes, with_model, real):
    """GetUsage (scripted: moto has none) for the key's plan and today's UTC day; a predict counts, a request
    without the key does not; the quota left comes from API Gateway's second figure."""
    import datetime
    wildrydes.json("deploy", "--auth", "api-key", "--quota", "100/day")
    assert wildrydes.json("status")["usage"]["used"] == 0
    for _ in range(2):
        wildrydes.json("predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
                       "--tmax", "333", "--tmin", "300", "--prcp", "0")
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert wildrydes.json("status")["usage"] == {"day": today, "used": 2, "remaining": 98, "counted": "best-effort"}
    text = " ".join(wildrydes("status", json_output=False).stdout.split())
    assert f"usage today 2 requests on {today} UTC, 98 of 100/day left (API Gateway's count, best-effort)" in text
    assert "GetUsage" in real.operations("api-gateway")
    url = wildrydes.json("status")["invoke_url"]
    assert real.answer_execute_api("POST", url, {}, b"{}") == (403, "ForbiddenException", {"message": "Forbidden"})
    assert wildrydes.json("status")["usage"]["used"] == 2
