"""The function's guards (lambda/guards.py): body size within Lambda's event, hostile JSON, non-finite scores."""
from __future__ import annotations

import base64
import json
import math

import guards
import index
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lambda_helpers import (
    BUCKET,
    WORKSHOP_RIDE,
    answer,
    event,
    strict_loads,
    workshop_archive,
)

from wildrydes_cli.training.sagemaker_archive import write_model_archive

KEY = "linear-learner-2026-11-24-10-00-00-000/output/model.tar.gz"
FEATURES = ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")


@pytest.fixture
def s3(function_bucket, monkeypatch):
    monkeypatch.setenv("MODEL_PATH", KEY)
    return function_bucket


@pytest.fixture
def classifier(s3):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=workshop_archive())
    return s3


def serve(s3, monkeypatch, weights, predictor_type="regressor", engine="lean"):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=write_model_archive(weights, 0.0, predictor_type))
    monkeypatch.setenv("INFERENCE_ENGINE", engine)


def call(*args, **kwargs):
    return answer(index.handler(event(*args, **kwargs), None))


def raw_call(body: str, content_type="application/json"):
    return answer(index.handler(event(body=body, content_type=content_type), None))


# ---------------------------------------------------------------- body size


def _api_gateway_event(body: str, is_base64: bool) -> dict:
    """The largest proxy event API Gateway builds around ``body``: 10,240 bytes of request line and
    headers (its REST limit), all of them characters JSON must escape, each header and query value
    twice (single and multi-value maps), and a full requestContext."""
    value = '"' * 4000
    headers = {"Content-Type": "application/json", "X-A": value, "X-B": value[:1000]}
    query = {"breed": '"' * 1000}
    return {
        "resource": "/{proxy+}", "path": "/breeds/" + "a" * 63, "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query, "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "pathParameters": {"proxy": "breeds/" + "a" * 63}, "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123", "resourcePath": "/{proxy+}", "httpMethod": "POST",
            "extendedRequestId": "x" * 16, "requestTime": "26/Nov/2026:01:00:00 +0000", "path": "/prod/x",
            "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": "prod", "domainPrefix": "abcdefghij",
            "requestTimeEpoch": 1795000000000, "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {k: "x" * 64 for k in ("cognitoIdentityPoolId", "accountId", "cognitoIdentityId",
                                               "caller", "sourceIp", "principalOrgId", "accessKey",
                                               "cognitoAuthenticationType", "cognitoAuthenticationProvider",
                                               "userArn", "userAgent", "user")},
            "domainName": "abcdefghij.execute-api.us-east-1.amazonaws.com", "apiId": "abcdefghij"},
        "body": body, "isBase64Encoded": is_base64,
    }


def _event_bytes(ev: dict) -> int:
    return len(json.dumps(ev, ensure_ascii=False).encode("utf-8"))


def test_the_arithmetic_every_accepted_body_fits_in_lambdas_6_mb_event():
    assert guards.LAMBDA_EVENT_LIMIT == 6_291_456
    assert guards.EVENT_BODY_BUDGET == 6_291_456 - 262_144
    assert guards.MAX_BASE64_CHARS == 5_592_408 <= guards.EVENT_BODY_BUDGET
    # everything around the body, at its worst, fits in the reserve
    around = _event_bytes(_api_gateway_event("", False))
    assert around < guards.EVENT_RESERVE
    # the largest text body (escaped to the budget) and the largest base64 body fit the event
    worst_text = "\n" * ((guards.EVENT_BODY_BUDGET - 2) // 2) + "[]"
    guards.check_text_body(worst_text)
    biggest_base64 = base64.b64encode(b" " * guards.MAX_BODY_BYTES).decode()
    guards.check_base64_body(biggest_base64)
    for body, is_base64 in ((worst_text, False), (biggest_base64, True), (" " * guards.MAX_BODY_BYTES, False)):
        assert _event_bytes(_api_gateway_event(body, is_base64)) <= guards.LAMBDA_EVENT_LIMIT


def test_text_body_at_the_limit_is_read_and_one_byte_more_is_413(classifier):
    at_limit = " " * (guards.MAX_BODY_BYTES - 2) + "[]"
    status, body = raw_call(at_limit)
    assert status == 400 and "empty batch" in body["error"]
    over = at_limit + " "
    # API Gateway delivers this one (its event is under 6 MB), so the 413 is the function's
    assert _event_bytes(_api_gateway_event(over, False)) < guards.LAMBDA_EVENT_LIMIT
    status, body = raw_call(over)
    assert status == 413
    assert body["error"] == ("body is over 4,194,304 bytes; the limit is 4,194,304 bytes (4 MiB, so that the "
                             "request fits in Lambda's 6 MB event): send smaller batches")


def test_text_body_is_measured_in_utf8_bytes_not_characters(classifier):
    status, body = raw_call('["' + "é" * (guards.MAX_BODY_BYTES // 2) + '"]')
    assert status == 413 and body["error"].startswith("body is 4,194,308 bytes; the limit is 4,194,304 bytes")


def test_text_body_that_escapes_past_the_event_budget_is_413_and_at_the_budget_is_read(classifier):
    largest = (guards.EVENT_BODY_BUDGET - 2) // 2     # newlines escape to two bytes each in the event
    status, body = raw_call("\n" * largest + "[]")
    assert status == 400 and "empty batch" in body["error"]
    status, body = raw_call("\n" * (largest + 1) + "[]")
    assert status == 413
    assert body["error"] == ("body takes 6,029,314 bytes inside the Lambda event once its quotes, backslashes "
                             "and control characters are escaped; the limit is 6,029,312 (Lambda's 6 MB event "
                             "less room for headers): send smaller batches")


def test_base64_body_at_the_limit_is_read_and_more_is_413(classifier):
    at_limit = " " * (guards.MAX_BODY_BYTES - 2) + "[]"
    status, body = call(body=at_limit, base64_body=True)
    assert status == 400 and "empty batch" in body["error"]
    status, body = call(body=at_limit + " ", base64_body=True)   # same base64 length: refused once decoded
    assert status == 413 and body["error"].startswith("body is 4,194,305 bytes; the limit is 4,194,304 bytes")
    status, body = call(body=at_limit + "   ", base64_body=True)
    assert status == 413
    assert body["error"].startswith("base64 body of 5,592,412 characters decodes to over 4,194,304 bytes; "
                                    "the limit is 4,194,304 bytes")


def test_base64_body_that_decodes_past_the_limit_is_413(classifier):
    ev = event(body="", content_type="application/json")
    ev["body"], ev["isBase64Encoded"] = "A" * guards.MAX_BASE64_CHARS, True   # decodes to MAX + 2 bytes
    status, body = answer(index.handler(ev, None))
    assert status == 413 and body["error"].startswith("body is 4,194,306 bytes; the limit is 4,194,304")


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize("number, shown", [
    ("1" * 400, "inf"), ("-" + "9" * 5000, "-inf"), ("1e400", "inf"), ("-2.5E+999", "-inf"),
])
def test_numbers_beyond_a_float_are_400_naming_the_field(classifier, number, shown):
    """A 400-digit integer used to be a 500 (OverflowError); over 4,300 digits a 400 that named no field."""
    text = json.dumps(WORKSHOP_RIDE).replace("2500", number)
    status, body = raw_call(text)
    assert status == 400
    assert body["error"] == f"feature 'magicpoints' in the request must be a finite number, got {shown}"


def test_numbers_beyond_a_float_in_sagemaker_instances_and_batches(classifier):
    status, body = raw_call('{"instances": [{"features": [1, 2, ' + "7" * 400 + ', 4, 5, 6]}]}')
    assert status == 400 and body["error"] == "instances[0].features[2] must be a finite number, got inf"
    status, body = raw_call("[" + json.dumps(WORKSHOP_RIDE) + "," + json.dumps(WORKSHOP_RIDE).replace("333", "1e309") + "]")
    assert status == 400 and body["error"] == "feature 'TMAX' in ride 1 must be a finite number, got inf"


def test_big_but_finite_numbers_still_parse():
    assert guards.loads("[" + "9" * 300 + ", 1e308, -0, 12]") == [float("9" * 300), 1e308, 0.0, 12.0]
    assert guards.loads("1" + "0" * 305) == 1e305


# ---------------------------------------------------------------- nesting


@pytest.mark.parametrize("text", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 100_000,
                                  "[" * 33 + "]" * 33, '[{"x": ' * 20 + "1" + "}]" * 20])
def test_deep_nesting_is_400_naming_the_nesting(classifier, text):
    status, body = raw_call(text)
    assert status == 400
    assert body["error"] == ('body nests JSON arrays or objects more than 32 levels deep; a request needs 4 '
                             'at most ({"instances": [{"features": [...]}]})')


def test_nesting_up_to_the_limit_and_brackets_in_strings_are_not_refused(classifier):
    status, body = raw_call("[" * 32 + "]" * 32)
    assert status == 400 and "ride 0 must be a JSON object" in body["error"]
    status, body = raw_call(json.dumps(dict(WORKSHOP_RIDE, distance="[" * 100_000)))
    assert status == 400 and "feature 'distance' in the request must be a number" in body["error"]


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


nested = st.recursive(st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                          st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=3), max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(value=nested, limit=st.integers(1, 8))
def test_too_deep_agrees_with_the_depth_of_the_decoded_value(value, limit):
    """json.dumps writes the value; the pre-scan must see exactly its nesting depth."""
    assert guards.too_deep(json.dumps(value), limit) == (_depth(value) > limit)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet='[]{}"\\,:1 ', max_size=120))
def test_any_bracket_soup_is_decoded_or_refused_never_recursed_into(text):
    """When the pre-scan lets text through, the decoder never goes deeper than twice the limit."""
    try:
        value = guards.loads(text)
    except guards.InputError as exc:
        assert exc.status == 400
    else:
        assert _depth(value) <= guards.MAX_DEPTH


# ---------------------------------------------------------------- duplicate keys


@pytest.mark.parametrize("text, message", [
    ('{"distance": 30, "distance": 31, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0}',
     "duplicate key 'distance' in a JSON object; send each feature once"),
    ('{"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0, "DISTANCE": 1}',
     ("duplicate key 'DISTANCE' in a JSON object (same as 'distance': keys are not case-sensitive); "
      "send each feature once")),
    ('[{"a": 1}, {"tmax": 1, "TMAX": 2}]',
     "duplicate key 'TMAX' in a JSON object (same as 'tmax': keys are not case-sensitive); send each feature once"),
    ('{"instances": [], "instances": [{"features": [1, 2, 3, 4, 5, 6]}]}',
     "duplicate key 'instances' in a JSON object; send each feature once"),
])
def test_duplicate_keys_are_400(classifier, text, message):
    status, body = raw_call(text)
    assert status == 400 and body["error"] == message


# ---------------------------------------------------------------- non-finite scores


RIDE = dict(WORKSHOP_RIDE, distance=1e308)


@pytest.mark.parametrize("engine", ["lean", "mxnet"])
def test_an_overflowing_score_is_422_naming_the_values_never_a_200(s3, monkeypatch, engine):
    serve(s3, monkeypatch, [1e30] * 6, engine=engine)
    status, body = call(body=RIDE)
    assert status == 422
    assert body["error"] == ("the model's score for the ride is not a finite number (inf): its weights overflow "
                             "a float on distance=1e+308, magicpoints=2500, TMAX=333, TMIN=300, healthpoints=30, "
                             "PRCP=0; send values in the range the model was trained on")
    assert call(body=WORKSHOP_RIDE)[0] == 200


def test_nan_from_a_classifier_is_422_not_labelled_0(s3, monkeypatch):
    serve(s3, monkeypatch, [1e38, -1e38, 0, 0, 0, 0], "binary_classifier")
    status, body = call(body=[WORKSHOP_RIDE, dict(WORKSHOP_RIDE, distance=1e308, healthpoints=1e308)])
    assert status == 422
    assert body["error"].startswith("the model's score for ride 1 is not a finite number (nan): its weights "
                                    "overflow a float on distance=1e+308, healthpoints=1e+308,")


def test_an_overflowing_row_in_sagemaker_formats_names_its_row(s3, monkeypatch):
    serve(s3, monkeypatch, [1e38] * 6)
    status, body = call(body={"instances": [{"features": [1, 2, 3, 4, 5, 6]}, {"features": [0, 0, 0, 0, 0, 1e308]}]})
    assert status == 422 and "score for row 1 is not a finite number (inf)" in body["error"]
    assert "on PRCP=1e+308, distance=0," in body["error"]   # the workshop names of a 6-feature model
    status, body = call(body="1,2,3,4,5,6\n" + "-1e308,0,0,0,0,0\n", content_type="text/csv")
    assert status == 422 and "score for row 1 is not a finite number (-inf)" in body["error"]


def test_a_nan_that_slips_through_is_a_500_with_valid_json_never_invalid_json(classifier, monkeypatch):
    """The 422 checks are bypassed here: the body writer's own check must still keep NaN out of a 200."""
    import engines
    monkeypatch.setattr(guards, "check_scores", lambda *args: None)
    monkeypatch.setattr(engines.LeanEngine, "predict", lambda self, rows: [math.nan] * len(rows))
    monkeypatch.setattr(engines.LeanEngine, "predict_one", lambda self, row: math.nan)
    monkeypatch.setattr(engines.LeanEngine, "predict_explained",
                        lambda self, rows: ([math.nan] * len(rows), [(0.5,) * 6] * len(rows), 0.0,
                                            [0.5] * len(rows)))
    monkeypatch.setattr(engines.LeanEngine, "explain_one", lambda self, row: (math.nan, (0.5,) * 6, 0.0, 0.5))
    for kwargs in ({"body": WORKSHOP_RIDE}, {"body": [WORKSHOP_RIDE] * 2}, {"body": WORKSHOP_RIDE, "query": {"explain": "true"}},
                   {"body": "30,30,2500,300,333,0", "content_type": "text/csv", "query": {"explain": "true"}}):
        status, body = call(**kwargs)
        assert status == 500 and body == {"error": "internal error in the inference function; see its log"}
    with pytest.raises(ValueError, match="not JSON compliant"):
        guards.dumps({"score": math.inf})


# ---------------------------------------------------------------- property


hostile = st.one_of(
    st.builds(lambda n, k: "[" * n + "]" * k, st.integers(0, 3000), st.integers(0, 3000)),
    st.builds(lambda sign, digits, key: json.dumps(dict(WORKSHOP_RIDE, **{key: 0})).replace(
        f'"{key}": 0', f'"{key}": {sign}{digits}'),
        st.sampled_from(["", "-"]), st.from_regex(r"[1-9][0-9]{0,900}", fullmatch=True), st.sampled_from(FEATURES)),
    st.builds(lambda a, b: f'{{"{a}": 1, "{b}": 2}}', st.sampled_from(FEATURES), st.sampled_from(
        [f.upper() for f in FEATURES] + list(FEATURES))),
    st.builds(lambda e: json.dumps(WORKSHOP_RIDE).replace("30,", f"1e{e},", 1), st.integers(-500, 500)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile)
def test_hostile_json_gets_a_4xx_or_200_with_strict_json(classifier, text):
    response = index.handler(event(body=text), None)
    assert response["statusCode"] in (200, 400, 422), response
    strict_loads(response["body"])


def test_a_model_without_feature_names_gets_positions_and_the_largest_values():
    with pytest.raises(guards.InputError) as caught:
        guards.check_scores([1.0, -math.inf], [[1.0] * 11, [0.0] * 10 + [-5e300]], None,
                            "sagemaker")
    assert caught.value.status == 422
    assert caught.value.message == (
        "the model's score for row 1 is not a finite number (-inf): its weights overflow a float on "
        "features[10]=-5e+300, features[0]=0, features[1]=0, features[2]=0, features[3]=0, features[4]=0 "
        "(the 6 largest of 11 values); send values in the range the model was trained on")


def test_the_largest_values_of_a_very_wide_row_are_named_without_labelling_every_feature():
    import tracemalloc
    from array import array

    row = array("d", [0.0]) * (1 << 20)
    row[700_000] = 9e300
    tracemalloc.start()
    try:
        with pytest.raises(guards.InputError) as caught:
            guards.check_scores([math.inf], [row], None, "sagemaker")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.message.startswith("the model's score for row 0 is not a finite number (inf): its weights "
                                           "overflow a float on features[700000]=9e+300, features[0]=0")
    assert "(the 6 largest of 1048576 values)" in caught.value.message
    assert peak < 4 * 1024 * 1024, f"{peak / 2**20:.0f} MiB to name 6 values"


@pytest.mark.parametrize("bad_column", [1, 16_000, 16_001, 16_385, 60_000])
def test_a_wide_csv_row_is_read_in_pieces_and_a_bad_cell_is_named_by_its_column(bad_column):
    import formats

    cells = [f"{i % 97}.25" for i in range(60_000)]          # ~6 characters a cell: several 64 KiB pieces
    parsed = formats.rows_from_csv(",".join(cells), 60_000)
    assert list(parsed.rows[0]) == [float(c) for c in cells]
    for bad, message in (("x1", "'x1' is not a number"), ("nan", "nan is not finite")):
        broken = list(cells)
        broken[bad_column - 1] = bad
        with pytest.raises(formats.RequestError) as caught:
            formats.rows_from_csv(",".join(broken), 60_000)
        assert caught.value.message.startswith(f"CSV line 1, column {bad_column}: {message}")
