"""A stack's API keys and usage plans on the local target: moto's CloudFormation skips them, the emulator makes
them from the template (create, update, replace on a new name, delete), through the journal so a restart keeps
them; and the execute-api front enforces them before anything runs."""
from __future__ import annotations

import json
from pathlib import Path

import emulated
import pytest

from wildrydes_cli.local.awsapi import moto_backends, stack_keys

FUNCTION_TEMPLATE = Path(__file__).resolve().parents[3] / "cloudformation" / "function.yml"

KEYED_API = """
Parameters:
  Auth: {Type: String, Default: api-key}
  Rate: {Type: Number, Default: 1}
  Burst: {Type: Number, Default: 2}
  Quota: {Type: Number, Default: 0}
  Generation: {Type: Number, Default: 1}
Conditions:
  UseKey: !Equals [!Ref Auth, api-key]
  HasQuota: !Not [!Equals [!Ref Quota, 0]]
Resources:
  Api: {Type: AWS::ApiGateway::RestApi, Properties: {Name: keyed}}
  Root:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: ANY
      AuthorizationType: NONE
      ApiKeyRequired: !If [UseKey, true, false]
      Integration: {Type: AWS_PROXY, IntegrationHttpMethod: POST,
                    Uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:none/invocations"}
  Prod:
    Type: AWS::ApiGateway::Deployment
    DependsOn: Root
    Properties: {RestApiId: !Ref Api, StageName: prod}
  Key:
    Type: AWS::ApiGateway::ApiKey
    Condition: UseKey
    Properties: {Name: !Sub "${AWS::StackName}-key-${Generation}", Enabled: true}
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Condition: UseKey
    DependsOn: Prod
    Properties:
      UsagePlanName: !Sub ${AWS::StackName}-plan
      ApiStages: [{ApiId: !Ref Api, Stage: prod}]
      Throttle: {RateLimit: !Ref Rate, BurstLimit: !Ref Burst}
      Quota: !If [HasQuota, {Limit: !Ref Quota, Period: WEEK}, !Ref AWS::NoValue]
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Condition: UseKey
    Properties: {KeyId: !Ref Key, KeyType: API_KEY, UsagePlanId: !Ref Plan}
"""


def test_the_function_templates_key_plan_and_association_as_resolved_from_its_parameters():
    template = moto_backends.parse_template(FUNCTION_TEMPLATE.read_text())
    values = {"Auth": "api-key", "ThrottleRate": "100", "ThrottleBurst": "20", "QuotaLimit": "5000",
              "QuotaPeriod": "MONTH", "ApiKeyGeneration": "3", "AWS::StackName": "s", "ModelInferenceApi": "a1"}
    got = stack_keys.wanted(template, values)
    assert got.keys == (stack_keys.KeySpec("ApiKey", "s-key-3", got.keys[0].description, True),)
    plan = got.plans[0]
    assert (plan.name, plan.stages, plan.rate, plan.burst, plan.quota_limit, plan.quota_period) == (
        "s-plan", (("a1", "prod"),), 100.0, 20, 5000, "MONTH")
    assert got.links == (("UsagePlan", "ApiKey"),)
    assert stack_keys.wanted(template, {**values, "QuotaLimit": "0"}).plans[0].quota_limit is None
    assert stack_keys.wanted(template, {**values, "Auth": "none"}) == stack_keys.Wanted()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    state = tmp_path_factory.mktemp("emulator")
    with emulated.emulator(state) as status:
        yield status, state


def _params(**given) -> list[dict]:
    return [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in given.items()]


def _mine(gw, stack: str) -> tuple[list[dict], list[dict]]:
    keys = [k for k in gw.get_api_keys(includeValues=True)["items"] if k["name"].startswith(stack)]
    plans = [p for p in gw.get_usage_plans()["items"] if p["name"].startswith(stack)]
    return keys, plans


def _call(url: str, api_id: str, key: str | None) -> tuple[int, dict]:
    headers = {"x-api-key": key} if key is not None else {}
    status, _, body = emulated.http("POST", f"{url}/restapis/{api_id}/prod/_user_request_/", "{}", headers)
    return status, json.loads(body)


def test_a_stacks_key_and_plan_are_made_changed_replaced_kept_and_deleted(local):
    status, state = local
    aws = emulated.clients(status.endpoint_url, services=("cloudformation", "apigateway"))
    cfn, gw = aws["cloudformation"], aws["apigateway"]
    cfn.create_stack(StackName="keyed", TemplateBody=KEYED_API, Parameters=_params(Rate=1, Burst=2))
    keys, plans = _mine(gw, "keyed")
    assert [(k["name"], k["enabled"], len(k["value"])) for k in keys] == [("keyed-key-1", True, 40)]
    api_id = next(a["id"] for a in gw.get_rest_apis()["items"] if a["name"] == "keyed")
    assert plans[0]["apiStages"] == [{"apiId": api_id, "stage": "prod"}]
    assert plans[0]["throttle"] == {"rateLimit": 1.0, "burstLimit": 2} and "quota" not in plans[0]
    assert [k["id"] for k in gw.get_usage_plan_keys(usagePlanId=plans[0]["id"])["items"]] == [keys[0]["id"]]

    # enforced before the integration (which points at no function: 500 once past the key)
    assert _call(status.endpoint_url, api_id, None) == (403, {"message": "Forbidden"})
    assert _call(status.endpoint_url, api_id, "x" * 40) == (403, {"message": "Forbidden"})
    assert _call(status.endpoint_url, api_id, keys[0]["value"])[0] == 500
    assert _call(status.endpoint_url, api_id, keys[0]["value"])[0] == 500
    assert _call(status.endpoint_url, api_id, keys[0]["value"]) == (429, {"message": "Too Many Requests"})

    # limits change in place; a new name replaces the key (the old one stops working)
    cfn.update_stack(StackName="keyed", TemplateBody=KEYED_API, Parameters=_params(Rate=1000, Burst=500, Quota=2,
                                                                                   Generation=2))
    new_keys, new_plans = _mine(gw, "keyed")
    assert [k["name"] for k in new_keys] == ["keyed-key-2"] and new_keys[0]["value"] != keys[0]["value"]
    assert new_plans[0]["id"] == plans[0]["id"]
    assert new_plans[0]["throttle"] == {"rateLimit": 1000.0, "burstLimit": 500}
    assert new_plans[0]["quota"]["period"] == "WEEK" and int(new_plans[0]["quota"]["limit"]) == 2
    assert [k["id"] for k in gw.get_usage_plan_keys(usagePlanId=plans[0]["id"])["items"]] == [new_keys[0]["id"]]
    assert _call(status.endpoint_url, api_id, keys[0]["value"]) == (403, {"message": "Forbidden"})
    assert _call(status.endpoint_url, api_id, new_keys[0]["value"])[0] == 500
    assert _call(status.endpoint_url, api_id, new_keys[0]["value"])[0] == 500
    assert _call(status.endpoint_url, api_id, new_keys[0]["value"]) == (429, {"message": "Limit Exceeded"})

    cfn.delete_stack(StackName="keyed")
    assert _mine(gw, "keyed") == ([], [])


def test_keys_and_plans_survive_a_restart_with_the_same_value(tmp_path):
    with emulated.emulator(tmp_path) as status:
        aws = emulated.clients(status.endpoint_url, services=("cloudformation", "apigateway"))
        aws["cloudformation"].create_stack(StackName="kept", TemplateBody=KEYED_API)
        before = _mine(aws["apigateway"], "kept")
    with emulated.emulator(tmp_path) as status:
        after = _mine(emulated.clients(status.endpoint_url, services=("apigateway",))["apigateway"], "kept")
    assert [(k["id"], k["value"]) for k in after[0]] == [(k["id"], k["value"]) for k in before[0]] != []
    assert [(p["id"], p["throttle"]) for p in after[1]] == [(p["id"], p["throttle"]) for p in before[1]]


@pytest.mark.parametrize("header, expected", [
    ("k" * 10240, 403), ("abc\tdef" * 5, 403), ("ключ-ключ-ключ-ключ-ключ", 403), (" " * 30, 403),
    # control characters HTTP does not allow in a field value: in x-api-key on a method that requires a key,
    # API Gateway's 403 (the front reads the request that far, then closes; tests/local/front/test_front_key_header.py)
    ("abc\x7fdef" * 5, 403), ("abc\x01def" * 5, 403)])
def test_a_hostile_key_header_is_refused_never_a_500(local, header, expected):
    status, _ = local
    aws = emulated.clients(status.endpoint_url, services=("cloudformation", "apigateway"))
    if not _mine(aws["apigateway"], "hostile")[0]:
        aws["cloudformation"].create_stack(StackName="hostile", TemplateBody=KEYED_API)
    api_id = next(a["id"] for a in aws["apigateway"].get_rest_apis()["items"] if a["name"] == "keyed"
                  and a["id"] in {s["apiId"] for p in _mine(aws["apigateway"], "hostile")[1] for s in p["apiStages"]})
    status_code, body = _raw_call(status.endpoint_url, api_id, header)
    assert status_code == expected
    if expected == 403:
        assert body == {"message": "Forbidden"}


def _raw_call(url: str, api_id: str, header: str) -> tuple[int, dict]:
    """The header's bytes as given (UTF-8), over a plain socket: urllib refuses control characters."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    request = (f"POST /restapis/{api_id}/prod/_user_request_/ HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               f"Content-Length: 2\r\nConnection: close\r\n").encode() + b"x-api-key: " + header.encode() + b"\r\n\r\n{}"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body else {}
