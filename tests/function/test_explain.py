"""Every score explains itself: intercept + sum(contributions) = margin, on both engines, in every format."""
from __future__ import annotations

import math
import random

import artifact
import engines
import index
import numpy as np
import pytest
from lambda_helpers import (
    BUCKET,
    WORKSHOP_BIAS,
    WORKSHOP_RIDE,
    WORKSHOP_WEIGHTS,
    answer,
    event,
    workshop_archive,
)

DEFAULT_KEY = "linear-learner-2026-11-24-10-00-00-000/output/model.tar.gz"
FEATURES = ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")


@pytest.fixture
def classifier(function_bucket, monkeypatch):
    monkeypatch.setenv("MODEL_PATH", DEFAULT_KEY)
    function_bucket.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=workshop_archive(threshold=0.4))


@pytest.fixture
def regressor(function_bucket, monkeypatch, sagemaker_regressor_bytes):
    monkeypatch.setenv("MODEL_PATH", DEFAULT_KEY)
    function_bucket.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=sagemaker_regressor_bytes)


def call(*args, **kwargs):
    return answer(index.handler(event(*args, **kwargs), None))


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def check(prediction: dict, names, classifier: bool = True) -> None:
    contributions = prediction["contributions"]
    assert list(contributions) == list(names)
    assert "margin" not in prediction   # it is the sum; not sent
    total = prediction["intercept"] + sum(contributions.values())
    target = logit(prediction["score"]) if classifier else prediction["score"]
    assert total == pytest.approx(target, rel=1e-9, abs=1e-9)


# ------------------------------------------------------------- the request


def test_query_flag_explains_the_workshops_ride(classifier):
    status, body = call(body=WORKSHOP_RIDE, query={"explain": "true"})
    assert status == 200
    check(body, FEATURES)
    assert body["intercept"] == pytest.approx(WORKSHOP_BIAS)
    for name, weight in zip(FEATURES, WORKSHOP_WEIGHTS):   # weight x value as sent
        assert body["contributions"][name] == pytest.approx(weight * WORKSHOP_RIDE[name], rel=1e-6)
    assert body["predicted_label"] == (1 if body["score"] > 0.4 else 0)


def test_body_field_explains_and_is_not_a_feature(classifier):
    status, body = call(body={**WORKSHOP_RIDE, "explain": True})
    assert status == 200
    check(body, FEATURES)


def test_no_explanation_unless_asked(classifier):
    for kwargs in ({}, {"query": {"explain": "false"}}, {"body_extra": {"explain": False}}):
        extra = kwargs.pop("body_extra", {})
        status, body = call(body={**WORKSHOP_RIDE, **extra}, **kwargs)
        assert status == 200 and "contributions" not in body and "intercept" not in body


def test_batch_carries_one_explanation_per_ride(classifier):
    rides = [WORKSHOP_RIDE, dict(WORKSHOP_RIDE, magicpoints=500, PRCP=120)]
    status, body = call(body=rides, query={"explain": "1"})
    assert status == 200 and len(body) == 2
    for prediction in body:
        check(prediction, FEATURES)
    assert body[0]["contributions"]["magicpoints"] != body[1]["contributions"]["magicpoints"]


def test_sagemaker_formats_name_the_features_by_the_model(classifier):
    values = [WORKSHOP_RIDE[name] for name in FEATURES]
    status, body = call(body={"instances": [{"features": values}], "explain": True})
    assert status == 200
    check(body["predictions"][0], FEATURES)
    status, body = call(body="30,30,2500,300,333,0\n", content_type="text/csv", query={"explain": "true"})
    assert status == 200
    check(body["predictions"][0], FEATURES)


def test_a_nameless_model_names_features_f0_to_fn(regressor):
    """The real SageMaker regressor has 513 unnamed features: f0..f512; its margin is the score."""
    rng = random.Random(5)
    rows = [[rng.uniform(-1, 1) for _ in range(513)] for _ in range(3)]
    status, body = call(body={"instances": [{"features": r} for r in rows]}, query={"explain": "true"})
    assert status == 200
    for prediction in body["predictions"]:
        check(prediction, [f"f{i}" for i in range(513)], classifier=False)
        terms = prediction["contributions"].values()
        total = prediction["intercept"] + sum(terms)
        # Each term is written with 12 significant digits (explain.py): off by at most 5e-12 of itself.
        assert abs(total - prediction["score"]) <= 5e-12 * sum(abs(t) for t in terms) + 1e-12


def test_terms_are_written_to_twelve_digits_and_the_intercept_exactly(classifier):
    """What the 2 µs budget bought (explain.py): 12 significant digits per term, not 17."""
    import struct
    status, body = call(body=dict(WORKSHOP_RIDE, healthpoints=31.123456789012345), query={"explain": "true"})
    assert status == 200
    float32 = [struct.unpack("<f", struct.pack("<f", w))[0] for w in WORKSHOP_WEIGHTS]
    sent = dict(WORKSHOP_RIDE, healthpoints=31.123456789012345)
    for name, weight in zip(FEATURES, float32):
        exact = weight * sent[name]
        assert body["contributions"][name] == float(f"{exact:.12g}")
    assert body["intercept"] == struct.unpack("<f", struct.pack("<f", WORKSHOP_BIAS))[0]


def _archive(weights, names, bias=0.25) -> bytes:
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    return write_model_archive(weights, bias, "binary_classifier", 0.5, tuple(names))


def test_feature_names_are_escaped_in_json_and_in_the_template(function_bucket, monkeypatch):
    """A model's names are its publisher's text: quotes, backslashes and % must not break the body."""
    names = ['say "hi"', "back\\slash", "%s", "%.12g", "100%", "naïve"]
    monkeypatch.setenv("MODEL_PATH", DEFAULT_KEY)
    function_bucket.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=_archive([0.5] * 6, names))
    ride = {name: float(i + 1) for i, name in enumerate(names)}
    status, body = call(body=ride, query={"explain": "true"})
    assert status == 200, body
    assert body["contributions"] == {name: 0.5 * (i + 1) for i, name in enumerate(names)}
    assert body["intercept"] == 0.25


def test_a_term_that_overflows_is_a_422_not_invalid_json(function_bucket, monkeypatch):
    """Weight 4 x 1e308 is infinite: the score (sigmoid) is still 1.0, but the term cannot be JSON."""
    monkeypatch.setenv("MODEL_PATH", DEFAULT_KEY)
    function_bucket.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=_archive([4.0] + [0.0] * 5, FEATURES))
    ride = dict(WORKSHOP_RIDE, distance=1e308)
    status, body = call(body=ride)
    assert status == 200 and body["score"] == 1.0
    status, body = call(body=[WORKSHOP_RIDE, ride], query={"explain": "true"})
    assert status == 422
    assert body["error"] == ("cannot explain the score of ride 1: weight x value overflows a float; "
                             "send values in the range the model was trained on")


@pytest.mark.parametrize("kwargs, message", [
    ({"query": {"explain": "maybe"}}, "explain must be true or false, got 'maybe'"),
    ({"body_extra": {"explain": "yes"}}, '"explain" must be true or false, got "yes"'),
    ({"body_extra": {"explain": 1}}, '"explain" must be true or false, got 1.0')  # integers decode as floats (guards),
])
def test_bad_explain_values_are_a_400(classifier, kwargs, message):
    extra = kwargs.pop("body_extra", {})
    status, body = call(body={**WORKSHOP_RIDE, **extra}, **kwargs)
    assert status == 400 and body["error"] == message


# ------------------------------------------------------------- the engines


def both_engines(data: bytes):
    model = artifact.read_model_archive(data)
    return engines.create_engine("lean", model), engines.create_engine("mxnet", model)


def assert_engines_agree(data: bytes, rows: list, logistic: bool) -> None:
    lean, mx = both_engines(data)
    lean_explained, mx_explained = lean.explain(rows), mx.explain(rows)
    for (l_terms, l_bias, l_margin), (m_terms, m_bias, m_margin), l_score, m_score in zip(
            lean_explained, mx_explained, lean.predict(rows), mx.predict(rows)):
        np.testing.assert_allclose(m_terms, l_terms, rtol=1e-5, atol=1e-5)
        assert m_bias == pytest.approx(l_bias, rel=1e-5, abs=1e-5)
        assert m_margin == pytest.approx(l_margin, rel=1e-5, abs=1e-5)
        assert l_bias + sum(l_terms) == l_margin   # the split is exact on the lean engine
        head = engines.sigmoid if logistic else (lambda v: v)
        assert head(l_margin) == l_score
        assert head(m_margin) == pytest.approx(m_score, rel=1e-5, abs=1e-6)


def test_engines_give_the_same_contributions_on_the_real_sagemaker_artifact(sagemaker_regressor_bytes):
    rng = random.Random(11)
    rows = [[rng.uniform(-2, 2) for _ in range(513)] for _ in range(5)]
    assert_engines_agree(sagemaker_regressor_bytes, rows, logistic=False)


def test_engines_give_the_same_contributions_on_a_trained_binary_model():
    from wildrydes_cli.training.mxnet_trainer import TrainConfig, train
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    from wildrydes_cli.training.synthetic import generate_rides

    rides = generate_rides(3000, seed=2)
    model = train(rides, TrainConfig(seed=2, epochs=4))
    data = write_model_archive(model.weights, model.bias, model.predictor_type, model.threshold,
                               model.feature_names)
    rows = [[30.0, 30.0, 2500.0, 300.0, 333.0, 0.0]] + rides.features[:20].tolist()
    assert_engines_agree(data, rows, logistic=True)


def test_mxnet_engine_refuses_to_explain_a_graph_that_is_not_a_plain_sum():
    class Model:
        lean_error = "graph op 'Activation' is not supported by the lean engine"

    engine = engines.MXNetEngine.__new__(engines.MXNetEngine)
    engine.model = Model()
    with pytest.raises(engines.EngineError, match="cannot be explained term by term"):
        engine.explain([[1.0]])


@pytest.mark.parametrize("body", [WORKSHOP_RIDE, [WORKSHOP_RIDE, dict(WORKSHOP_RIDE, magicpoints=500, PRCP=120)]])
def test_both_engines_explain_alike_through_the_handler(classifier, monkeypatch, body):
    """The single-ride path (explain_one) and the batch path, on each engine, give the same terms."""
    answers = {}
    for engine in ("lean", "mxnet"):
        monkeypatch.setenv("INFERENCE_ENGINE", engine)
        index._store = None
        status, answer_body = call(body=body, query={"explain": "true"})
        assert status == 200, answer_body
        answers[engine] = answer_body if isinstance(answer_body, list) else [answer_body]
    for lean, mx in zip(answers["lean"], answers["mxnet"]):
        assert (lean["engine"], mx["engine"]) == ("lean", "mxnet")
        check(lean, FEATURES)
        assert mx["intercept"] == pytest.approx(lean["intercept"], rel=1e-6)
        for name in FEATURES:
            assert mx["contributions"][name] == pytest.approx(lean["contributions"][name], rel=1e-5, abs=1e-5)
        mx_total = mx["intercept"] + sum(mx["contributions"].values())
        assert mx_total == pytest.approx(logit(mx["score"]), rel=1e-5, abs=1e-5)


def test_an_explained_answer_is_bounded_in_terms():
    import explain
    import formats

    explain.check_size(1000, 100)      # 100,000 terms: the bound
    with pytest.raises(formats.RequestError) as info:
        explain.check_size(1, 100_001)
    assert info.value.status == 400
    assert info.value.message == ("explain=true answers at most 100,000 terms (rows x features) per request; "
                                  "this one would have 100,001 (1 rows of 100001 features): send fewer rows, "
                                  "or leave explain out")
