"""Prediction response bodies, written from per-model templates.

Everything in a prediction's JSON object except its numbers is fixed per
model: the keys, ``model_path``, ``engine``, ``breed``, and for
``?explain=true`` the feature names and the intercept. So it is written once,
when the model loads, into ``%``-templates, and a request only formats its
numbers, in one C call. Why not ``json.dumps`` of result dicts: on a 2-core
machine encoding one small dict cost more than the numbers in it, which made
the plain answer ~25% slower and put ``?explain=true`` over its 2 µs budget
(benchmarks/bench_explain.py).

What the templates write is what the json module writes: scores with ``%r``
(``float.__repr__``, the json module's own float writer; scores are finite,
``guards.check_scores`` runs first), labels with ``%d``, text through
``guards.dumps`` (outside the %-templates); terms as explain.py says. The shapes are
formats.py's: ``single`` one object with ``model_path``, ``engine`` (and
``breed``), ``batch`` a list of those, ``sagemaker``
``{"predictions": [...]}`` of bare predictions.
"""
from __future__ import annotations

from math import isfinite

import explain
import guards


class BodyWriter:
    """One model's response bodies (``models.LoadedModel.writer``).

    A prediction's object is a %-template of its numbers (score, label, terms)
    followed by a constant suffix (intercept, ``model_path``, ``engine``,
    ``breed``), so ``%`` scans only the part with numbers in it. Suffixes come
    in pairs indexed by ``style != "sagemaker"``: SageMaker's predictions are
    bare, the workshop's carry ``model_path``, ``engine`` (and ``breed``).
    """

    __slots__ = ("_classifier", "_threshold", "_head", "_tails", "_names", "_numbers", "_suffixes", "_intercept")

    def __init__(self, *, key: str, engine: str, breed: str | None, classifier: bool, threshold,
                 feature_names: tuple[str, ...] | None, dimension: int | None = None) -> None:
        self._classifier = classifier
        self._threshold = threshold
        self._head = '{"score":%r,"predicted_label":%d' if classifier else '{"score":%r'
        tail = {"model_path": key, "engine": engine}
        if breed is not None:
            tail["breed"] = breed
        self._tails: tuple[str, ...] = ("}", "," + guards.dumps(tail)[1:-1] + "}")
        # Names for the explained template, made when first needed: a nameless model gets f0..fN-1,
        # which for a wide model would cost ~60 bytes a feature held for nothing until explain is asked.
        self._names = (feature_names, len(feature_names or ()) if dimension is None else dimension)
        # The explained template and suffixes: built on the first explained body, when the intercept is known.
        self._numbers = ""
        self._suffixes: tuple[str, ...] = self._tails
        self._intercept: float | None = None

    def plain_one(self, score: float) -> str:
        """The JSON text answering the workshop's one ride: one format call.

        A score that is not finite was guards.check_scores' 422 before this;
        the check here stands behind it, so that a NaN that slips past is a
        500 with a valid JSON body, never ``nan`` in a 200.
        """
        if not isfinite(score):
            raise ValueError("a score is not a finite number; JSON has no NaN or Infinity")
        if self._classifier:
            return self._head % (score, score > self._threshold) + self._tails[1]
        return self._head % (score,) + self._tails[1]

    def explained_one(self, score: float, terms: tuple, intercept: float, margin: float) -> str:
        """``plain_one`` with the ride's ``terms`` and the ``intercept`` (they sum to ``margin``).

        A margin that is not finite cannot be written: explain.check_margins' 422.
        """
        if not isfinite(margin):
            explain.check_margins([margin], "single")
        if not isfinite(score):
            raise ValueError("a score is not a finite number; JSON has no NaN or Infinity")
        if intercept is not self._intercept and intercept != self._intercept:
            self._explain_with(intercept)
        if self._classifier:
            return self._numbers % ((score, score > self._threshold) + terms) + self._suffixes[1]
        return self._numbers % ((score,) + terms) + self._suffixes[1]

    def plain(self, style: str, scores: list) -> str:
        """``plain_one`` for a batch (``style`` ``batch`` or ``sagemaker``)."""
        if style == "single":
            return self.plain_one(scores[0])
        if not all(map(isfinite, scores)):
            raise ValueError("a score is not a finite number; JSON has no NaN or Infinity")
        return self._join(style, self._head, self._tails[style != "sagemaker"], self._values(scores))

    def explained(self, style: str, scores: list, terms: list, intercept: float, margins: list) -> str:
        """``explained_one`` for a batch (``style`` ``batch`` or ``sagemaker``)."""
        if style == "single":
            return self.explained_one(scores[0], terms[0], intercept, margins[0])
        if not all(map(isfinite, margins)):
            explain.check_margins(margins, style)
        if not all(map(isfinite, scores)):
            raise ValueError("a score is not a finite number; JSON has no NaN or Infinity")
        if intercept is not self._intercept and intercept != self._intercept:
            self._explain_with(intercept)
        rows = [values + row_terms for values, row_terms in zip(self._values(scores), terms)]
        return self._join(style, self._numbers, self._suffixes[style != "sagemaker"], rows)

    def _explain_with(self, intercept: float) -> None:
        """Build the explained template and suffixes (an engine's intercept is one float per model)."""
        self._numbers = self._head + explain.contributions_template(explain.feature_names(*self._names))
        self._suffixes = tuple(explain.intercept_text(intercept) + tail for tail in self._tails)
        self._intercept = intercept

    def _values(self, scores: list) -> list[tuple]:
        if self._classifier:
            threshold = self._threshold
            return [(score, score > threshold) for score in scores]
        return [(score,) for score in scores]

    @staticmethod
    def _join(style: str, template: str, suffix: str, rows: list[tuple]) -> str:
        joined = ",".join([template % values + suffix for values in rows])
        return '{"predictions":[' + joined + "]}" if style == "sagemaker" else "[" + joined + "]"
