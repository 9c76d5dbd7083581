"""A model's held-out validation rows, stored beside it, so the deploy gate can compare on them later.

Why: a model trained on the user's file (``train --data FILE``) is judged best on
rows of that file it never trained on, its own validation split; but ``deploy``
runs later, maybe on another machine, without the file. So ``train --data``
publishes a sample of the split next to the model::

    linear-learner-<ts>/output/validation.npy    float32, rows x 7 (the six features, then the label)

Bounded: at most ``MAX_ROWS`` rows (20,000: 560 KB), sampled without replacement
with a fixed seed when the split is larger (so the same model always stores the
same rows); numpy's ``.npy`` read with ``allow_pickle=False`` (no code in it) and
checked for shape, type and finite values. A model without one (synthetic rides,
SageMaker's own, older models) is gated as before, and the verdict says which
rows it used.
"""
from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import numpy as np

from wildrydes_cli import layout, model_card
from wildrydes_cli.errors import NotFoundError, WildrydesError
from wildrydes_cli.training.data import Dataset

if TYPE_CHECKING:
    from wildrydes_cli.aws.client import Aws

LOG = logging.getLogger(__name__)

NAME = "validation.npy"
MAX_ROWS = 20_000
SAMPLE_SEED = 20_000
COLUMNS = len(layout.FEATURES) + 1
MAX_BYTES = MAX_ROWS * COLUMNS * 4 + 1024   # the rows and .npy's header


def key_for(model_key: str) -> str:
    """``…/output/model.tar.gz`` -> ``…/output/validation.npy`` (any other key: ``<key>.validation.npy``)."""
    if model_key.endswith(model_card.MODEL_NAME):
        return model_key[: -len(model_card.MODEL_NAME)] + NAME
    return f"{model_key}.{NAME}"


def encode(features: np.ndarray, labels: np.ndarray) -> bytes:
    """The split as one float32 table (at most MAX_ROWS rows, a seeded sample when larger), in .npy form."""
    rows = labels.shape[0]
    if rows > MAX_ROWS:
        keep = np.sort(np.random.default_rng(SAMPLE_SEED).choice(rows, MAX_ROWS, replace=False))
        features, labels = features[keep], labels[keep]
    table = np.empty((labels.shape[0], COLUMNS), dtype=np.float32)
    table[:, :-1] = features
    table[:, -1] = labels
    buffer = io.BytesIO()
    np.save(buffer, table, allow_pickle=False)
    return buffer.getvalue()


def decode(body: bytes, where: str) -> Dataset | None:
    """The stored rows as a Dataset, or None (logged) when the object is not a table of them."""
    try:
        table = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        LOG.info("%s is not validation rows: %s", where, exc)
        return None
    if (not isinstance(table, np.ndarray) or table.dtype != np.float32 or table.ndim != 2
            or table.shape[1] != COLUMNS or not 0 < table.shape[0] <= MAX_ROWS or not np.isfinite(table).all()):
        LOG.info("%s is not validation rows (float32, 1 to %d rows of %d columns)", where, MAX_ROWS, COLUMNS)
        return None
    return Dataset(features=np.ascontiguousarray(table[:, :-1]), labels=np.ascontiguousarray(table[:, -1]),
                   source=where)


def write(aws: Aws, bucket: str, model_key: str, body: bytes) -> str:
    where = key_for(model_key)
    aws.put_object(bucket, where, body, "application/octet-stream")
    LOG.info("wrote s3://%s/%s", bucket, where)
    return where


def read(aws: Aws, bucket: str, model_key: str) -> Dataset | None:
    """The validation rows stored beside ``model_key``; None when there are none (or they cannot be used)."""
    where = key_for(model_key)
    try:
        size, body = aws.read_object(bucket, where, MAX_BYTES)
    except NotFoundError:
        return None
    except WildrydesError as exc:
        LOG.info("validation rows at s3://%s/%s not read: %s", bucket, where, exc)
        return None
    if body is None:
        LOG.info("s3://%s/%s is %d bytes, over %d: not read", bucket, where, size, MAX_BYTES)
        return None
    return decode(body, f"s3://{bucket}/{where}")
