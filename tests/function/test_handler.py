"""The deployed function's handler, with its model in a moto S3 bucket."""
from __future__ import annotations

import json
import random

import formats
import index
import pytest
from lambda_helpers import BUCKET, WORKSHOP_RIDE, answer, event, expected_score, workshop_archive

from wildrydes_cli.training.sagemaker_archive import write_model_archive

DEFAULT_KEY = "linear-learner-2026-11-24-10-00-00-000/output/model.tar.gz"
REGRESSOR_KEY = "linear-learner-2020-04-03-00-00-00-000/output/model.tar.gz"


@pytest.fixture
def s3(function_bucket, monkeypatch):
    monkeypatch.setenv("MODEL_PATH", DEFAULT_KEY)
    return function_bucket


@pytest.fixture
def classifier(s3):
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY,
                  Body=workshop_archive(threshold=0.4))
    return s3


@pytest.fixture
def regressor(s3, monkeypatch, sagemaker_regressor_bytes):
    s3.put_object(Bucket=BUCKET, Key=REGRESSOR_KEY, Body=sagemaker_regressor_bytes)
    monkeypatch.setenv("MODEL_PATH", REGRESSOR_KEY)
    return s3


def call(*args, **kwargs):
    return answer(index.handler(event(*args, **kwargs), None))


# ------------------------------------------------------------- happy paths


def test_workshop_request_scores_by_feature_name(classifier):
    status, body = call(body=WORKSHOP_RIDE)
    assert status == 200
    assert body["score"] == pytest.approx(expected_score(WORKSHOP_RIDE), rel=1e-6)
    assert body["predicted_label"] == (1 if body["score"] > 0.4 else 0)
    assert body["model_path"] == DEFAULT_KEY
    assert body["engine"] == "lean"


def test_feature_order_in_the_request_does_not_matter(classifier):
    """The workshop's curl sends TMAX before TMIN: reading positionally would swap them."""
    reordered = {k: WORKSHOP_RIDE[k] for k in ("PRCP", "TMIN", "TMAX", "magicpoints", "distance", "healthpoints")}
    swapped = dict(WORKSHOP_RIDE, TMAX=WORKSHOP_RIDE["TMIN"], TMIN=WORKSHOP_RIDE["TMAX"])
    assert call(body=reordered)[1]["score"] == call(body=WORKSHOP_RIDE)[1]["score"]
    assert call(body=swapped)[1]["score"] != call(body=WORKSHOP_RIDE)[1]["score"]


def test_feature_names_are_case_insensitive(classifier):
    lowered = {k.lower(): v for k, v in WORKSHOP_RIDE.items()}
    assert call(body=lowered)[1]["score"] == call(body=WORKSHOP_RIDE)[1]["score"]


def test_label_uses_the_models_threshold(s3):
    # bias only: every ride scores sigmoid(0.2) = 0.5498...
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY,
                  Body=write_model_archive([0.0] * 6, 0.2, "binary_classifier", threshold=0.6))
    status, body = call(body=WORKSHOP_RIDE)
    assert body["score"] == pytest.approx(0.549834, rel=1e-5)
    assert body["predicted_label"] == 0


def test_batch_of_workshop_rides(classifier):
    rides = [dict(WORKSHOP_RIDE, distance=d) for d in (10, 30, 50)]
    status, body = call(body=rides)
    assert status == 200
    assert [r["score"] for r in body] == pytest.approx([expected_score(r) for r in rides], rel=1e-6)
    assert all(r["model_path"] == DEFAULT_KEY for r in body)


def test_sagemaker_json_and_csv_formats(classifier):
    rows = [[30, 30, 2500, 300, 333, 0], [31, 300, 3100, -50, 20, 120]]
    status, body = call(body={"instances": [{"features": r} for r in rows]})
    assert status == 200
    scores = [p["score"] for p in body["predictions"]]
    status, csv_body = call(body="\n".join(",".join(map(str, r)) for r in rows) + "\n", content_type="text/csv")
    assert status == 200
    assert [p["score"] for p in csv_body["predictions"]] == scores
    assert set(body["predictions"][0]) == {"score", "predicted_label"}


def test_regressor_answers_without_a_label(regressor):
    status, body = call(body={"instances": [{"features": [0.0] * 513}]})
    assert status == 200
    assert body["predictions"] == [{"score": pytest.approx(-1055.3748779296875)}]


def test_base64_encoded_body(classifier):
    status, body = call(body=WORKSHOP_RIDE, base64_body=True)
    assert status == 200 and body["score"] == pytest.approx(expected_score(WORKSHOP_RIDE), rel=1e-6)


def test_get_returns_metadata(classifier):
    status, body = call(method="GET", body=None)
    assert status == 200
    assert body["feature_names"] == ["distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP"]
    assert body["dimension"] == 6
    assert body["predictor_type"] == "binary_classifier"
    assert body["threshold"] == pytest.approx(0.4)
    assert body["model_path"] == DEFAULT_KEY and body["engine"] == "lean"


def test_model_is_fetched_once_per_process(classifier):
    assert call(body=WORKSHOP_RIDE)[0] == 200
    classifier.delete_object(Bucket=BUCKET, Key=DEFAULT_KEY)
    assert call(body=WORKSHOP_RIDE)[0] == 200   # still served from memory


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_lean_and_mxnet_agree_through_the_handler(regressor, monkeypatch, fmt):
    rng = random.Random(42)
    rows = [[rng.uniform(-1, 1) for _ in range(513)] for _ in range(120)]
    if fmt == "json":
        request = dict(body={"instances": [{"features": r} for r in rows]})
    else:
        request = dict(body="\n".join(",".join(repr(v) for v in r) for r in rows), content_type="text/csv")
    results = {}
    for engine in ("lean", "mxnet"):
        monkeypatch.setenv("INFERENCE_ENGINE", engine)
        index._store = None
        status, body = call(**request)
        assert status == 200, body
        results[engine] = [p["score"] for p in body["predictions"]]
    assert len(results["lean"]) == 120
    assert results["lean"] == pytest.approx(results["mxnet"], rel=1e-5)


# ------------------------------------------------------------- bad requests


@pytest.mark.parametrize("body, message", [
    ("{not json", "body is not valid JSON"),
    ({"distance": 30}, "missing feature 'healthpoints'"),
    (dict(WORKSHOP_RIDE, wind=3), "unknown feature 'wind'"),
    (dict(WORKSHOP_RIDE, TMAX="hot"), "feature 'TMAX' in the request must be a number, got \"hot\""),
    (dict(WORKSHOP_RIDE, PRCP=True), "feature 'PRCP' in the request must be a number"),
    (json.dumps(WORKSHOP_RIDE).replace("333", "NaN"), "feature 'TMAX' in the request must be a finite number"),
    (json.dumps(WORKSHOP_RIDE).replace("333", "1e999"), "must be a finite number"),
    ([], "empty batch"),
    ([WORKSHOP_RIDE] * (formats.MAX_BATCH_ROWS + 1), f"over the limit of {formats.MAX_BATCH_ROWS}"),
    ([WORKSHOP_RIDE, 5], "ride 1 must be a JSON object"),
    ("42", "body must be a JSON object"),
    ({"instances": [{"features": [1, 2]}]}, "instances[0].features has 2 values; this model takes 6"),
    ({"instances": [{"values": [1]}]}, 'instances[0] must be an object with a "features" list'),
    ({"instances": {}}, '"instances" must be a list'),
    ({"instances": []}, "empty batch"),
])
def test_bad_json_requests_are_400_naming_the_problem(classifier, body, message):
    status, answer_body = call(body=body)
    assert status == 400
    assert message in answer_body["error"]


@pytest.mark.parametrize("body, message", [
    ("1,2,3\n", "CSV line 1 has 3 values; this model takes 6"),
    ("1,2,3,4,5,6\n1,2,x,4,5,6", "CSV line 2, column 3: 'x' is not a number"),
    ("distance,healthpoints,magicpoints,TMIN,TMAX,PRCP\n", "column 1: 'distance' is not a number (no header"),
    ("1,2,3,4,5,inf", "column 6: inf is not finite"),
    ("\n\n", "empty batch"),
])
def test_bad_csv_requests(classifier, body, message):
    status, answer_body = call(body=body, content_type="text/csv")
    assert status == 400
    assert message in answer_body["error"]


def test_empty_body_tells_what_to_send(classifier):
    status, body = call(body=None)
    assert status == 400 and '"distance": 30' in body["error"]


def test_bad_base64_body(classifier):
    ev = event(body="!!!not base64", content_type="application/json")
    ev["isBase64Encoded"] = True
    status, body = answer(index.handler(ev, None))
    assert status == 400 and "not valid base64" in body["error"]


# Body size limits: tests/function/test_handler_guards.py


def test_unsupported_content_type_is_415(classifier):
    status, body = call(body="distance=30", content_type="application/x-www-form-urlencoded")
    assert status == 415
    assert "unsupported Content-Type 'application/x-www-form-urlencoded'" in body["error"]
    assert "application/json" in body["error"]
    status, body = call(body=WORKSHOP_RIDE, content_type="text/plain")
    assert status == 415 and "curl -H 'Content-Type: application/json'" in body["error"]


def test_curls_default_form_type_with_a_json_body_is_read_as_json(classifier):
    """curl -d '{...}' without -H sends application/x-www-form-urlencoded; the workshop's function read it."""
    status, body = call(body=WORKSHOP_RIDE, content_type="application/x-www-form-urlencoded")
    assert status == 200 and body["predicted_label"] in (0, 1)
    status, body = call(body=" " + json.dumps([WORKSHOP_RIDE]), content_type="application/x-www-form-urlencoded")
    assert status == 200 and len(body) == 1
    status, body = call(body="{not json", content_type="application/x-www-form-urlencoded")
    assert status == 400   # read as JSON, and its error names what is wrong


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(classifier, method):
    response = index.handler(event(method=method, body=WORKSHOP_RIDE), None)
    status, body = answer(response)
    assert status == 405 and f"method {method} is not allowed" in body["error"]
    assert response["headers"]["Allow"] == "GET, POST"


def test_event_that_is_not_a_proxy_event(classifier):
    status, body = answer(index.handler(["not", "an", "event"], None))
    assert status == 400 and "not an API Gateway proxy event" in body["error"]


def test_unknown_path_is_404(classifier):
    status, body = call(path="/predictions")
    assert status == 404 and "no route '/predictions'" in body["error"]


def test_named_model_without_feature_names_needs_sagemaker_format(regressor):
    status, body = call(body=WORKSHOP_RIDE)
    assert status == 400 and "this model has no feature names" in body["error"]


# ------------------------------------------------------- model unavailable


@pytest.mark.parametrize("variable, value, message", [
    ("OUTPUT_BUCKET", "", "OUTPUT_BUCKET is not set"),
    ("MODEL_PATH", "", "MODEL_PATH is not set"),
    ("MODEL_PATH", f"s3://{BUCKET}/{DEFAULT_KEY}", "must be the key only, without s3://"),
    ("INFERENCE_ENGINE", "tensorflow", "INFERENCE_ENGINE='tensorflow' is not one of: lean, mxnet"),
    ("MODEL_REFRESH_SECONDS", "soon", "MODEL_REFRESH_SECONDS='soon' is not a number"),
    ("MODEL_CACHE_MAX_MODELS", "0", "MODEL_CACHE_MAX_MODELS='0' must be at least 1"),
    ("MODEL_CACHE_MAX_BYTES", "1.5", "MODEL_CACHE_MAX_BYTES='1.5' is not a whole number"),
])
def test_bad_environment_is_503_naming_the_variable(classifier, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    status, body = call(body=WORKSHOP_RIDE)
    assert status == 503
    assert message in body["error"]


def test_missing_model_object_is_503_then_recovers(s3):
    status, body = call(body=WORKSHOP_RIDE)
    assert status == 503
    assert f"model s3://{BUCKET}/{DEFAULT_KEY} does not exist" in body["error"]
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY,
                  Body=workshop_archive())
    assert call(body=WORKSHOP_RIDE)[0] == 200   # retried on a later request, no restart


def test_failed_load_is_not_retried_before_the_retry_interval(s3, monkeypatch):
    monkeypatch.setenv("MODEL_RETRY_SECONDS", "3600")
    assert call(body=WORKSHOP_RIDE)[0] == 503
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY,
                  Body=workshop_archive())
    assert call(body=WORKSHOP_RIDE)[0] == 503   # remembered: no S3 call per request while broken


def test_missing_bucket_is_503(s3, monkeypatch):
    monkeypatch.setenv("OUTPUT_BUCKET", "no-such-bucket-here")
    status, body = call(body=WORKSHOP_RIDE)
    assert status == 503 and "bucket 'no-such-bucket-here' (OUTPUT_BUCKET) does not exist" in body["error"]


def test_corrupt_archive_is_503(s3):
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=b"this is not a model")
    status, body = call(body=WORKSHOP_RIDE)
    assert status == 503
    assert "cannot be served: model archive is not a readable tar.gz" in body["error"]


def test_unsupported_graph_is_503_pointing_to_mxnet(s3, sagemaker_regressor_bytes):
    from test_artifact import _inner_members, _rebuild
    graph = json.loads(_inner_members(sagemaker_regressor_bytes)["mx-mod-symbol.json"])
    graph["nodes"][2]["op"] = "Convolution"
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY,
                  Body=_rebuild(sagemaker_regressor_bytes, **{"mx-mod-symbol.json": json.dumps(graph).encode()}))
    status, body = call(body={"instances": [{"features": [0] * 513}]})
    assert status == 503
    assert "'Convolution' is not supported by the lean engine; set INFERENCE_ENGINE=mxnet" in body["error"]


def test_no_traceback_in_any_body(s3, monkeypatch):
    monkeypatch.setattr(index, "_predict", lambda *a: 1 / 0)
    status, body = call(body=WORKSHOP_RIDE)
    assert status == 500
    assert "Traceback" not in json.dumps(body) and "ZeroDivisionError" not in json.dumps(body)


# ------------------------------------------------------------- behind a custom domain


def _behind_base_path(path: str, resource: str, params: dict | None, **kwargs) -> dict:
    """The event API Gateway sends through a custom domain whose base path mapping is /ml: ``path``
    carries the base path, ``resource`` and ``pathParameters`` do not."""
    ev = event(**kwargs)
    ev.update(path=path, resource=resource, pathParameters=params)
    return ev


def test_a_custom_domains_base_path_does_not_hide_the_routes(classifier):
    status, body = answer(index.handler(_behind_base_path("/ml", "/", None, body=WORKSHOP_RIDE), None))
    assert status == 200 and body["score"] == pytest.approx(expected_score(WORKSHOP_RIDE), rel=1e-6)
    status, body = answer(index.handler(_behind_base_path("/ml/breeds/shire", "/breeds/{breed}", {"breed": "shire"},
                                                          body=WORKSHOP_RIDE), None))
    assert status == 404 and "unknown breed 'shire'" in body["error"]   # routed: the breed route, not "no route"
    status, body = answer(index.handler(_behind_base_path("/ml/breeds", "/breeds", None, method="GET"), None))
    assert status == 200 and body["breeds"] == []


def test_a_proxy_resource_routes_on_its_proxy_parameter(classifier):
    ev = _behind_base_path("/ml/breeds/shire", "/{proxy+}", {"proxy": "breeds/shire"}, body=WORKSHOP_RIDE)
    status, body = answer(index.handler(ev, None))
    assert status == 404 and "unknown breed 'shire'" in body["error"]


def test_a_resource_this_api_does_not_have_is_404(classifier):
    status, body = answer(index.handler(_behind_base_path("/ml/x", "/x", None, body=WORKSHOP_RIDE), None))
    assert status == 404 and "no route '/x'" in body["error"]
