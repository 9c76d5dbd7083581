"""Read a SageMaker linear-learner ``model.tar.gz`` with the standard library only.

Why not MXNet: importing MXNet costs ~2 s and ~190 MB, while a linear-learner
model is one weight vector and a bias. This module unpacks the archive in
memory through ``archive``'s bounded readers (no ``tar`` subprocess, nothing
written to disk, every member checked, bombs refused), parses MXNet's
NDArray-list ``.params`` format itself and checks that the graph is one the
lean engine can evaluate exactly.

Layout written by SageMaker::

    model.tar.gz
    └── model_algo-1            a ZIP archive
        ├── additional-params.json   threshold, predictor_type, loss_type, ...
        ├── manifest.json
        ├── mx-mod-symbol.json       MXNet graph (data . weight + bias -> head)
        └── mx-mod-0000.params       NDArray list: arg:fc0_weight, arg:fc0_bias
"""
from __future__ import annotations

import importlib
import json
import math
import struct
import sys
from array import array
from dataclasses import dataclass

if not __package__:  # a top-level module at the root of the Lambda zip
    import archive
else:  # wildrydes_cli.function.artifact, imported by the CLI's deploy-time model check
    archive = importlib.import_module(f"{__package__}.archive")  # type: ignore[no-redef]

# Archive bounds (sizes, member counts, MAX_PARAM_VALUES) live in archive.py.
ArtifactError = archive.ArtifactError
ALGO_MEMBER = archive.ALGO_MEMBER
MAX_ARCHIVE_BYTES = archive.MAX_ARCHIVE_BYTES   # fetch at most this much (+1 to notice more)
SYMBOL_FILE = "mx-mod-symbol.json"
PARAMS_FILE = "mx-mod-0000.params"
PARAMS_MEMBER = "additional-params.json"

# MXNet NDArray serialisation (src/ndarray/ndarray.cc, c_api.cc).
LIST_MAGIC = 0x112
NDARRAY_V1_MAGIC = 0xF993FAC8   # int64 shape
NDARRAY_V2_MAGIC = 0xF993FAC9   # + storage type
NDARRAY_V3_MAGIC = 0xF993FACA   # numpy shape semantics (ndim -1 = unknown)
# dtype flag -> (struct code, item size). bfloat16 (12) is decoded by hand.
DTYPES = {
    0: ("f", 4),   # float32
    1: ("d", 8),   # float64
    2: ("e", 2),   # float16
    3: ("B", 1),   # uint8
    4: ("i", 4),   # int32
    5: ("b", 1),   # int8
    6: ("q", 8),   # int64
    7: ("?", 1),   # bool
    12: ("H", 2),  # bfloat16, stored as the top 16 bits of a float32
}

# Graph ops the lean engine evaluates. Anything else needs the mxnet engine.
LINEAR_OPS = {"dot", "FullyConnected"}
BIAS_OPS = {"broadcast_add", "broadcast_plus", "elemwise_add", "_plus", "_Plus"}
HEAD_OPS = {"LinearRegressionOutput", "LogisticRegressionOutput"}
SUPPORTED_OPS = LINEAR_OPS | BIAS_OPS | HEAD_OPS
PREDICTOR_TYPES = ("binary_classifier", "regressor", "multiclass_classifier")


@dataclass(frozen=True)
class LinearModel:
    """A parsed linear-learner model: enough to score rows and to describe itself."""

    weights: array   # of doubles ("d"): 8 bytes a feature, where a tuple of floats took 32
    bias: float
    dimension: int
    predictor_type: str
    threshold: float
    head_op: str
    ops: tuple[str, ...]
    feature_names: tuple[str, ...] | None
    symbol_json: bytes
    params: bytes
    size_bytes: int
    lean_error: str | None = None

    @property
    def is_classifier(self) -> bool:
        return self.predictor_type == "binary_classifier"


# --------------------------------------------------------------------- archive


def _unpack(data: bytes) -> dict[str, bytes]:
    """The inner members this reader uses, through ``archive``'s bounded readers."""
    files = archive.unpack_zip(archive.unpack_tar(data), {
        SYMBOL_FILE: archive.MAX_JSON_BYTES, PARAMS_FILE: archive.MAX_PARAMS_BYTES,
        PARAMS_MEMBER: archive.MAX_JSON_BYTES})
    for required in (SYMBOL_FILE, PARAMS_FILE):
        if required not in files:
            raise ArtifactError(f"{ALGO_MEMBER} has no {required}")
    return files


# ---------------------------------------------------------------- NDArray list


class _Reader:
    """Little-endian cursor over a bytes object with clear truncation errors."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if size < 0 or end > len(self.data):
            raise ArtifactError(f"{PARAMS_FILE} is truncated at byte {self.pos}")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str):
        size = struct.calcsize(fmt)
        return struct.unpack("<" + fmt, self.take(size))

    def u32(self) -> int:
        return self.unpack("I")[0]

    def i32(self) -> int:
        return self.unpack("i")[0]

    def u64(self) -> int:
        return self.unpack("Q")[0]


def _read_shape(reader: _Reader, dim_format: str, signed_ndim: bool) -> tuple[int, ...] | None:
    ndim = reader.i32() if signed_ndim else reader.u32()
    if signed_ndim and ndim == -1:
        return None  # unknown shape (numpy semantics): an empty array
    if ndim < 0 or ndim > 32:
        raise ArtifactError(f"{PARAMS_FILE} has an array with an invalid rank {ndim}")
    dims = reader.unpack(dim_format * ndim) if ndim else ()
    if any(d < 0 for d in dims):
        raise ArtifactError(f"{PARAMS_FILE} has an array with a negative dimension {dims}")
    return tuple(dims)


def _decode(raw: bytes, type_flag: int, count: int) -> array:
    """The values as an array of doubles.

    float32 and float64 (what linear-learner writes) go straight from bytes
    to an array, never through one Python float per value: at 2^20 values a
    tuple of floats held 32 MiB, a quarter of a 128 MB function, and its
    building twice that.
    """
    code, _ = DTYPES[type_flag]
    if code in ("f", "d"):
        values = array(code)
        values.frombytes(raw)
        if sys.byteorder != "little":
            values.byteswap()
        return values if code == "d" else array("d", values)
    unpacked = struct.unpack(f"<{count}{code}", raw)
    if type_flag == 12:  # bfloat16: widen to float32 bit patterns
        widened = struct.pack(f"<{count}I", *(v << 16 for v in unpacked))
        return array("d", struct.unpack(f"<{count}f", widened))
    return array("d", (float(v) for v in unpacked))


def _read_ndarray(reader: _Reader, budget: int) -> tuple[tuple[int, ...], array]:
    """One array; ``budget`` is how many more numbers the file may hold (checked before decoding)."""
    magic = reader.u32()
    if magic in (NDARRAY_V2_MAGIC, NDARRAY_V3_MAGIC):
        storage_type = reader.i32()
        if storage_type != 0:
            raise ArtifactError(f"{PARAMS_FILE} holds a sparse array (storage type {storage_type}); "
                                "use INFERENCE_ENGINE=mxnet for sparse models")
        shape = _read_shape(reader, "q", signed_ndim=magic == NDARRAY_V3_MAGIC)
    elif magic == NDARRAY_V1_MAGIC:
        shape = _read_shape(reader, "q", signed_ndim=False)
    else:
        # Legacy format (MXNet < 0.9): no magic, the first word is the rank
        # and dimensions are uint32.
        if magic > 32:
            raise ArtifactError(f"{PARAMS_FILE} has an unknown array header 0x{magic:08X}")
        shape = tuple(reader.unpack("I" * magic)) if magic else ()
    if shape is None or len(shape) == 0:
        return (), array("d")
    reader.unpack("ii")  # context: device type and id, irrelevant on load
    type_flag = reader.i32()
    if type_flag not in DTYPES:
        raise ArtifactError(f"{PARAMS_FILE} has an array of unsupported dtype flag {type_flag}")
    count = 1
    for dim in shape:
        count *= dim
    if count > budget:
        raise ArtifactError(f"{PARAMS_FILE} holds more than {archive.MAX_PARAM_VALUES:,} numbers "
                            f"(an array of shape {shape}); the limit fits 1M features, "
                            "which is more than linear-learner models are trained with here")
    raw = reader.take(count * DTYPES[type_flag][1])
    return shape, _decode(raw, type_flag, count)


def parse_params(data: bytes) -> dict[str, tuple[tuple[int, ...], array]]:
    """Parse an MXNet NDArray-list file into ``{name: (shape, flat values)}``.

    Names keep MXNet's ``arg:`` / ``aux:`` prefixes.
    """
    reader = _Reader(data)
    magic, _ = reader.u64(), reader.u64()  # the second word is reserved
    if magic != LIST_MAGIC:
        raise ArtifactError(f"{PARAMS_FILE} is not an MXNet NDArray list (magic 0x{magic:X})")
    count = reader.u64()
    if count > 1024:
        raise ArtifactError(f"{PARAMS_FILE} claims {count} arrays; a linear-learner model has 2")
    arrays = []
    budget = archive.MAX_PARAM_VALUES
    for _ in range(count):
        arrays.append(_read_ndarray(reader, budget))
        budget -= len(arrays[-1][1])
    name_count = reader.u64()
    if name_count != count:
        raise ArtifactError(f"{PARAMS_FILE} has {count} arrays but {name_count} names")
    names = []
    for _ in range(name_count):
        length = reader.u64()
        try:
            names.append(reader.take(length).decode("utf-8"))
        except UnicodeDecodeError:
            raise ArtifactError(f"{PARAMS_FILE} has an array name that is not UTF-8") from None
    return dict(zip(names, arrays))


# ----------------------------------------------------------------------- graph


def _loads(text: bytes):
    """json.loads for the archive's small JSON members (at most archive.MAX_JSON_BYTES).

    CPython's C decoder raises RecursionError cleanly on deep nesting; a
    crafted member must read as a bad member, not as an error in this function.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _graph_ops(symbol_json: bytes) -> tuple[tuple[str, ...], str, str, str | None]:
    """Return (ops in order, head op, weight name, bias name) of the graph."""
    try:
        graph = _loads(symbol_json)
        nodes = graph["nodes"]
        heads = graph["heads"]
        ops = tuple(str(node.get("op")) for node in nodes if node.get("op") != "null")
        head = nodes[heads[0][0]]["op"]
        params = [node["name"] for node in nodes if node.get("op") == "null"]
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ArtifactError(f"{SYMBOL_FILE} is not an MXNet graph ({type(exc).__name__}: {exc})") from None
    weight = next((p for p in params if p.endswith("weight")), None)
    bias = next((p for p in params if p.endswith("bias")), None)
    if weight is None:
        raise ArtifactError(f"{SYMBOL_FILE} has no weight parameter")
    return ops, head, weight, bias


def _lean_support(ops: tuple[str, ...], head: str, weight_shape: tuple[int, ...]) -> str | None:
    """Why the lean engine cannot evaluate this graph, or None when it can."""
    unsupported = [op for op in ops if op not in SUPPORTED_OPS]
    if unsupported:
        return (f"graph op {unsupported[0]!r} is not supported by the lean engine; "
                "set INFERENCE_ENGINE=mxnet to serve this model")
    if not ops or ops[0] not in LINEAR_OPS:
        return f"graph does not start with dot or FullyConnected (ops: {list(ops)}); use INFERENCE_ENGINE=mxnet"
    if head not in HEAD_OPS:
        return f"graph head {head!r} is not a linear-learner output; set INFERENCE_ENGINE=mxnet to serve this model"
    if len(weight_shape) != 2 or 1 not in weight_shape:
        return (f"weight shape {weight_shape} has more than one output; the lean engine serves binary "
                "classifiers and regressors, use INFERENCE_ENGINE=mxnet for multiclass")
    return None


def _lookup(params: dict, name: str):
    for key in (f"arg:{name}", name):
        if key in params:
            return params[key]
    raise ArtifactError(f"{PARAMS_FILE} has no array for graph parameter {name!r}")


def _json_member(files: dict[str, bytes], name: str) -> dict:
    if name not in files:
        return {}
    try:
        value = _loads(files[name])
    except ValueError as exc:
        raise ArtifactError(f"{name} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ArtifactError(f"{name} is not a JSON object")
    return value


def read_model_archive(data: bytes) -> LinearModel:
    """Parse a linear-learner ``model.tar.gz`` held in memory.

    Corrupt or foreign archives raise ``ArtifactError``. A well-formed graph
    that the lean engine cannot evaluate still parses (the mxnet engine can
    serve it); ``lean_error`` then says why.
    """
    files = _unpack(data)
    symbol_json, params_bytes = files[SYMBOL_FILE], files[PARAMS_FILE]
    ops, head, weight_name, bias_name = _graph_ops(symbol_json)
    params = parse_params(params_bytes)
    w_shape, w_values = _lookup(params, weight_name)
    lean_error = _lean_support(ops, head, w_shape)
    if not all(map(math.isfinite, w_values)):  # every score would be NaN or infinite
        raise ArtifactError(f"weight {weight_name} holds values that are not finite (NaN or infinity)")
    if len(w_shape) != 2:
        raise ArtifactError(f"weight {weight_name} has shape {w_shape}, expected a matrix")
    # dot(data, W) keeps W as (dim, outputs); FullyConnected keeps (outputs, dim).
    dimension = w_shape[1] if ops and ops[0] == "FullyConnected" else w_shape[0]
    bias = 0.0
    if bias_name is not None and lean_error is None:
        _, b_values = _lookup(params, bias_name)
        if len(b_values) != 1:
            raise ArtifactError(f"bias {bias_name} has {len(b_values)} values, expected 1")
        bias = b_values[0]
        if not math.isfinite(bias):
            raise ArtifactError(f"bias {bias_name} is not a finite number ({bias})")
    extra = _json_member(files, PARAMS_MEMBER)
    predictor_type = extra.get("predictor_type") or (
        "binary_classifier" if head == "LogisticRegressionOutput" else "regressor")
    if predictor_type not in PREDICTOR_TYPES:
        raise ArtifactError(f"{PARAMS_MEMBER} has unknown predictor_type {predictor_type!r}")
    threshold = extra.get("threshold", 0.5)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not math.isfinite(threshold):
        raise ArtifactError(f"{PARAMS_MEMBER} threshold {threshold!r} is not a finite number")
    names = extra.get("feature_names")
    feature_names = None
    if names is not None:
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names) and len(names) == dimension):
            raise ArtifactError(f"{PARAMS_MEMBER} feature_names must be a list of {dimension} strings")
        feature_names = tuple(names)
    return LinearModel(
        weights=w_values if lean_error is None else array("d"), bias=bias, dimension=dimension,
        predictor_type=predictor_type, threshold=float(threshold), head_op=head, ops=ops,
        feature_names=feature_names, symbol_json=symbol_json, params=params_bytes,
        size_bytes=len(data), lean_error=lean_error,
    )
