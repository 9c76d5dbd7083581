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

Why the symbol JSON and the ``.params`` bytes are written here with the
standard library rather than by MXNet (``mx.sym``, ``mx.nd.save``): MXNet 1.9.1
installs only on Python 3.11, and ``wildrydes train`` must work on 3.12 and
3.13 too. The two files are small and fixed in shape (one dense layer), so this
module writes exactly the bytes MXNet 1.9.1 writes for the same graph and
arrays; tests/training/test_sagemaker_archive.py holds them byte-equal to MXNet's own
output and loads them with ``mx.module.Module.load`` wherever MXNet is
installed. Timestamps in the tar and zip headers are fixed so the same model
always gives the same bytes (a content hash then identifies a model).
"""
from __future__ import annotations

import gzip
import io
import json
import logging
import math
import struct
import tarfile
import zipfile
from collections.abc import Sequence

LOG = logging.getLogger(__name__)

PREDICTOR_TYPES = ("binary_classifier", "regressor")
HEADS = {"binary_classifier": "LogisticRegressionOutput", "regressor": "LinearRegressionOutput"}
LOSSES = {"binary_classifier": "logistic", "regressor": "squared_loss"}
ALGO_MEMBER = "model_algo-1"
PREFIX = "mx-mod"
# ZIP cannot store dates before 1980; any fixed date keeps the bytes stable.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MANIFEST = {"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}
MXNET_VERSION = 10901             # the version MXNet 1.9.1 stamps into a symbol's attrs
# MXNet's NDArray serialisation constants (the lean reader in lambda/artifact.py has the same).
LIST_MAGIC = 0x112
NDARRAY_V2_MAGIC = 0xF993FAC9
STORAGE_DEFAULT = 0
DEVICE_CPU = 1
DTYPE_FLOAT32 = 0


def symbol_json(dimension: int, predictor_type: str) -> bytes:
    """The graph linear-learner writes: ``dot(data, w) + b`` into a regression-output head.

    Byte for byte what MXNet 1.9.1's ``Symbol.tojson()`` gives for that graph
    (dmlc's JSON writer: two-space indent, ``", "`` before each newline).
    """
    head = HEADS[predictor_type]
    nodes = [
        _node("null", "data", "[]"),
        _node("null", "fc0_weight", "[]", f"({dimension}, 1)"),
        _node("dot", "dot0", "[[0, 0, 0], [1, 0, 0]]"),
        _node("null", "fc0_bias", "[]", "(1, 1)"),
        _node("broadcast_add", "broadcast_plus0", "[[2, 0, 0], [3, 0, 0]]"),
        _node("null", "out_label", "[]"),
        _node(head, head.lower() + "0", "[[4, 0, 0], [5, 0, 0]]"),
    ]
    text = ("{\n  \"nodes\": [\n" + ", \n".join(nodes) + "\n  ], \n"
            '  "arg_nodes": [0, 1, 3, 5], \n'
            '  "node_row_ptr": [0, 1, 2, 3, 4, 5, 6, 7], \n'
            '  "heads": [[6, 0, 0]], \n'
            f'  "attrs": {{"mxnet_version": ["int", {MXNET_VERSION}]}}\n}}')
    return text.encode("utf-8")


def _node(op: str, name: str, inputs: str, shape: str | None = None) -> str:
    lines = [f'      "op": "{op}"', f'      "name": "{name}"']
    if shape is not None:
        lines.append(f'      "attrs": {{"__shape__": "{shape}"}}')
    lines.append(f'      "inputs": {inputs}')
    return "    {\n" + ", \n".join(lines) + "\n    }"


def params_bytes(arrays: Sequence[tuple[str, tuple[int, ...], Sequence[float]]]) -> bytes:
    """MXNet's NDArray-list file (``mx.nd.save`` of a dict) for dense float32 CPU arrays.

    Layout (src/c_api/c_api.cc, src/ndarray/ndarray.cc): list magic, a reserved
    word and the array count; per array the V2 magic, storage type (dense),
    shape (ndim, int64 dims), context (cpu, 0), dtype flag (float32) and the
    little-endian data; then the names.
    """
    out = [struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays))]
    for name, shape, values in arrays:
        if math.prod(shape) != len(values):
            raise ValueError(f"{name}: shape {shape} does not hold {len(values)} values")
        out.append(struct.pack("<Iii", NDARRAY_V2_MAGIC, STORAGE_DEFAULT, len(shape)))
        out.append(struct.pack(f"<{len(shape)}q", *shape))
        out.append(struct.pack("<iii", DEVICE_CPU, 0, DTYPE_FLOAT32))
        try:
            out.append(struct.pack(f"<{len(values)}f", *values))
        except OverflowError:
            raise ValueError(f"{name} holds a value outside float32's range") from None
    out.append(struct.pack("<Q", len(arrays)))
    for name, _, _ in arrays:
        encoded = name.encode("utf-8")
        out.append(struct.pack("<Q", len(encoded)) + encoded)
    return b"".join(out)


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
    """Symbol JSON and ``.params`` bytes, as MXNet's ``Symbol.tojson`` and ``nd.save`` write them."""
    params = params_bytes([("arg:fc0_weight", (len(weights), 1), weights), ("arg:fc0_bias", (1, 1), [bias])])
    return symbol_json(len(weights), predictor_type), params


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


def model_member(weights: Sequence[float], bias: float, predictor_type: str = "binary_classifier",
                 threshold: float = 0.5, feature_names: Sequence[str] | None = None) -> bytes:
    """The ``model_algo-1`` ZIP that linear-learner writes into /opt/ml/model (SageMaker tars that folder)."""
    weights = [float(v) for v in weights]
    bias = float(bias)
    _validate(weights, bias, predictor_type, threshold, feature_names)
    symbol_json, params = _mxnet_files(weights, bias, predictor_type)
    extra = json.dumps(additional_params(predictor_type, threshold, feature_names)).encode("utf-8")
    LOG.debug("model archive: %d weights, %s, threshold %s", len(weights), predictor_type, threshold)
    return _zip([
        (f"{PREFIX}-0000.params", params),
        (f"{PREFIX}-symbol.json", symbol_json),
        ("manifest.json", json.dumps(MANIFEST).encode("utf-8")),
        ("additional-params.json", extra),
    ])


def write_model_archive(weights: Sequence[float], bias: float, predictor_type: str = "binary_classifier",
                        threshold: float = 0.5, feature_names: Sequence[str] | None = None) -> bytes:
    """Return the bytes of a linear-learner ``model.tar.gz`` scoring ``data . weights + bias``.

    ``weights`` apply to raw feature values (fold any normalisation in first).
    For ``binary_classifier`` the head is a sigmoid and ``threshold`` decides the
    label; a regressor's threshold is recorded but unused, as in SageMaker's.
    """
    return _tar_gz(ALGO_MEMBER, model_member(weights, bias, predictor_type, threshold, feature_names))
