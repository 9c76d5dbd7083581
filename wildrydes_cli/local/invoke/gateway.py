"""API Gateway's REST proxy integration as pure functions.

Two conversions, done exactly once per request and kept free of I/O so that
tests hold them to API Gateway's behaviour without a server:

* ``build_proxy_event``: an HTTP request -> the proxy event (payload v1) a
  Lambda function receives. ``requestId`` and the request time are produced per
  call from injected ``new_id``/``now`` callables, never computed at import
  (a default argument would freeze one time for every request).
* ``proxy_response``: what the function returned -> the HTTP response, with
  API Gateway's validation: anything but a dict of the known keys with the
  right types is a 502 ``{"message": "Internal server error"}``.

The canned gateway errors (403 missing token, 502, 504) live here too.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from wildrydes_cli.local.http import HttpResponse

LOG = logging.getLogger(__name__)

PROXY_RESPONSE_KEYS = frozenset({"statusCode", "body", "headers", "multiValueHeaders", "isBase64Encoded"})
_SCALARS = (str, int, float, bool)


class MalformedProxyResponse(ValueError):
    """The function's result is not a valid proxy response; the gateway answers 502."""


def _json_error(status: int, message: str, error_type: str, request_id: str | None = None) -> HttpResponse:
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    if request_id:
        headers.append(("x-amzn-RequestId", request_id))
    return HttpResponse(status, headers, json.dumps({"message": message}).encode())


def missing_authentication_token(request_id: str | None = None) -> HttpResponse:
    """Unknown API, stage, resource or method: API Gateway's famous 403."""
    return _json_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException", request_id)


def forbidden(error_type: str, message: str, request_id: str | None = None) -> HttpResponse:
    """An AWS_IAM method's refusal (unsigned, a bad signature, a caller not allowed execute-api:Invoke): 403.
    API Gateway spells the key of an authorization refusal "Message"; every other "message"."""
    if error_type != "AccessDeniedException":
        return _json_error(403, message, error_type, request_id)
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    return HttpResponse(403, headers, json.dumps({"Message": message}).encode())


def internal_server_error(request_id: str | None = None) -> HttpResponse:
    """Function error, crash or malformed proxy response: 502."""
    return _json_error(502, "Internal server error", "InternalServerErrorException", request_id)


def configuration_error(request_id: str | None = None) -> HttpResponse:
    """The integration points at nothing we can run (missing function, non-proxy type): 500."""
    return _json_error(500, "Internal server error", "InternalServerErrorException", request_id)


def endpoint_timeout(request_id: str | None = None) -> HttpResponse:
    """The function ran past its timeout: 504."""
    return _json_error(504, "Endpoint request timed out", "InternalServerErrorException", request_id)


def _group(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """Single-value (last wins, like API Gateway) and multi-value maps; None when empty."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return (single or None), (multi or None)


def _request_time(epoch: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))


def build_proxy_event(*, method: str, path: str, query_string: str, headers: list[tuple[str, str]],
                      body: bytes, api_id: str, stage: str, resource_path: str, resource_id: str,
                      path_parameters: dict[str, str] | None, stage_variables: dict[str, str] | None,
                      account_id: str, source_ip: str = "127.0.0.1", domain_name: str = "127.0.0.1",
                      now: Callable[[], float] = time.time,
                      new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> dict:
    """The REST API proxy event (payload format 1.0) for one request.

    ``path`` is the path below the stage (``/`` for the root), already
    percent-decoded; ``headers`` keeps the client's spelling and repeats.
    A body that is not UTF-8 text is passed base64-encoded.
    """
    epoch = now()
    request_id = new_id()
    single_headers, multi_headers = _group(headers)
    single_query, multi_query = _group(parse_qsl(query_string, keep_blank_values=True))
    if not body:
        body_value, is_b64 = None, False
    else:
        try:
            body_value, is_b64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            body_value, is_b64 = base64.b64encode(body).decode("ascii"), True
    lowered = {k.lower(): v for k, v in (single_headers or {}).items()}
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "resourceId": resource_id,
            "resourcePath": resource_path,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestId": request_id,
            "requestTime": _request_time(epoch),
            "requestTimeEpoch": int(epoch * 1000),
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0],
            "identity": {
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent"),
                "accountId": None, "apiKey": None, "caller": None, "user": None, "userArn": None,
                "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None,
                "accessKey": None,
            },
        },
        "body": body_value,
        "isBase64Encoded": is_b64,
    }


def _header_value(name: str, value: object) -> str:
    if not isinstance(value, _SCALARS):
        raise MalformedProxyResponse(f"header {name!r} has a {type(value).__name__} value")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_proxy_response(result: object) -> HttpResponse:
    """Validate a function's proxy response; raise MalformedProxyResponse when API Gateway would 502."""
    if not isinstance(result, dict):
        raise MalformedProxyResponse(f"the function returned a {type(result).__name__}, not an object")
    unknown = sorted(set(result) - PROXY_RESPONSE_KEYS)
    if unknown:
        raise MalformedProxyResponse(f"unknown keys in the proxy response: {', '.join(map(str, unknown))}")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode must be an integer HTTP status, got {status!r}")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(body).__name__}")
    is_b64 = result.get("isBase64Encoded", False)
    if not isinstance(is_b64, bool):
        raise MalformedProxyResponse(f"isBase64Encoded must be a boolean, got {is_b64!r}")
    if is_b64 and body:
        try:
            payload = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedProxyResponse(f"body is not valid base64: {exc}") from None
    else:
        payload = (body or "").encode("utf-8")

    pairs: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict):
        raise MalformedProxyResponse("multiValueHeaders must be an object")
    if not isinstance(single, dict):
        raise MalformedProxyResponse("headers must be an object")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        pairs.extend((str(name), _header_value(name, v)) for v in values)
    for name, value in single.items():
        text = _header_value(name, value)
        if (str(name), text) not in pairs:
            pairs.append((str(name), text))
    if not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("Content-Type", "application/json"))
    return HttpResponse(status, pairs, payload)


def proxy_response(result: object, request_id: str | None = None) -> HttpResponse:
    """The HTTP response for a function result: the validated proxy response, or a 502."""
    try:
        response = parse_proxy_response(result)
    except MalformedProxyResponse as exc:
        LOG.warning("malformed Lambda proxy response (answering 502): %s", exc)
        return internal_server_error(request_id)
    if request_id:
        response.headers.append(("x-amzn-RequestId", request_id))
    return response
