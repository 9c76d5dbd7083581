"""Write a linear model as a SageMaker linear-learner ``model.tar.gz``.

Why this layout: the deployed function (and any SageMaker client) already
knows how to read what a linear-learner training job writes, so a model
trained here is published in exactly that shape::

    model.tar.gz                 ustar, gzip (mtime 0)
    └── model_algo-1             a ZIP archive, members stored (not deflated)
        ├── mx-mod-0000.params       arg:fc0_weight (dim, 1), arg:fc0_bias (1, 1), float32
        ├── mx-mod-symbol.json       data . fc0_weight -> broadcast_add fc0_bias -> head
        ├── manifest.json
        └── additional-params.json   predictor_type, threshold, loss_type, [feature_names]

The symbol and the parameters are built and saved by MXNet itself (``mx.sym``,
``mx.nd.save``), so ``mx.module.Module.load(prefix, 0)`` reads them by
construction rather than by our imitation of its format. Timestamps in the tar
and zip headers are fixed so the same model always gives the same bytes (a
content hash then identifies a model).
"""
from __future__ import annotations

import gzip
import io
import json
import logging
import math
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

LOG = logging.getLogger(__name__)

PREDICTOR_TYPES = ("binary_classifier", "regressor")
HEADS = {"binary_classifier": "LogisticRegressionOutput", "regressor": "LinearRegressionOutput"}
LOSSES = {"binary_classifier": "logistic", "regressor": "squared_loss"}
ALGO_MEMBER = "model_algo-1"
PREFIX = "mx-mod"
# ZIP cannot store dates before 1980; any fixed date keeps the bytes stable.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MANIFEST = {"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}


def build_symbol(dimension: int, predictor_type: str):
    """The graph linear-learner writes: ``dot(data, w) + b`` into a regression-output head."""
    import mxnet as mx

    data = mx.sym.Variable("data")
    weight = mx.sym.Variable("fc0_weight", shape=(dimension, 1))
    bias = mx.sym.Variable("fc0_bias", shape=(1, 1))
    linear = mx.sym.broadcast_add(mx.sym.dot(data, weight, name="dot0"), bias, name="broadcast_plus0")
    label = mx.sym.Variable("out_label")
    head = getattr(mx.sym, HEADS[predictor_type])
    return head(data=linear, label=label, name=HEADS[predictor_type].lower() + "0")


def additional_params(predictor_type: str, threshold: float,
                      feature_names: Sequence[str] | None) -> dict:
    """The same keys SageMaker writes, plus our optional ``feature_names``."""
    params = {
        "threshold": float(threshold),
        "loss_type": LOSSES[predictor_type],
        "metrics_params": {
            "eps_insensitive_loss_type": None, "class_weights": None, "huber_delta": None,
            "quantile": None, "loss_insensitivity": None, "positive_example_weight_mult": 1.0,
            "accuracy_top_k": 3, "threshold": float(threshold), "f_beta": None, "margin": None,
        },
        "predictor_type": predictor_type,
    }
    if feature_names is not None:
        params["feature_names"] = [str(name) for name in feature_names]
    return params


def _validate(weights: list[float], bias: float, predictor_type: str, threshold: float,
              feature_names: Sequence[str] | None) -> None:
    if predictor_type not in PREDICTOR_TYPES:
        raise ValueError(f"predictor_type must be one of {', '.join(PREDICTOR_TYPES)}, not {predictor_type!r}")
    if not weights:
        raise ValueError("weights must hold at least one value")
    if not all(math.isfinite(v) for v in weights) or not math.isfinite(bias):
        raise ValueError("weights and bias must be finite numbers")
    if not math.isfinite(threshold):
        raise ValueError("threshold must be a finite number")
    if feature_names is not None and len(feature_names) != len(weights):
        raise ValueError(f"{len(feature_names)} feature names for {len(weights)} weights")


def _mxnet_files(weights: list[float], bias: float, predictor_type: str) -> tuple[bytes, bytes]:
    """Symbol JSON and ``.params`` bytes, written by MXNet into a private temp dir."""
    import mxnet as mx
    import numpy as np

    symbol = build_symbol(len(weights), predictor_type)
    arrays = {
        "arg:fc0_weight": mx.nd.array(np.asarray(weights, dtype=np.float32).reshape(-1, 1), dtype="float32"),
        "arg:fc0_bias": mx.nd.array(np.asarray([[bias]], dtype=np.float32), dtype="float32"),
    }
    with tempfile.TemporaryDirectory(prefix="wildrydes-artifact-") as tmp:
        params_path = Path(tmp) / f"{PREFIX}-0000.params"
        mx.nd.save(str(params_path), arrays)
        params = params_path.read_bytes()
    return symbol.tojson().encode("utf-8"), params


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3                      # unix, as SageMaker's
            info.external_attr = 0o100644 << 16          # regular file, rw-r--r--
            archive.writestr(info, content)
    return buffer.getvalue()


def _tar_gz(name: str, content: bytes) -> bytes:
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o644
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        archive.addfile(info, io.BytesIO(content))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(tar_buffer.getvalue())
    return out.getvalue()


def write_model_archive(weights: Sequence[float], bias: float, predictor_type: str = "binary_classifier",
                        threshold: float = 0.5, feature_names: Sequence[str] | None = None) -> bytes:
    """Return the bytes of a linear-learner ``model.tar.gz`` scoring ``data . weights + bias``.

    ``weights`` apply to raw feature values (fold any normalisation in first).
    For ``binary_classifier`` the head is a sigmoid and ``threshold`` decides the
    label; a regressor's threshold is recorded but unused, as in SageMaker's.
    """
    weights = [float(v) for v in weights]
    bias = float(bias)
    _validate(weights, bias, predictor_type, threshold, feature_names)
    symbol_json, params = _mxnet_files(weights, bias, predictor_type)
    extra = json.dumps(additional_params(predictor_type, threshold, feature_names)).encode("utf-8")
    inner = _zip([
        (f"{PREFIX}-0000.params", params),
        (f"{PREFIX}-symbol.json", symbol_json),
        ("manifest.json", json.dumps(MANIFEST).encode("utf-8")),
        ("additional-params.json", extra),
    ])
    LOG.debug("model archive: %d weights, %s, threshold %s", len(weights), predictor_type, threshold)
    return _tar_gz(ALGO_MEMBER, inner)
