"""Response bodies from per-model templates (bodies.py) say exactly what the json module would."""
from __future__ import annotations

import json
import math

import bodies
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lambda_helpers import strict_loads

finite = st.floats(allow_nan=False, allow_infinity=False)
names = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5, unique=True)


def expected(style, scores, classifier, threshold, extra, terms=None, intercept=None, names=()):
    """The body the handler wrote with json.dumps before the templates: the oracle."""
    items = []
    for i, score in enumerate(scores):
        item = {"score": score}
        if classifier:
            item["predicted_label"] = 1 if score > threshold else 0
        if style != "sagemaker":
            item.update(extra)
        if terms is not None:
            item["contributions"] = dict(zip(names, terms[i]))
            item["intercept"] = intercept
        items.append(item)
    if style == "single":
        return items[0]
    return {"predictions": items} if style == "sagemaker" else items


@settings(max_examples=300, deadline=None)
@given(style=st.sampled_from(["single", "batch", "sagemaker"]), classifier=st.booleans(),
       threshold=st.floats(0, 1), breed=st.one_of(st.none(), st.text(max_size=10)),
       key=st.text(max_size=30), feature_names=names, data=st.data())
def test_bodies_say_what_json_dumps_says(style, classifier, threshold, breed, key, feature_names, data):
    count = 1 if style == "single" else data.draw(st.integers(1, 4))
    scores = data.draw(st.lists(finite, min_size=count, max_size=count))
    writer = bodies.BodyWriter(key=key, engine="lean", breed=breed, classifier=classifier,
                               threshold=threshold, feature_names=tuple(feature_names))
    extra = {"model_path": key, "engine": "lean", **({"breed": breed} if breed is not None else {})}
    text = writer.plain(style, scores)
    assert strict_loads(text) == expected(style, scores, classifier, threshold, extra)
    for score in scores:   # the very text json writes for a score: float.__repr__
        assert f'"score":{json.dumps(score)}' in text

    terms = [tuple(data.draw(st.lists(st.floats(-1e300, 1e300), min_size=len(feature_names),
                                      max_size=len(feature_names)))) for _ in scores]
    intercept = data.draw(st.floats(-1e300, 1e300))
    margins = [math.fsum(row) + intercept for row in terms]
    text = writer.explained(style, scores, terms, intercept, margins)
    decoded = strict_loads(text)
    rounded = [tuple(float(f"{t:.12g}") for t in row) for row in terms]
    assert decoded == expected(style, scores, classifier, threshold, extra, rounded, intercept, feature_names)


@pytest.mark.parametrize("scores", [[math.nan], [0.5, math.inf], [-math.inf, 0.5]])
def test_a_non_finite_score_never_reaches_a_body(scores):
    writer = bodies.BodyWriter(key="k", engine="lean", breed=None, classifier=True, threshold=0.5,
                               feature_names=("f0",))
    style = "single" if len(scores) == 1 else "batch"
    with pytest.raises(ValueError, match="a score is not a finite number; JSON has no NaN or Infinity"):
        writer.plain(style, scores)


@pytest.mark.parametrize("margins, where", [([math.nan], "the ride"), ([1.0, math.inf], "ride 1"), ([-math.inf], "the ride")])
def test_a_non_finite_margin_is_a_422(margins, where):
    import formats
    writer = bodies.BodyWriter(key="k", engine="lean", breed=None, classifier=True, threshold=0.5,
                               feature_names=("f0",))
    scores = [0.5] * len(margins)
    style = "single" if len(scores) == 1 else "batch"
    with pytest.raises(formats.RequestError) as caught:
        writer.explained(style, scores, [(1.0,)] * len(scores), 0.0, margins)
    assert caught.value.status == 422
    assert caught.value.message.startswith(f"cannot explain the score of {where}: weight x value overflows")
