"""Inference engines: turn feature rows into scores for a parsed linear-learner model.

Two engines give the same numbers (tests hold them to 1e-5 relative):

- ``lean`` (default): standard library only. A linear-learner model is one
  weight vector and a bias, so a dot product in pure Python is exact enough
  and avoids MXNet's ~2 s import and ~190 MB package. It cold-starts in
  milliseconds in a 128 MB function.
- ``mxnet``: the workshop's way, ``mx.module.Module.load`` on the artifact's
  own symbol and params, bound once for inference. Kept for graphs the lean
  engine refuses and as the reference the lean engine is measured against.
"""
from __future__ import annotations

import math
import os
import tempfile
from operator import mul

ENGINE_NAMES = ("lean", "mxnet")


class EngineError(RuntimeError):
    """The engine cannot serve this model; the message says which engine to use instead."""


def _explainable(model) -> None:
    """``explain`` splits ``data . weight + bias``; a graph with more in it has no such split."""
    if model.lean_error:
        raise EngineError(f"this model cannot be explained term by term: {model.lean_error}")


def sigmoid(value: float) -> float:
    """Logistic function without overflow for large negative inputs."""
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    z = math.exp(value)
    return z / (1.0 + z)


class LeanEngine:
    """Evaluates ``head(data . weight + bias)`` in pure Python."""

    name = "lean"

    def __init__(self, model) -> None:
        if model.lean_error:
            raise EngineError(model.lean_error)
        self.model = model
        self._weights = model.weights
        self._bias = model.bias
        self._logistic = model.head_op == "LogisticRegressionOutput"

    def predict(self, rows):
        weights, bias = self._weights, self._bias
        scores = [sum(map(mul, row, weights)) + bias for row in rows]
        if self._logistic:
            return [sigmoid(s) for s in scores]
        return scores

    def predict_one(self, row) -> float:
        """``predict([row])[0]`` without the lists: the workshop's request is one ride."""
        margin = sum(map(mul, row, self._weights)) + self._bias
        return sigmoid(margin) if self._logistic else margin

    def explain(self, rows):
        """Per row: (weight x value per feature, bias, margin). ``margin`` is exactly
        ``bias + sum(terms)`` and the value ``predict`` puts through the head."""
        _scores, terms, bias, margins = self.predict_explained(rows)
        return [(row_terms, bias, margin) for row_terms, margin in zip(terms, margins)]

    def predict_explained(self, rows):
        """(scores, terms per row, intercept, margins): ``predict`` and ``explain`` from one pass over
        the products, so asking why costs the request only what the terms themselves cost."""
        weights, bias = self._weights, self._bias
        terms = [tuple(map(mul, row, weights)) for row in rows]
        margins = [sum(row_terms) + bias for row_terms in terms]
        return (list(map(sigmoid, margins)) if self._logistic else margins), terms, bias, margins

    def explain_one(self, row):
        """(score, terms, intercept, margin) of one row: ``predict_explained`` without the lists."""
        row_terms = tuple(map(mul, row, self._weights))
        margin = sum(row_terms) + self._bias
        return (sigmoid(margin) if self._logistic else margin), row_terms, self._bias, margin


class MXNetEngine:
    """Loads the artifact's graph with MXNet's Module API, bound once for inference.

    A bound MXNet executor has a fixed batch size, and the graph's
    ``out_label`` input stops ``Module.reshape`` from changing it. So the
    module is bound once per batch-size bucket (1, 2, 4, ..., 1024) on first
    use and a batch is padded up to its bucket (less than twice its rows):
    every request is one forward pass and nothing is re-bound per request.
    """

    name = "mxnet"
    PREFIX = "mx-mod"
    BUCKET_GROWTH = 2

    def __init__(self, model) -> None:
        try:
            import mxnet as mx  # noqa: PLC0415 - 2 s import, only when this engine is chosen
        except ImportError as exc:
            raise EngineError(f"INFERENCE_ENGINE=mxnet but MXNet is not importable ({exc}); "
                              "deploy with --engine mxnet or use INFERENCE_ENGINE=lean") from None
        self._mx = mx
        self.model = model
        with tempfile.TemporaryDirectory(prefix="wildrydes-mx-") as workdir:
            prefix = os.path.join(workdir, self.PREFIX)
            with open(f"{prefix}-symbol.json", "wb") as handle:
                handle.write(model.symbol_json)
            with open(f"{prefix}-0000.params", "wb") as handle:
                handle.write(model.params)
            # The workshop's loader; the graph's out_label stays unbound (inference only).
            loaded = mx.module.Module.load(prefix, 0, label_names=None)
        loaded.bind(data_shapes=[("data", (1, model.dimension))], for_training=False)
        self._symbol = loaded.symbol
        self._params = loaded.get_params()
        self._explained: tuple | None = None   # _explain_params, on the first ?explain=true
        self._modules: dict[int, object] = {1: loaded}

    def _module_for(self, rows: int):
        size = 1
        while size < rows:
            size *= self.BUCKET_GROWTH
        module = self._modules.get(size)
        if module is None:
            mx = self._mx
            module = mx.module.Module(self._symbol, label_names=None, context=mx.cpu())
            module.bind(data_shapes=[("data", (size, self.model.dimension))], for_training=False)
            module.set_params(*self._params, allow_missing=True)
            self._modules[size] = module
        return size, module

    def predict(self, rows):
        mx = self._mx
        count = len(rows)
        size, module = self._module_for(count)
        padded = list(rows) + [[0.0] * self.model.dimension] * (size - count)
        module.forward(mx.io.DataBatch([mx.nd.array(padded, dtype="float32")]), is_train=False)
        output = module.get_outputs()[0].asnumpy().reshape(size, -1)[:count, 0]
        return [float(v) for v in output]

    def explain(self, rows):
        """Per row: (weight x value per feature, bias, margin), with MXNet's float32 arrays.

        The terms are MXNet's own products of the loaded parameters and the
        request's values; ``margin`` is their sum plus the bias, which the
        graph's head turns into the score (to float32 precision).
        """
        _explainable(self.model)
        mx = self._mx
        weight, bias = self._explain_params()
        terms = (mx.nd.array(rows, dtype="float32") * weight).asnumpy()
        explained = []
        for row_terms in terms.tolist():
            explained.append((tuple(row_terms), bias, sum(row_terms) + bias))
        return explained

    def _explain_params(self):
        """(weight as a 1 x N row, bias as a float): read from the parameters once per engine, so
        each request does not repeat it and the intercept is one float object per model."""
        if self._explained is None:
            arg_params = self._params[0]
            weight = next(v for k, v in arg_params.items() if k.endswith("weight"))
            bias_params = [v for k, v in arg_params.items() if k.endswith("bias")]
            bias = float(bias_params[0].asnumpy().ravel()[0]) if bias_params else 0.0
            self._explained = (weight.reshape((1, -1)), bias)
        return self._explained

    def predict_one(self, row) -> float:
        return self.predict([row])[0]

    def explain_one(self, row):
        scores, terms, intercept, margins = self.predict_explained([row])
        return scores[0], terms[0], intercept, margins[0]

    def predict_explained(self, rows):
        """(the graph's scores, its own head in float32; terms per row, intercept, margins)."""
        explained = self.explain(rows)
        bias = explained[0][1] if explained else 0.0
        return self.predict(rows), [row[0] for row in explained], bias, [row[2] for row in explained]


def create_engine(name: str, model):
    """Build the named engine for a parsed model."""
    if name == "lean":
        return LeanEngine(model)
    if name == "mxnet":
        return MXNetEngine(model)
    raise EngineError(f"unknown INFERENCE_ENGINE {name!r}; use one of: {', '.join(ENGINE_NAMES)}")
