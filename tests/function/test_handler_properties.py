"""Property: no event or body makes the handler raise, or answer 5xx other than 503 for a missing model."""
from __future__ import annotations

import json

import index
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lambda_helpers import BUCKET, WORKSHOP_RIDE, strict_loads, workshop_archive

KEY = "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20,
)
feature_names = st.sampled_from(["distance", "healthpoints", "magicpoints", "TMAX", "TMIN", "PRCP", "tmax",
                                 "breed", "instances", "features", "x"])
rides = st.dictionaries(feature_names, json_values | st.floats(-1e6, 1e6), max_size=8)
bodies = st.one_of(
    st.none(), st.text(max_size=200), st.binary(max_size=50).map(lambda b: b.decode("latin-1")),
    json_values.map(json.dumps), rides.map(json.dumps), st.lists(rides, max_size=4).map(json.dumps),
    st.builds(lambda rows: json.dumps({"instances": rows}), st.lists(
        st.dictionaries(st.sampled_from(["features", "x"]), json_values, max_size=2), max_size=3)),
    st.lists(st.lists(st.floats(-1e3, 1e3) | st.text(max_size=3), max_size=7), max_size=4).map(
        lambda rows: "\n".join(",".join(map(str, r)) for r in rows)),
    st.integers(),
)
events = st.fixed_dictionaries(
    {},
    optional={
        "httpMethod": st.sampled_from(["GET", "POST", "PUT", "get", "", "HEAD"]) | st.none() | st.integers(),
        "path": st.sampled_from(["/", "", "/breeds", "/breeds/appaloosa", "/breeds/../../etc", "/x/y",
                                 "//", "/breeds/" + "a" * 80]) | st.text(max_size=30) | st.none() | st.integers(),
        "headers": st.none() | st.dictionaries(
            st.sampled_from(["Content-Type", "content-type", "Accept", "X"]),
            st.sampled_from(["application/json", "text/csv", "text/plain", "", "application/json; charset=utf-8"])
            | st.none() | st.integers(), max_size=3) | st.text(max_size=5),
        "queryStringParameters": st.none() | st.dictionaries(
            st.sampled_from(["breed", "limit", "next"]), st.text(max_size=70) | st.none() | st.integers(),
            max_size=3) | st.lists(st.integers(), max_size=2),
        "pathParameters": st.none() | st.dictionaries(st.just("breed"), st.text(max_size=70) | st.integers()),
        "body": bodies,
        "isBase64Encoded": st.booleans() | st.none() | st.text(max_size=3),
    },
)


@pytest.fixture
def handler_env(function_bucket, monkeypatch):
    monkeypatch.setenv("MODEL_PATH", KEY)
    return function_bucket


def _check(response):
    assert isinstance(response, dict)
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert isinstance(response["statusCode"], int)
    assert isinstance(response["body"], str)
    assert response["headers"]["Content-Type"] == "application/json"
    strict_loads(response["body"])
    assert "Traceback" not in response["body"]
    return response["statusCode"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ev=events)
def test_any_event_with_a_model_never_answers_5xx(handler_env, ev):
    handler_env.put_object(Bucket=BUCKET, Key=KEY,
                           Body=workshop_archive())
    status = _check(index.handler(ev, None))
    # With the default model present nothing may be 5xx: unknown breeds are 404,
    # everything a client can get wrong is 4xx.
    assert status < 500, ev


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ev=events)
def test_any_event_without_a_model_answers_at_most_503(handler_env, ev):
    status = _check(index.handler(ev, None))
    assert status < 500 or status == 503, ev


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ride=rides)
def test_any_workshop_ride_gets_200_or_a_400_naming_a_field(handler_env, ride):
    handler_env.put_object(Bucket=BUCKET, Key=KEY,
                           Body=workshop_archive())
    event = {"httpMethod": "POST", "path": "/", "headers": {"Content-Type": "application/json"},
             "body": json.dumps(dict(WORKSHOP_RIDE, **ride))}
    response = index.handler(event, None)
    status = _check(response)
    assert status in (200, 400, 404), response
