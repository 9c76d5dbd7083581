"""Validation metrics and linear-learner's threshold choice, in plain numpy.

Why here and not in the trainer: they are pure functions of (scores, labels),
tested on small hand-made cases, and the tests use ``auc`` to score the
generating model on the same rows as the trained one.

Labels follow the deployed function's rule: ``predicted_label = score > threshold``.
"""
from __future__ import annotations

import numpy as np

# Metrics over a million rows go through them this many at a time, so their temporaries
# stay small (benchmarks/bench_evaluate.py measures the peak against the rows' own size).
CHUNK_ROWS = 65_536


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U), ties counted as half.

    Each positive's score is placed among the sorted negatives' (``searchsorted`` left and
    right: the negatives below it, and those tied with it counted as half), a block at a time.
    Working memory is one float64 copy of the scores (split into positives and negatives),
    not an argsort's order, sorted copy and runs of ties (``benchmarks/bench_evaluate.py``).
    """
    scores = np.asarray(scores, dtype=np.float64)
    actual = np.asarray(labels) > 0.5
    positive_scores, negative_scores = scores[actual], scores[~actual]
    positive_scores.sort()   # in place: the copies above are all the memory this takes
    negative_scores.sort()
    positives, negatives = positive_scores.size, negative_scores.size
    if positives == 0 or negatives == 0:
        return float("nan")
    twice_u = 0
    for start in range(0, positives, CHUNK_ROWS):
        block = positive_scores[start:start + CHUNK_ROWS]
        twice_u += int(np.searchsorted(negative_scores, block, side="left").sum())
        twice_u += int(np.searchsorted(negative_scores, block, side="right").sum())
    return float(twice_u / 2.0 / (positives * negatives))


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold that maximises accuracy of ``score > threshold`` (linear-learner's default).

    Candidates lie midway between consecutive distinct scores, so the chosen
    value does not sit exactly on a validation score.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    # Predicting the top k rows positive: accuracy = TP_k + (negatives - FP_k).
    tp = np.concatenate(([0], np.cumsum(y)))
    fp = np.concatenate(([0], np.cumsum(~y)))
    correct = tp + (int((~y).sum()) - fp)
    # Only cuts between distinct scores are realisable (k = 0 and k = n always are).
    valid = np.ones(s.size + 1, dtype=bool)
    valid[1:-1] = s[:-1] > s[1:]
    k = int(np.argmax(np.where(valid, correct, -1)))
    if k == 0:
        return float(s[0]) if s.size else 0.5
    if k == s.size:
        return float(np.nextafter(s[-1], -np.inf))
    return float((s[k - 1] + s[k]) / 2.0)


def best_f_beta_threshold(scores: np.ndarray, labels: np.ndarray, beta: float = 1.0) -> float:
    """The threshold that maximises F-beta of ``score > threshold`` (linear-learner's ``f_beta`` criterion)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    tp = np.cumsum(y)                      # predicting the top k+1 rows positive
    predicted = np.arange(1, s.size + 1)
    positives = int(y.sum())
    b2 = beta * beta
    f = np.where(tp > 0, (1 + b2) * tp / (b2 * positives + predicted), 0.0)
    valid = np.ones(s.size, dtype=bool)
    valid[:-1] = s[:-1] > s[1:]            # cut only between distinct scores
    if not s.size or not valid.any():
        return 0.5
    k = int(np.argmax(np.where(valid, f, -1.0)))
    if k == s.size - 1:
        return float(np.nextafter(s[-1], -np.inf))
    return float((s[k] + s[k + 1]) / 2.0)


SELECTIONS = ("accuracy", "f_beta", "loss_function")


def choose_threshold(scores: np.ndarray, labels: np.ndarray, criterion: str = "accuracy",
                     beta: float = 1.0) -> float:
    """linear-learner's ``binary_classifier_model_selection_criteria`` as a threshold choice:
    accuracy (its default), f_beta, or loss_function (the loss does not depend on a threshold: 0.5)."""
    if criterion == "accuracy":
        return best_threshold(scores, labels)
    if criterion == "f_beta":
        return best_f_beta_threshold(scores, labels, beta)
    if criterion == "loss_function":
        return 0.5
    raise ValueError(f"unknown model selection criterion {criterion!r}: one of {', '.join(SELECTIONS)}")


def classification_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """accuracy, precision, recall, F1 and AUC of ``score > threshold`` against 0/1 labels."""
    scores = np.asarray(scores, dtype=np.float64)
    actual = np.asarray(labels) > 0.5
    predicted = scores > threshold
    tp = int(np.sum(predicted & actual))
    fp = int(np.sum(predicted & ~actual))
    fn = int(np.sum(~predicted & actual))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": float(np.mean(predicted == actual)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "auc": auc(scores, actual),
        "threshold": float(threshold),
        "positive_rate": float(actual.mean()),
    }


def regression_metrics(predictions: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² (1 - SSE/SST; 0 when the targets are constant)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    errors = predictions - targets
    sse = float(np.sum(errors ** 2))
    sst = float(np.sum((targets - targets.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(errors ** 2))),
        "mae": float(np.mean(np.abs(errors))),
        "r2": 1.0 - sse / sst if sst > 0 else 0.0,
    }


LOG_LOSS_EPSILON = 1e-15
CALIBRATION_BINS = 10


def log_loss(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities ``scores`` against 0/1 labels (clipped at 1e-15)."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if not scores.size:
        return float("nan")
    total = 0.0
    for start in range(0, scores.size, CHUNK_ROWS):   # a block at a time: no full-size temporaries
        p = np.clip(scores[start:start + CHUNK_ROWS].astype(np.float64), LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON)
        np.subtract(1.0, p, out=p, where=~(labels[start:start + CHUNK_ROWS] > 0.5))   # what happened's probability
        total += float(np.log(p, out=p).sum())
    return -total / scores.size


def confusion(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, int]:
    """Counts of ``score > threshold`` against the labels: true/false positives and negatives."""
    predicted = np.asarray(scores, dtype=np.float64) > threshold
    actual = np.asarray(labels) > 0.5
    tp = int(np.count_nonzero(predicted & actual))
    fp = int(np.count_nonzero(predicted & ~actual))
    fn = int(np.count_nonzero(~predicted & actual))
    return {"tp": tp, "fp": fp, "fn": fn, "tn": int(actual.size - tp - fp - fn)}


def calibration(scores: np.ndarray, labels: np.ndarray,
                bins: int = CALIBRATION_BINS) -> list[dict[str, float | None]]:
    """Per bin of predicted probability ([0, 0.1), ..., [0.9, 1.0]): rows, mean prediction, observed share."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    counts = np.zeros(bins, dtype=np.int64)
    predicted = np.zeros(bins)
    observed = np.zeros(bins)
    for start in range(0, scores.size, CHUNK_ROWS):   # a block at a time: no full-size temporaries
        p = np.clip(scores[start:start + CHUNK_ROWS].astype(np.float64), 0.0, 1.0)
        actual = (labels[start:start + CHUNK_ROWS] > 0.5).astype(np.float64)
        which = np.minimum((p * bins).astype(np.int64), bins - 1)
        counts += np.bincount(which, minlength=bins)
        predicted += np.bincount(which, weights=p, minlength=bins)
        observed += np.bincount(which, weights=actual, minlength=bins)
    table: list[dict[str, float | None]] = []
    for i in range(bins):
        n = int(counts[i])
        table.append({"low": i / bins, "high": (i + 1) / bins, "rows": n,
                      "mean_score": float(predicted[i] / n) if n else None,
                      "observed_share": float(observed[i] / n) if n else None})
    return table


def full_classification(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """What ``wildrydes evaluate`` reports of a classifier: the metrics, log loss, confusion and calibration."""
    found: dict = classification_metrics(scores, labels, threshold)
    found["log_loss"] = log_loss(scores, labels)
    if isinstance(found["auc"], float) and np.isnan(found["auc"]):
        found["auc"] = None   # one class only: no ROC curve
    return {"metrics": found, "confusion": confusion(scores, labels, threshold),
            "calibration": calibration(scores, labels)}
