"""The execute-api gateway's pure functions: request -> proxy event, proxy response -> HTTP."""
from __future__ import annotations

import base64
import json

import pytest

from wildrydes_cli.local.invoke import gateway


def event(**overrides):
    args = dict(method="POST", path="/", query_string="", headers=[("Content-Type", "application/json")],
                body=b'{"distance": 30}', api_id="abc123", stage="prod", resource_path="/", resource_id="root1",
                path_parameters=None, stage_variables=None, account_id="123456789012")
    args.update(overrides)
    return gateway.build_proxy_event(**args)


def test_event_has_every_v1_field_with_api_gateway_shapes():
    ev = event(now=lambda: 1_700_000_000.25, new_id=lambda: "req-1")
    assert ev["resource"] == "/" and ev["path"] == "/" and ev["httpMethod"] == "POST"
    assert ev["headers"] == {"Content-Type": "application/json"}
    assert ev["multiValueHeaders"] == {"Content-Type": ["application/json"]}
    assert ev["queryStringParameters"] is None and ev["multiValueQueryStringParameters"] is None
    assert ev["pathParameters"] is None and ev["stageVariables"] is None
    assert ev["body"] == '{"distance": 30}' and ev["isBase64Encoded"] is False
    ctx = ev["requestContext"]
    assert ctx["requestId"] == "req-1" and ctx["requestTimeEpoch"] == 1_700_000_000_250
    assert ctx["requestTime"] == "14/Nov/2023:22:13:20 +0000"
    assert ctx["stage"] == "prod" and ctx["apiId"] == "abc123" and ctx["path"] == "/prod/"
    assert ctx["resourceId"] == "root1" and ctx["accountId"] == "123456789012"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    json.dumps(ev)  # serialisable as Lambda would receive it


def test_request_id_and_time_are_fresh_per_request_not_computed_at_import():
    clock = iter([100.0, 200.0])
    first = event(now=lambda: next(clock))
    second = event(now=lambda: next(clock))
    assert first["requestContext"]["requestId"] != second["requestContext"]["requestId"]
    assert first["requestContext"]["requestTimeEpoch"] == 100_000
    assert second["requestContext"]["requestTimeEpoch"] == 200_000
    # the real default clock moves too
    a, b = event(), event()
    assert a["requestContext"]["requestId"] != b["requestContext"]["requestId"]
    assert b["requestContext"]["requestTimeEpoch"] >= a["requestContext"]["requestTimeEpoch"] > 1_600_000_000_000


def test_repeated_headers_and_query_values_go_to_multi_value_maps_last_one_single():
    ev = event(headers=[("X-A", "1"), ("X-A", "2"), ("User-Agent", "curl/8")],
               query_string="breed=unicorn&x=1&x=2&empty=")
    assert ev["headers"]["X-A"] == "2" and ev["multiValueHeaders"]["X-A"] == ["1", "2"]
    assert ev["queryStringParameters"] == {"breed": "unicorn", "x": "2", "empty": ""}
    assert ev["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert ev["requestContext"]["identity"]["userAgent"] == "curl/8"


def test_empty_body_is_null_and_binary_body_is_base64():
    assert event(body=b"")["body"] is None
    ev = event(body=b"\xff\x00\xfe")
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == b"\xff\x00\xfe"


def test_path_parameters_and_stage_variables_pass_through():
    ev = event(path="/breeds/unicorn", resource_path="/breeds/{breed}", path_parameters={"breed": "unicorn"},
               stage_variables={"v": "1"})
    assert ev["pathParameters"] == {"breed": "unicorn"} and ev["stageVariables"] == {"v": "1"}
    assert ev["resource"] == "/breeds/{breed}" and ev["requestContext"]["path"] == "/prod/breeds/unicorn"


def test_valid_proxy_response_becomes_http_response():
    resp = gateway.proxy_response({"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-N": 5},
                                   "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "hi",
                                   "isBase64Encoded": False}, request_id="r1")
    assert resp.status == 201 and resp.body == b"hi"
    assert ("Set-Cookie", "a=1") in resp.headers and ("Set-Cookie", "b=2") in resp.headers
    assert ("X-N", "5") in resp.headers and ("x-amzn-RequestId", "r1") in resp.headers


def test_missing_content_type_defaults_to_json_and_missing_body_is_empty():
    resp = gateway.proxy_response({"statusCode": 204})
    assert resp.body == b"" and ("Content-Type", "application/json") in resp.headers


def test_base64_body_is_decoded():
    resp = gateway.proxy_response({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
                                   "isBase64Encoded": True})
    assert resp.body == b"\x00\x01"


@pytest.mark.parametrize("result, reason", [
    (0.71, "not an object"),                                           # the workshop's original bug
    ({"statusCode": 200, "body": 0.71}, "body must be a string"),
    ({"statusCode": "200", "body": "x"}, "statusCode"),
    ({"statusCode": True, "body": "x"}, "statusCode"),
    ({"body": "x"}, "statusCode"),
    ({"statusCode": 700, "body": "x"}, "statusCode"),
    ({"statusCode": 200, "body": "x", "extra": 1}, "unknown keys"),
    ({"statusCode": 200, "headers": ["a"]}, "headers must be an object"),
    ({"statusCode": 200, "headers": {"a": {"b": 1}}}, "header 'a'"),
    ({"statusCode": 200, "multiValueHeaders": {"a": "b"}}, "must be a list"),
    ({"statusCode": 200, "isBase64Encoded": "yes"}, "isBase64Encoded"),
    ({"statusCode": 200, "isBase64Encoded": True, "body": "***"}, "base64"),
])
def test_malformed_proxy_responses_are_502_internal_server_error(result, reason):
    with pytest.raises(gateway.MalformedProxyResponse, match=reason):
        gateway.parse_proxy_response(result)
    resp = gateway.proxy_response(result)
    assert resp.status == 502 and json.loads(resp.body) == {"message": "Internal server error"}


def test_canned_gateway_errors():
    forbidden = gateway.missing_authentication_token()
    assert forbidden.status == 403 and json.loads(forbidden.body) == {"message": "Missing Authentication Token"}
    assert ("x-amzn-ErrorType", "MissingAuthenticationTokenException") in forbidden.headers
    timeout = gateway.endpoint_timeout("r")
    assert timeout.status == 504 and json.loads(timeout.body) == {"message": "Endpoint request timed out"}
    assert gateway.internal_server_error().status == 502
    assert gateway.configuration_error().status == 500
