"""A model's ``metrics.json``: its validation metrics and what it was trained on, next to its ``model.tar.gz``.

Why a file of its own, beside the archive: a model key alone says when a model
was trained, not how good it is or on what. ``train`` writes this card from the
one place it publishes (``training/publish.py``), so every published model
carries it, and ``models``, ``status``, ``evaluate`` and the deploy gate read it
back. Models published without one (SageMaker's own, older ones) say "no
metrics". The card is small JSON, written *after* the model: a reader that finds
a card also finds its model::

    linear-learner-<ts>/output/model.tar.gz
    linear-learner-<ts>/output/metrics.json
        {"format": 1, "trained_at", "trainer", "epochs", "predictor_type", "threshold",
         "metrics": {"auc", "accuracy", ...}, "data": {"rows", "train_rows", "validation_rows",
         "label_share", "date_range", "source": "synthetic" | "file", "name", "sha256"},
         "model_sha256", "flags": [...]}

Flags are what a reader must not celebrate: a model trained on very few rows,
or an AUC of 1.0 on synthetic rides (the workshop's rule is linear, so a linear
model learns it exactly; that says nothing about real rides).
"""
from __future__ import annotations

import logging
import math
from typing import Any

from wildrydes_cli.errors import NotFoundError

LOG = logging.getLogger(__name__)

CARD_NAME = "metrics.json"
MODEL_NAME = "model.tar.gz"
CARD_FORMAT = 1
FEW_ROWS = 1000          # fewer training rows than this: flagged
MAX_CARD_BYTES = 64 * 1024


def card_key(model_key: str) -> str:
    """``…/output/model.tar.gz`` -> ``…/output/metrics.json`` (any other key: ``<key>.metrics.json``)."""
    if model_key.endswith(MODEL_NAME):
        return model_key[: -len(MODEL_NAME)] + CARD_NAME
    return f"{model_key}.{CARD_NAME}"


def describe_data(labels: Any, source: str, name: str, *, sha256: str | None = None,
                  date_range: tuple[str, str] | None = None, train_rows: int | None = None,
                  validation_rows: int | None = None, classifier: bool = True) -> dict[str, Any]:
    """What a model was trained (or evaluated) on: rows, label share, dates, synthetic or a file and its sha256."""
    rows = int(len(labels))
    data: dict[str, Any] = {"rows": rows, "source": source, "name": name}
    if train_rows is not None:
        data["train_rows"] = int(train_rows)
    if validation_rows is not None:
        data["validation_rows"] = int(validation_rows)
    if classifier and rows:
        import numpy as np  # here, not at the top: reading a card (models, deploy) needs no numpy
        data["label_share"] = round(int(np.count_nonzero(np.asarray(labels, dtype=np.float64) > 0.5)) / rows, 6)
    data["date_range"] = list(date_range) if date_range else None
    if sha256 is not None:
        data["sha256"] = sha256
    return data


def flags(card: dict[str, Any]) -> list[str]:
    """What about this model must not be taken at face value (empty: nothing)."""
    found = []
    data = card.get("data") or {}
    trained_on = data.get("train_rows", data.get("rows"))
    if isinstance(trained_on, int) and trained_on < FEW_ROWS:
        found.append(f"trained on only {trained_on:,} rows (under {FEW_ROWS:,}): its metrics are noisy")
    auc = (card.get("metrics") or {}).get("auc")
    if data.get("source") == "synthetic" and isinstance(auc, (int, float)) and auc >= 1.0:
        found.append("AUC 1.0 on synthetic rides: the synthetic label is a linear rule the model learns exactly; "
                     "this says nothing about real rides")
    return found


def make_card(*, metrics: dict[str, Any], data: dict[str, Any], predictor_type: str, threshold: float | None,
              trainer: str, epochs: int, trained_at: str, model_sha256: str) -> dict[str, Any]:
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
    card: dict[str, Any] = {"format": CARD_FORMAT, "trained_at": trained_at, "trainer": trainer, "epochs": epochs,
                            "predictor_type": predictor_type, "threshold": threshold, "metrics": clean,
                            "data": data, "model_sha256": model_sha256}
    card["flags"] = flags(card)
    return card


def read_card(aws: Any, bucket: str, model_key: str) -> dict[str, Any] | None:
    """The model's card; None when it has none; ``{"problem": ...}`` when the card cannot be read as one."""
    key = card_key(model_key)
    try:
        size, body = aws.read_object(bucket, key, MAX_CARD_BYTES)
    except NotFoundError:
        return None
    if body is None:
        return {"problem": f"{CARD_NAME} is {size:,} bytes, over {MAX_CARD_BYTES:,}: not a metrics card"}
    return parse_card(body)


def parse_card(body: bytes) -> dict[str, Any]:
    import json
    try:
        card = json.loads(body)
    except ValueError:
        return {"problem": f"{CARD_NAME} is not valid JSON"}
    if not isinstance(card, dict) or not isinstance(card.get("metrics"), dict):
        return {"problem": f"{CARD_NAME} has no metrics object"}
    card["flags"] = flags(card)   # re-derived: a reader trusts the rule of this version, not the writer's
    return card
