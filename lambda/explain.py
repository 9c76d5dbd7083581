"""Why this score: a linear model's margin, split into one term per feature.

A linear-learner score is ``head(bias + sum(weight_i * value_i))``. With
``?explain=true`` (or ``"explain": true`` in a JSON object body) each
prediction also carries::

    "contributions": {feature name: weight x value as sent, ...},
    "intercept": bias

and ``intercept + sum(contributions)`` is the margin, what the head turns
into ``score``: the logit of the score for a binary classifier
(score = 1 / (1 + exp(-margin))), the score itself for a regressor. The margin
itself is not sent: it is that sum. Features are named by the model's
``feature_names``; a model without names that takes the workshop's six
features uses the workshop's names (as the request parser does), any other
nameless model ``f0 .. fN-1`` (SageMaker's nameless ``instances``/CSV rows
are named the same way).

Why the terms are written with 12 significant digits and not Python's
shortest round-trip ``repr``: the budget is 2 µs per request, and ``repr`` of
a 17-digit double costs ~0.3 µs on a 2-core machine, so six of them alone
spent it (benchmarks/bench_explain.py measures both). ``%.12g`` in the
model's response template (bodies.py) writes all six in one C call in about
half the time. Twelve digits are 1,000 times finer than the model itself: its
weights are float32 (7 digits), and MXNet's terms are float32 values, which
12 digits write exactly. So ``intercept + sum(contributions)`` equals the
margin to 5e-12 of the sum of the terms' sizes. The intercept is the model's
own constant, written once per model with ``repr`` (exact).

The terms come from the engine in the same pass as the scores
(``predict_explained``), so a request that does not ask pays nothing.
"""
from __future__ import annotations

import json
import math

import formats

TERM_FORMAT = "%.12g"   # see the module docstring: exact for float32 terms, 5e-12 relative for doubles

# Terms (rows x features) one explained answer may hold: ~25 bytes each in the body, so at most
# ~2.5 MB, inside Lambda's 6 MB response; and the per-model template of names is built only up to this
# width (a 2^20-feature model's would hold ~80 MB in a 128 MB function).
MAX_TERMS = 100_000

TRUE_VALUES = ("true", "1", "yes")
FALSE_VALUES = ("false", "0", "no", "")
_KNOWN_VALUES = TRUE_VALUES + FALSE_VALUES
# The usual spellings (and no query at all), answered by one lookup; others are normalised first.
_QUERY_FLAGS: dict[str | None, bool] = {None: False, **{value: value in TRUE_VALUES for value in _KNOWN_VALUES}}


def wanted(query_value: str | None, payload=None) -> bool:
    """Whether the request asks for explanations; a value that is neither yes nor no is a 400."""
    asked = _QUERY_FLAGS.get(query_value)
    if asked is None and query_value is not None:   # (None is in the table: mypy cannot know)
        lowered = query_value.strip().lower()
        if lowered not in _KNOWN_VALUES:
            raise formats.RequestError(400, f"explain must be true or false, got {query_value[:20]!r}")
        asked = lowered in TRUE_VALUES
    if isinstance(payload, dict) and "explain" in payload:
        value = payload["explain"]
        if not isinstance(value, bool):
            raise formats.RequestError(400, f'"explain" must be true or false, got {json.dumps(value)[:20]}')
        asked = asked or value
    return bool(asked)


def check_size(rows: int, dimension: int) -> None:
    """A 400 when an explained answer would hold more than ``MAX_TERMS`` terms."""
    if rows * dimension > MAX_TERMS:
        raise formats.RequestError(400, f"explain=true answers at most {MAX_TERMS:,} terms (rows x features) "
                                        f"per request; this one would have {rows * dimension:,} ({rows} rows of "
                                        f"{dimension} features): send fewer rows, or leave explain out")


def feature_names(names, dimension: int) -> tuple[str, ...]:
    """The model's feature names, or f0..fN-1 when it has none."""
    if names and len(names) == dimension:
        return tuple(names)
    return tuple(f"f{i}" for i in range(dimension))


def contributions_template(names: tuple[str, ...]) -> str:
    """``,"contributions":{"name":%.12g,...}`` for ``bodies.BodyWriter``'s templates: names
    JSON-escaped, and a ``%`` in a name (the model's metadata is not ours) doubled so that it
    cannot act as a format directive."""
    pairs = ",".join(json.dumps(name).replace("%", "%%") + ":" + TERM_FORMAT for name in names)
    return ',"contributions":{' + pairs + "}"


def intercept_text(intercept: float) -> str:
    """``,"intercept":<repr>``: the model's constant, exact."""
    return ',"intercept":' + json.dumps(intercept)


def check_margins(margins: list, style: str) -> None:
    """422 when a margin is not a finite number (a huge value times a weight overflows a float),
    which JSON cannot carry; a sum is finite only when every term is."""
    if all(map(math.isfinite, margins)):
        return
    i = next(i for i, margin in enumerate(margins) if not math.isfinite(margin))
    where = {"single": "the ride", "batch": f"ride {i}"}.get(style, f"row {i}")
    raise formats.RequestError(422, f"cannot explain the score of {where}: weight x value overflows a "
                                    "float; send values in the range the model was trained on")
