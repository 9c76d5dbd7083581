"""An x-api-key holding a control character, over raw sockets against a real daemon: on a method that requires a
key it is API Gateway's 403 {"message":"Forbidden"} (the function does not run), on an open method the front's
400, and CR/LF in the key (header injection) or a control character in any other header stays a 400. Every
answer closes the connection; the daemon logs no traceback."""
from __future__ import annotations

import json
from pathlib import Path

import emulated
import pytest
from test_front import exchange, status_of

pytestmark = pytest.mark.slow

COUNTER = '''
import os
def handler(event, context):
    return {"statusCode": 200, "body": "ran"}
'''
KEY = "k" * 40


@pytest.fixture(scope="module")
def apis(tmp_path_factory):
    """Two APIs of one function: one requiring a key (with a key in a plan of its stage), one open."""
    state_dir = tmp_path_factory.mktemp("keyheader")
    with emulated.emulator(state_dir) as status:
        code = emulated.zip_files({"index.py": COUNTER})
        keyed = emulated.deploy(status.endpoint_url, code, {}, api_key_required=True)
        gw = keyed.aws["apigateway"]
        key_id = gw.create_api_key(name="k", value=KEY, enabled=True)["id"]
        plan = gw.create_usage_plan(name="p", apiStages=[{"apiId": keyed.api_id, "stage": "prod"}],
                                    throttle={"rateLimit": 1000.0, "burstLimit": 1000})["id"]
        gw.create_usage_plan_key(usagePlanId=plan, keyId=key_id, keyType="API_KEY")
        open_api = gw.create_rest_api(name="open")["id"]
        root = gw.get_resources(restApiId=open_api)["items"][0]["id"]
        uri = gw.get_integration(restApiId=keyed.api_id, resourceId=gw.get_resources(
            restApiId=keyed.api_id)["items"][0]["id"], httpMethod="ANY")["uri"]
        gw.put_method(restApiId=open_api, resourceId=root, httpMethod="ANY", authorizationType="NONE")
        gw.put_integration(restApiId=open_api, resourceId=root, httpMethod="ANY", type="AWS_PROXY",
                           integrationHttpMethod="POST", uri=uri)
        gw.create_deployment(restApiId=open_api, stageName="prod")
        yield status, f"/restapis/{keyed.api_id}/prod/_user_request_/", f"/restapis/{open_api}/prod/_user_request_/"
    log = Path(status.log_file).read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def request(path: str, key: bytes, extra: bytes = b"") -> bytes:
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-api-key: " + key
            + b"\r\n" + extra + b"Content-Length: 2\r\n\r\n{}")


def answer(data: bytes) -> tuple[int, dict, bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    return status_of(data), json.loads(body), head


def test_the_key_works_and_a_wrong_or_10_kb_key_is_forbidden(apis):
    status, keyed, _ = apis
    data, _ = exchange(status.port, request(keyed, KEY.encode(), b"Connection: close\r\n"))
    assert status_of(data) == 200 and data.endswith(b"ran")
    for key in (b"x" * 40, b"k" * 10 * 1024):
        code, body, _ = answer(exchange(status.port, request(keyed, key, b"Connection: close\r\n"))[0])
        assert (code, body) == (403, {"message": "Forbidden"})


@pytest.mark.parametrize("char", [b"\x00", b"\x01", b"\x07", b"\x0b", b"\x0c", b"\x1b", b"\x1f", b"\x7f"])
def test_a_control_character_in_the_key_is_forbidden_on_a_keyed_method(apis, char):
    status, keyed, _ = apis
    data, took = exchange(status.port, request(keyed, KEY[:20].encode() + char + KEY[20:].encode()))
    code, body, head = answer(data)
    assert (code, body) == (403, {"message": "Forbidden"}), data[:300]
    assert b"Connection: close" in head and b"x-amzn-ErrorType: ForbiddenException" in head and b"ran" not in data
    assert took < 1.0     # answered at once, not by a timeout


def test_the_same_key_on_an_open_method_is_the_fronts_400(apis):
    status, _, open_path = apis
    code, body, head = answer(exchange(status.port, request(open_path, b"a\x01b"))[0])
    assert code == 400 and body == {"message": "malformed HTTP request: Invalid header value char (in x-api-key)"}
    assert b"Connection: close" in head


@pytest.mark.parametrize("name, key, extra, message", [
    ("CR in the key", b"a\rInjected: 1", b"", "Missing expected LF after header value"),
    ("LF in the key", b"a\nInjected: 1", b"", "Missing expected CR after header value"),
    ("a control character in another header", KEY.encode(), b"X-Other: a\x01b\r\n", "Invalid header value char"),
    ("NUL in another header after a bad key", b"a\x01b", b"", None),
])
def test_injection_and_other_headers_stay_400_on_the_keyed_method(apis, name, key, extra, message):
    status, keyed, _ = apis
    code, body, head = answer(exchange(status.port, request(keyed, key, extra))[0])
    if message is None:   # the first bad byte is the key's: 403, whatever follows
        assert code == 403, name
        return
    assert code == 400 and message in body["message"] and b"Connection: close" in head, (name, body)
