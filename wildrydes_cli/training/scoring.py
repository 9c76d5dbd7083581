"""Score a table of rides with a published model, as the deployed function would, at numpy speed.

Why not the lean engine row by row: it is pure Python (~1 µs a feature), and
``evaluate`` and the deploy gate score up to millions of rows. The model is read
with the function's own reader (``lambda/artifact.py``: the same bounds, the same
errors, the same threshold and feature names), scored with numpy as
``head(X . w + b)``, and the first ``CHECKED_ROWS`` rows are scored again by the
function's lean engine: the two must agree to 1e-9 relative, or the evaluation
stops (a difference would mean these figures are not the function's).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from wildrydes_cli.errors import ModelRefusedError, UsageError
from wildrydes_cli.layout import FEATURES
from wildrydes_cli.modelcheck import _function_module
from wildrydes_cli.training.data import LABEL, Dataset

LOG = logging.getLogger(__name__)

CHECKED_ROWS = 100
CHUNK_ROWS = 65_536
AGREEMENT = 1e-9


class FeatureMismatchError(UsageError):
    """The model takes other features than the rows have (another dimension, other names)."""


@dataclass(frozen=True)
class LoadedModel:
    """A parsed model and where it came from (a key, s3://..., or a file)."""

    name: str
    model: Any            # the function's artifact.LinearModel
    sha256: str

    @property
    def classifier(self) -> bool:
        return bool(self.model.is_classifier)

    @property
    def threshold(self) -> float:
        return float(self.model.threshold)


def load(data: bytes, name: str) -> LoadedModel:
    """Parse ``data`` with the function's reader; a model it could not serve is refused (exit 3)."""
    import hashlib
    artifact = _function_module("artifact")
    try:
        model = artifact.read_model_archive(data)
    except artifact.ArtifactError as exc:
        raise ModelRefusedError(f"{name} cannot be read as a linear-learner model: {exc}") from None
    if model.lean_error:
        raise ModelRefusedError(f"{name} cannot be evaluated here: {model.lean_error} (its graph needs the "
                                "mxnet engine; evaluate reads models the lean engine evaluates)")
    return LoadedModel(name=name, model=model, sha256=hashlib.sha256(data).hexdigest())


def columns_for(loaded: LoadedModel, dataset: Dataset) -> np.ndarray:
    """The column order of ``dataset.features`` the model expects; refuses another dimension or other names."""
    model = loaded.model
    where = dataset.source
    if model.dimension != len(FEATURES):
        raise FeatureMismatchError(f"{loaded.name} takes {model.dimension} features, but {where} has the {len(FEATURES)} "
                         f"ride features ({', '.join(FEATURES)}): evaluate it with rows of its own features")
    if not model.feature_names:
        return np.arange(len(FEATURES))   # SageMaker's own models name none: the notebook's order (contract)
    lowered = [name.lower() for name in FEATURES]
    unknown = [name for name in model.feature_names if name.lower() not in lowered]
    if unknown:
        raise FeatureMismatchError(f"{loaded.name} was trained on feature {unknown[0]!r}, which {where} does not have "
                         f"(its columns: {', '.join(FEATURES)}; the model's: {', '.join(model.feature_names)})")
    return np.array([lowered.index(name.lower()) for name in model.feature_names])


def check_labels(loaded: LoadedModel, dataset: Dataset) -> None:
    """A classifier is evaluated on 0/1 labels only: the first other value is refused with its row."""
    if not loaded.classifier:
        return
    labels = dataset.labels
    bad = np.flatnonzero((labels != 0.0) & (labels != 1.0))
    if bad.size:
        row = int(bad[0])
        raise UsageError(f"{dataset.source} row {row + 1}: column {LABEL!r} is {labels[row]:g}, not 0 or 1 "
                         f"({loaded.name} is a binary classifier; {bad.size:,} rows have such labels)")


def score(loaded: LoadedModel, dataset: Dataset) -> np.ndarray:
    """Every row's score (a probability for a classifier), checked against the lean engine on the first rows."""
    check_labels(loaded, dataset)
    order = columns_for(loaded, dataset)
    model = loaded.model
    weights = np.frombuffer(model.weights, dtype=np.float64)
    features = dataset.features if np.array_equal(order, np.arange(len(FEATURES))) else dataset.features[:, order]
    scores = np.empty(dataset.rows, dtype=np.float64)
    logistic = model.head_op == "LogisticRegressionOutput"
    for start in range(0, dataset.rows, CHUNK_ROWS):   # float64 as the lean engine, a chunk at a time: no copy
        end = start + CHUNK_ROWS                       # of the whole (float32) table in float64, and the
        margin = scores[start:end]                     # sigmoid's temporaries are a chunk's, not the table's
        np.matmul(features[start:end].astype(np.float64), weights, out=margin)
        margin += model.bias
        if logistic:
            margin[:] = _sigmoid(margin)
    _check_with_lean(loaded, features[:CHECKED_ROWS], scores[:CHECKED_ROWS])
    return scores


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    """The lean engine's sigmoid, vectorised: no overflow for large negative margins."""
    z = np.exp(-np.abs(margin))            # in (0, 1]: no overflow either way
    denominator = z + 1.0
    positive = margin >= 0
    np.divide(z, denominator, out=z, where=~positive)     # e^m / (1 + e^m), as the lean engine for m < 0
    np.divide(1.0, denominator, out=z, where=positive)    # 1 / (1 + e^-m) for m >= 0
    return z


def _check_with_lean(loaded: LoadedModel, rows: np.ndarray, scores: np.ndarray) -> None:
    engine = _function_module("engines").LeanEngine(loaded.model)
    lean = engine.predict(rows.tolist())
    for i, (ours, theirs) in enumerate(zip(scores.tolist(), lean)):
        if not math.isclose(ours, theirs, rel_tol=AGREEMENT, abs_tol=1e-12):
            raise RuntimeError(f"row {i + 1}: numpy scored {ours!r}, the function's lean engine {theirs!r}")
