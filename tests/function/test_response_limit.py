"""Answers over Lambda's 6 MB response limit are a 413 naming the limit and the rows that fit, not
API Gateway's 502 (Lambda refuses a response payload over 6,291,556 bytes)."""
from __future__ import annotations

import json
import random

import guards
import index
import pytest
from lambda_helpers import BUCKET, answer, event

KEY = "linear-learner-2020-04-03-00-00-00-000/output/model.tar.gz"


@pytest.fixture
def wide_model(function_bucket, monkeypatch, sagemaker_regressor_bytes):
    """The real SageMaker regressor: 513 features, so an explained row carries 513 terms."""
    function_bucket.put_object(Bucket=BUCKET, Key=KEY, Body=sagemaker_regressor_bytes)
    monkeypatch.setenv("MODEL_PATH", KEY)


def _csv(rows: int) -> str:
    rng = random.Random(7)
    return "\n".join(",".join(f"{rng.uniform(-9, 9):.3f}" for _ in range(513)) for _ in range(rows))


def _explained(rows: int) -> dict:
    return index.handler(event(body=_csv(rows), content_type="text/csv", query={"explain": "true"}), None)


def test_an_answer_over_the_limit_is_413_naming_the_limit_and_the_rows_that_fit(wide_model, monkeypatch):
    """Explanations are capped at 100,000 terms (a 400 past that), which keeps a real one under 6 MB;
    the limit is lowered here so that an allowed explained batch crosses it."""
    monkeypatch.setattr(guards, "LAMBDA_RESPONSE_LIMIT", 1_000_000)
    status, body = answer(_explained(150))             # 76,950 terms
    assert status == 413
    assert "1,000,000 bytes" in body["error"] and "with explain" in body["error"]
    fit = int(body["error"].split("send at most ")[1].split(" row")[0].replace(",", ""))
    assert 10 < fit < 150
    response = _explained(fit)                         # what the message promises does fit
    assert response["statusCode"] == 200
    assert len(json.dumps(response)) <= guards.LAMBDA_RESPONSE_LIMIT


def test_the_largest_explanation_allowed_fits_in_six_mb(wide_model):
    rows = 100_000 // 513                              # the most rows the term cap allows
    response = _explained(rows)
    assert response["statusCode"] == 200
    assert len(json.dumps(response)) < guards.LAMBDA_RESPONSE_LIMIT


def test_the_limit_is_on_the_serialized_response_not_the_body():
    """The body travels escaped inside the proxy response: a body just under 6 MB of JSON is over."""
    body = json.dumps({"predictions": [{"score": 0.5, "note": '"quoted"'}] * 150_000})
    assert len(body) < guards.LAMBDA_RESPONSE_LIMIT < len(json.dumps({"statusCode": 200, "body": body}))
    with pytest.raises(guards.InputError) as refused:
        guards.check_response({"statusCode": 200, "headers": {}, "body": body}, 150_000, explained=False)
    assert refused.value.status == 413 and "send at most" in refused.value.message


def test_a_small_answer_is_not_serialized_to_be_measured(monkeypatch):
    monkeypatch.setattr(guards.json, "dumps", lambda *a, **k: pytest.fail("measured a small response"))
    guards.check_response({"statusCode": 200, "headers": {}, "body": "{}"}, 1, explained=False)
