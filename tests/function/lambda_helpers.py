"""Helpers for tests of the deployed function: a moto S3 bucket and proxy events."""
from __future__ import annotations

import base64
import json
from functools import lru_cache

BUCKET = "wildrydes-test-data"
WORKSHOP_RIDE = {"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0}
# Training order: distance, healthpoints, magicpoints, TMIN, TMAX, PRCP.
WORKSHOP_WEIGHTS = [0.02, -0.001, 0.0004, 0.003, -0.002, 0.01]
WORKSHOP_BIAS = -1.5


def resource_of(path: str) -> tuple[str | None, dict | None]:
    """The API resource API Gateway matches for ``path`` (function.yml's), and its path parameters;
    (None, None) for a path no resource matches (an event as a direct invocation sends it)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "/", None
    if parts == ["breeds"]:
        return "/breeds", None
    if len(parts) == 2 and parts[0] == "breeds":
        return "/breeds/{breed}", {"breed": parts[1]}
    return None, None


def event(method="POST", body=None, path="/", content_type="application/json", query=None,
          base64_body=False, path_parameters=None):
    headers = {"Content-Type": content_type} if content_type else {}
    resource, matched = resource_of(path)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if base64_body and body is not None:
        body = base64.b64encode(body.encode()).decode()
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "queryStringParameters": query, "pathParameters": path_parameters or matched,
        "body": body, "isBase64Encoded": base64_body,
        "requestContext": {"requestId": "test", "stage": "prod"},
    }


def strict_loads(text: str):
    """json.loads that refuses NaN and Infinity, which Python writes but JSON does not have."""
    def refuse(constant):
        raise AssertionError(f"{constant} in a response body is not JSON: {text[:200]}")
    return json.loads(text, parse_constant=refuse)


def answer(response):
    """(status, decoded JSON body) of a proxy response, checking its shape on the way."""
    assert isinstance(response["statusCode"], int)
    assert isinstance(response["body"], str)
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["isBase64Encoded"] is False
    return response["statusCode"], strict_loads(response["body"])


def expected_score(ride, weights=WORKSHOP_WEIGHTS, bias=WORKSHOP_BIAS):
    import math
    order = ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")
    z = sum(w * ride[name] for w, name in zip(weights, order)) + bias
    return 1 / (1 + math.exp(-z))


@lru_cache(maxsize=None)
def workshop_archive(predictor_type="binary_classifier", threshold=0.5, bias=WORKSHOP_BIAS) -> bytes:
    """A 6-feature model in the workshop's feature order, written once per test session."""
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    return write_model_archive(WORKSHOP_WEIGHTS, bias, predictor_type, threshold=threshold)
