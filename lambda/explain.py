"""Why this score: a linear model's margin, split into one term per feature.

A linear-learner score is ``head(bias + sum(weight_i * value_i))``. With
``?explain=true`` (or ``"explain": true`` in a JSON object body) each
prediction also carries::

    "contributions": {feature name: weight x value as sent, ...},
    "intercept": bias

and ``intercept + sum(contributions)`` is the margin, what the head turns
into ``score``: the logit of the score for a binary classifier
(score = 1 / (1 + exp(-margin))), the score itself for a regressor. The margin
itself is not sent: it is that sum, and every extra float costs ~0.2-0.5 µs
of JSON encoding per prediction (benchmarks/bench_explain.py). Features are named by the model's ``feature_names``; a model
without names that takes the workshop's six features uses the workshop's
names (as the request parser does), any other nameless model ``f0 .. fN-1``
(SageMaker's nameless ``instances``/CSV rows are named the same way).

Kept apart from formats.py and models.py so the pricing-style question "why
this score" adds no work to a request that does not ask it.
"""
from __future__ import annotations

import json

import engines
import formats

TRUE_VALUES = ("true", "1", "yes")
FALSE_VALUES = ("false", "0", "no", "")


def wanted(query_value: str | None, payload=None) -> bool:
    """Whether the request asks for explanations; a value that is neither yes nor no is a 400."""
    asked = False
    if query_value is not None:
        lowered = query_value.strip().lower()
        if lowered not in TRUE_VALUES + FALSE_VALUES:
            raise formats.RequestError(400, f"explain must be true or false, got {query_value[:20]!r}")
        asked = lowered in TRUE_VALUES
    if isinstance(payload, dict) and "explain" in payload:
        value = payload["explain"]
        if not isinstance(value, bool):
            raise formats.RequestError(400, f'"explain" must be true or false, got {json.dumps(value)[:20]}')
        asked = asked or value
    return asked


def feature_names(names, dimension: int) -> tuple[str, ...]:
    """The model's feature names, or f0..fN-1 when it has none."""
    if names and len(names) == dimension:
        return tuple(names)
    return tuple(f"f{i}" for i in range(dimension))


def add_explanations(results: list, engine, rows: list, names: tuple[str, ...]) -> list:
    """Attach contributions and intercept to each result (in place); returns ``results``."""
    try:
        explained = engine.explain(rows)
    except engines.EngineError as exc:
        raise formats.RequestError(400, str(exc)) from None
    for result, (terms, intercept, _margin) in zip(results, explained):
        result["contributions"] = dict(zip(names, terms))
        result["intercept"] = intercept
    return results
