"""An AWS_IAM method's callers on the local target, in-process against moto: every row of the shared table
(tests/execute_api_rules.py, the one the real-AWS layer scripts AWS by) answered as API Gateway answers it, with
the account's IAM users as callers (inline, attached managed and group policies, explicit Deny, a resource-ARN
wildcard); an inactive or deleted user's key is unknown; the users' keys open no AWS API call."""
from __future__ import annotations

import json

import boto3
import execute_api_rules as rules
import pytest
from moto import mock_aws

from wildrydes_cli.local.awsapi import wsgi
from wildrydes_cli.local.awsapi.auth import Gate
from wildrydes_cli.local.awsapi.credentials import local_credentials
from wildrydes_cli.local.awsapi.function_credentials import Sessions
from wildrydes_cli.local.awsapi.iam_users import UserCalls
from wildrydes_cli.local.awsapi.role_calls import RoleCalls
from wildrydes_cli.local.http import HttpRequest
from wildrydes_cli.local.invoke import gateway

HOST = "127.0.0.1:4566"
ACCOUNT = "123456789012"
ARN_PREFIX = f"arn:aws:execute-api:us-east-1:{ACCOUNT}:api1"
METHOD_ARN = f"{ARN_PREFIX}/prod/POST/"
PATH = "/restapis/api1/prod/_user_request_/"
BODY = b'{"distance": 30}'


@pytest.fixture
def world(tmp_path):
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        keys = rules.make_callers(iam, ARN_PREFIX)
        gate = Gate(tmp_path, local_credentials(tmp_path), roles=RoleCalls(Sessions()), users=UserCalls())
        yield {"iam": iam, "keys": keys, "gate": gate}


def request(credentials, skew: int = 0) -> HttpRequest:
    headers = rules.signed_headers(f"http://{HOST}{PATH}", BODY, credentials, "us-east-1", skew)
    return HttpRequest("POST", PATH, "HTTP/1.1", [*headers.items(), ("Host", HOST)], BODY)


def answer(gate: Gate, req: HttpRequest) -> tuple[int, str | None, dict]:
    """What the daemon answers before the function runs, or 200 when it would run it."""
    denied = gate.execute_api_refusal(req, METHOD_ARN)
    if denied is None:
        return 200, None, {}
    response = gateway.forbidden(*denied)
    error_type = dict(response.headers).get("x-amzn-ErrorType")
    return response.status, error_type, json.loads(response.body)


@pytest.mark.parametrize("rule", rules.RULES, ids=[r.name for r in rules.RULES])
def test_each_rule_of_the_shared_table(world, rule):
    status, error_type, body = answer(world["gate"], request(rules.credentials_for(rule, world["keys"]), rule.skew))
    assert rules.holds(rule, status, error_type, body), (rule, status, error_type, body)


def test_the_messages_in_full(world):
    """The bad input's messages, as a caller reads them."""
    denied = answer(world["gate"], request(world["keys"]["denied"]))
    assert denied == (403, "AccessDeniedException", {"Message": f"User: arn:aws:iam::{ACCOUNT}:user/denied is not "
                      f"authorized to perform: execute-api:Invoke on resource: {METHOD_ARN}"})
    deny = answer(world["gate"], request(world["keys"]["deny"]))[2]["Message"]
    assert deny.endswith(f"on resource: {METHOD_ARN} with an explicit deny")


def test_a_policy_changed_or_a_key_deactivated_counts_at_once(world):
    iam, key = world["iam"], world["keys"]["denied"]
    assert answer(world["gate"], request(key))[0] == 403
    iam.put_user_policy(UserName="denied", PolicyName="now", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                                                 "Resource": f"{ARN_PREFIX}/prod/POST/*"}]}))
    assert answer(world["gate"], request(key))[0] == 200
    assert answer(world["gate"], request(key)) != answer(world["gate"], request(key, skew=-400))
    # the policy's resource is one method: another method or stage stays refused
    assert world["gate"].execute_api_refusal(request(key), f"{ARN_PREFIX}/prod/GET/") is not None
    assert world["gate"].execute_api_refusal(request(key), f"{ARN_PREFIX}/dev/POST/") is not None
    iam.update_access_key(UserName="denied", AccessKeyId=key[0], Status="Inactive")
    assert answer(world["gate"], request(key)) == (403, "UnrecognizedClientException",
                                                   {"message": "The security token included in the request is invalid."})


def test_a_deleted_users_key_is_unknown(world):
    iam, key = world["iam"], world["keys"]["allowed"]
    iam.delete_access_key(UserName="allowed", AccessKeyId=key[0])
    assert answer(world["gate"], request(key))[1] == "UnrecognizedClientException"


def test_a_users_key_opens_no_aws_api_call(world):
    """Nothing checks a user's policies on the emulator's AWS APIs, so its keys are refused there."""
    key, secret = world["keys"]["allowed"]
    client = boto3.client("sts", endpoint_url=f"http://{HOST}", region_name="us-east-1", aws_access_key_id=key,
                          aws_secret_access_key=secret)
    captured = {}

    def grab(request, **_):
        captured["request"] = request
        raise RuntimeError("captured")

    client.meta.events.register("before-send", grab)
    with pytest.raises(RuntimeError):
        client.get_caller_identity()
    prepared = captured["request"]
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body or b""
    req = HttpRequest("POST", "/", "HTTP/1.1",
                      [*((k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()),
                       ("Host", HOST)], body)
    response = world["gate"].call(lambda r: wsgi.call_moto(r, 4566), req)
    assert response.status == 403 and b"InvalidClientTokenId" in response.body
