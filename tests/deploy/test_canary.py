"""deploy --canary N, promote and a canary's rollback against moto (botocore validates every call's parameters)."""
from __future__ import annotations

import json

import boto3
import pytest
from cli_helpers import upload_model

from wildrydes_cli.training.sagemaker_archive import write_model_archive

GOOD = write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0)
ALSO_GOOD = write_model_archive([-0.5, 0.0, 0.0101, 0.0, 0.0, 0.0], 0.0)
WEAK = write_model_archive([0.0, 0.001, 0.0, 0.0, 0.0, 0.0], -5.0)
KEYS = [f"linear-learner-2026-0{month}-01-00-00-00-000/output/model.tar.gz" for month in (3, 4, 5)]


def _env(function: str, qualifier: str | None = None) -> str:
    extra = {"Qualifier": qualifier} if qualifier else {}
    config = boto3.client("lambda").get_function_configuration(FunctionName=function, **extra)
    return config["Environment"]["Variables"]["MODEL_PATH"]


def _integration_uris(api_id: str) -> set[str]:
    api = boto3.client("apigateway")
    uris = set()
    for resource in api.get_resources(restApiId=api_id)["items"]:
        if "ANY" in (resource.get("resourceMethods") or {}):
            uris.add(api.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod="ANY")["uri"])
    return uris


def _started(wildrydes, boot, percent: str = "10") -> tuple[dict, dict]:
    upload_model(boot["bucket"], KEYS[0], GOOD)
    first = wildrydes.json("deploy")
    upload_model(boot["bucket"], KEYS[1], ALSO_GOOD)
    return first, wildrydes.json("deploy", "--canary", percent)


def test_canary_text_says_which_model_answers_what_share_and_the_ways_on(wildrydes, boot):
    upload_model(boot["bucket"], KEYS[0], GOOD)
    wildrydes.json("deploy")
    upload_model(boot["bucket"], KEYS[1], ALSO_GOOD)
    text = " ".join(wildrydes("deploy", "--canary", "10", json_output=False).stdout.split())
    assert f"10% of the requests to s3://{boot['bucket']}/{KEYS[1]} (version 2), 90% to {KEYS[0]} (version 1)" in text
    assert "`wildrydes promote`" in text and "`wildrydes rollback`" in text
    back = " ".join(wildrydes("rollback", json_output=False).stdout.split())
    assert f"Rolled back: every request to s3://{boot['bucket']}/{KEYS[0]} again (version 1)" in back


def test_canary_freezes_each_model_in_a_version_and_weights_the_alias_the_api_invokes(wildrydes, boot):
    first, started = _started(wildrydes, boot)
    function, api_id = first["function_name"], first["api_id"]
    state = started["canary"]
    assert started["action"] == "canary" and started["model_path"] == KEYS[1] and started["gate"] is not None
    assert state["percent"] == 10 and state["stable_model"] == KEYS[0] and state["candidate_model"] == KEYS[1]
    # each version keeps its own MODEL_PATH; $LATEST still serves the model served before the canary
    assert _env(function, state["stable_version"]) == KEYS[0] and _env(function, state["candidate_version"]) == KEYS[1]
    assert _env(function) == KEYS[0]
    alias = boto3.client("lambda").get_alias(FunctionName=function, Name="live")
    assert alias["FunctionVersion"] == state["stable_version"]
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {state["candidate_version"]: 0.1}
    assert _integration_uris(api_id) == {f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                         f"{alias['AliasArn']}/invocations"}
    policy = json.loads(boto3.client("lambda").get_policy(FunctionName=function, Qualifier="live")["Policy"])
    assert any(s["Resource"] == alias["AliasArn"] and s["Condition"]["ArnLike"]["AWS:SourceArn"].endswith(f":{api_id}/*")
               for s in policy["Statement"])
    status = wildrydes.json("status")
    assert status["canary"]["percent"] == 10 and status["canary"]["candidate_model"] == KEYS[1]
    assert status["deployed_model"] == KEYS[0]
    text = wildrydes("status", json_output=False).stdout
    assert f"canary: 10% to {KEYS[1]}" in " ".join(text.split())
    entry = wildrydes.json("history", "--limit", "1")["entries"][0]
    assert entry["action"] == "canary" and entry["model_path"] == KEYS[1] and entry["previous_model"] == KEYS[0]
    assert entry["canary_percent"] == 10


def test_promote_moves_every_request_and_latest_to_the_new_model_and_a_plain_deploy_starts_from_it(wildrydes, boot):
    first, started = _started(wildrydes, boot, "25")
    function, api_id = first["function_name"], first["api_id"]
    said = " ".join(wildrydes("promote", json_output=False).stdout.split())
    assert f"Promoted: every request to s3://{boot['bucket']}/{KEYS[1]} (version 2;" in said
    entry = wildrydes.json("history", "--limit", "1")["entries"][0]
    assert (entry["action"], entry["model_path"], entry["previous_model"]) == ("promote", KEYS[1], KEYS[0])
    alias = boto3.client("lambda").get_alias(FunctionName=function, Name="live")
    assert alias["FunctionVersion"] == started["canary"]["candidate_version"]
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert _env(function) == KEYS[1]                  # $LATEST matches the promoted version
    assert wildrydes.json("status")["canary"] is None
    # a plain deploy after it serves $LATEST again (the API back on the function), from the promoted model
    again = wildrydes.json("deploy")
    assert again["model_path"] == KEYS[1] and again["gate"] is None
    assert all(":live/" not in uri for uri in _integration_uris(api_id))
    again_promote = wildrydes("promote", expect=2, json_output=False)
    assert "No canary is running" in again_promote.stderr and "deploy --canary N" in again_promote.stderr


def test_rollback_during_a_canary_is_one_alias_update_back_to_the_served_version(wildrydes, boot):
    first, started = _started(wildrydes, boot)
    function = first["function_name"]
    before = len(boto3.client("cloudformation").describe_stack_events(StackName=first["stack"])["StackEvents"])
    back = wildrydes.json("rollback")
    assert back["action"] == "rollback" and back["model_path"] == KEYS[0] and back["other_model"] == KEYS[1]
    alias = boto3.client("lambda").get_alias(FunctionName=function, Name="live")
    assert alias["FunctionVersion"] == started["canary"]["stable_version"]
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert _env(function) == KEYS[0]
    # no stack operation: the stack's events are as they were
    assert len(boto3.client("cloudformation").describe_stack_events(StackName=first["stack"])["StackEvents"]) == before
    entry = wildrydes.json("history", "--limit", "1")["entries"][0]
    assert entry["action"] == "rollback" and entry["model_path"] == KEYS[0] and entry["previous_model"] == KEYS[1]
    # the canary's model was never served alone: it is not "the previous model" for a later rollback
    alone = wildrydes("rollback", expect=2, json_output=False)
    assert "No previous model in the deploy history" in alone.stderr
    # nothing was deleted: both models are still in the bucket
    listed = boto3.client("s3").list_objects_v2(Bucket=boot["bucket"], Prefix="linear-learner-")["Contents"]
    assert {KEYS[0], KEYS[1]} <= {item["Key"] for item in listed}


def test_bad_canary_requests_are_usage_errors_with_the_fix(wildrydes, boot):
    for weight in ("0", "100", "-5"):
        refused = wildrydes("deploy", "--canary", weight, expect=2, json_output=False)
        assert f"--canary {weight}: the new model's share of the requests must be 1-99 percent" in \
            " ".join(refused.stderr.split())
    upload_model(boot["bucket"], KEYS[0], GOOD)
    nothing = wildrydes("deploy", "--canary", "10", expect=2, json_output=False)
    assert "Nothing is served by stack wildrydes-ml-mod3-4 yet" in " ".join(nothing.stderr.split())
    nothing_deployed = wildrydes("promote", expect=2, json_output=False)
    assert "Nothing is deployed, so there is no canary to promote" in nothing_deployed.stderr
    first = wildrydes.json("deploy")
    same = wildrydes("deploy", "--canary", "10", expect=2, json_output=False)
    assert f"{KEYS[0]} is the model served now: a canary needs another model" in " ".join(same.stderr.split())
    assert boto3.client("lambda").list_aliases(FunctionName=first["function_name"])["Aliases"] == []
    no_canary = wildrydes("promote", expect=2, json_output=False)
    assert f"No canary is running on {first['function_name']}, so there is nothing to promote" in \
        " ".join(no_canary.stderr.split())

    upload_model(boot["bucket"], KEYS[1], ALSO_GOOD)
    wildrydes.json("deploy", "--canary", "10")
    for args in (("deploy",), ("deploy", "--canary", "20")):
        busy = " ".join(wildrydes(*args, expect=2, json_output=False).stderr.split())
        assert f"A canary is running on {first['function_name']}: {KEYS[1]} answers 10% of the requests" in busy
        assert "`wildrydes promote`" in busy and "`wildrydes rollback`" in busy
    to = wildrydes("rollback", "--to", KEYS[1], expect=2, json_output=False)
    assert "A canary is running: `wildrydes rollback` without --to ends it" in " ".join(to.stderr.split())


def test_the_quality_gate_applies_before_a_canary_starts(wildrydes, boot):
    upload_model(boot["bucket"], KEYS[0], GOOD)
    first = wildrydes.json("deploy")
    upload_model(boot["bucket"], KEYS[2], WEAK)
    refused = wildrydes("deploy", "--canary", "10", expect=3, json_output=False)
    assert f"The candidate {KEYS[2]} has auc 0." in " ".join(refused.stderr.split())
    assert boto3.client("lambda").list_aliases(FunctionName=first["function_name"])["Aliases"] == []
    assert _env(first["function_name"]) == KEYS[0]
    forced = wildrydes.json("deploy", "--canary", "10", "--force")
    assert forced["gate"]["forced"] is True and forced["canary"]["candidate_model"] == KEYS[2]


class _Killed(BaseException):
    """Stands in for the SIGKILL of a named fault point (the e2e test kills the real process there)."""


def test_a_canary_interrupted_after_latest_got_the_new_model_is_completed_by_running_it_again(wildrydes, boot,
                                                                                                monkeypatch):
    from wildrydes_cli import faults

    def kill(name: str) -> None:
        if name == "canary-candidate-published" and not passes:
            passes.append(name)
            raise _Killed(name)

    passes: list[str] = []

    upload_model(boot["bucket"], KEYS[0], GOOD)
    first = wildrydes.json("deploy")
    function, api_id = first["function_name"], first["api_id"]
    upload_model(boot["bucket"], KEYS[1], ALSO_GOOD)
    monkeypatch.setattr(faults, "point", kill)
    with pytest.raises(_Killed):
        wildrydes("deploy", "--canary", "10")
    # the state it left: the API on alias live, version 1 alone (the served model); $LATEST on the new model
    alias = boto3.client("lambda").get_alias(FunctionName=function, Name="live")
    assert alias["FunctionVersion"] == "1" and not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert _env(function, "1") == KEYS[0] and _env(function) == KEYS[1]
    assert _integration_uris(api_id) == {f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                         f"{alias['AliasArn']}/invocations"}

    again = wildrydes.json("deploy", "--canary", "10")   # what is served is the alias's model, not $LATEST's
    state = again["canary"]
    assert (state["stable_version"], state["stable_model"], state["candidate_model"]) == ("1", KEYS[0], KEYS[1])
    assert state["percent"] == 10 and _env(function, state["candidate_version"]) == KEYS[1]
    assert _env(function) == KEYS[0]                    # $LATEST back on the served model
    entry = wildrydes.json("history", "--limit", "1")["entries"][0]
    assert (entry["action"], entry["model_path"], entry["previous_model"]) == ("canary", KEYS[1], KEYS[0])


def test_a_plain_deploy_after_an_interrupted_canary_compares_and_records_against_the_model_the_alias_served(
        wildrydes, boot, monkeypatch):
    from wildrydes_cli import faults

    def kill(name: str) -> None:
        if name == "canary-candidate-published" and not passes:
            passes.append(name)
            raise _Killed(name)

    passes: list[str] = []

    upload_model(boot["bucket"], KEYS[0], GOOD)
    first = wildrydes.json("deploy")
    upload_model(boot["bucket"], KEYS[1], ALSO_GOOD)
    monkeypatch.setattr(faults, "point", kill)
    with pytest.raises(_Killed):
        wildrydes("deploy", "--canary", "10")
    plain = wildrydes.json("deploy")
    assert plain["model_path"] == KEYS[1] and plain["gate"] is not None   # gated against KEYS[0], the served one
    assert all(":live/" not in uri for uri in _integration_uris(first["api_id"]))
    entry = wildrydes.json("history", "--limit", "1")["entries"][0]
    assert (entry["action"], entry["model_path"], entry["previous_model"]) == ("deploy", KEYS[1], KEYS[0])


def test_promote_pins_the_promoted_model_so_a_newer_one_waits_for_model_path_newest(wildrydes, boot):
    first, _ = _started(wildrydes, boot)
    promoted = wildrydes.json("promote")
    assert promoted["pinned"] is True
    assert wildrydes.json("history", "--limit", "1")["entries"][0]["pinned"] is True
    upload_model(boot["bucket"], KEYS[2], ALSO_GOOD)   # newer than the promoted model
    kept = wildrydes.json("deploy")
    assert kept["model_path"] == KEYS[1] and kept["pinned"] is True
    assert f"model {KEYS[1]} (pinned)" in kept["kept"]
    assert wildrydes.json("status")["pinned"] is True
    pinned = " ".join(wildrydes("deploy", "--canary", "10", expect=2, json_output=False).stderr.split())
    assert f"{KEYS[1]} is the model served now, pinned (later deploys keep it): a canary needs another model: " \
        "--model-path newest (the newest model) or --model-path KEY." in pinned
    assert wildrydes.json("deploy", "--canary", "10", "--model-path", "newest")["canary"]["candidate_model"] == KEYS[2]


def test_rollback_of_a_canary_pins_the_served_model_so_the_turned_away_newer_one_is_not_served_next(wildrydes,
                                                                                                   boot):
    _started(wildrydes, boot)
    said = " ".join(wildrydes("rollback", json_output=False).stdout.split())
    assert f"{KEYS[0]} is pinned: later deploys keep it (`wildrydes deploy --model-path newest`" in said
    kept = wildrydes.json("deploy")   # KEYS[1] is the newest model, the one just rolled back from
    assert kept["model_path"] == KEYS[0] and kept["pinned"] is True
