"""The stdlib reader against the real SageMaker artifact, MXNet's own writer, and broken archives."""
from __future__ import annotations

import io
import json
import random
import struct
import tarfile
import zipfile

import artifact
import engines
import numpy as np
import pytest

from wildrydes_cli.training.sagemaker_archive import write_model_archive


def _tar_gz(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _inner_members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        inner = tar.extractfile("model_algo-1").read()
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rebuild(data: bytes, **replace: bytes) -> bytes:
    members = _inner_members(data)
    members.update(replace)
    return _tar_gz({"model_algo-1": _zip(members)})


# ------------------------------------------------------------- real artifact


def test_reads_the_real_sagemaker_artifact(sagemaker_regressor_bytes):
    model = artifact.read_model_archive(sagemaker_regressor_bytes)
    assert model.dimension == 513
    assert model.predictor_type == "regressor"
    assert model.head_op == "LinearRegressionOutput"
    assert model.ops == ("dot", "broadcast_add", "LinearRegressionOutput")
    assert model.threshold == 0.5
    assert model.lean_error is None
    assert model.bias == pytest.approx(-1055.3748779296875)
    assert len(model.weights) == 513


def test_real_artifact_weights_equal_mxnet_loader(sagemaker_regressor_bytes, tmp_path):
    import mxnet as mx
    members = _inner_members(sagemaker_regressor_bytes)
    (tmp_path / "p.params").write_bytes(members["mx-mod-0000.params"])
    loaded = mx.nd.load(str(tmp_path / "p.params"))
    model = artifact.read_model_archive(sagemaker_regressor_bytes)
    np.testing.assert_array_equal(np.array(model.weights, dtype=np.float32),
                                  loaded["arg:fc0_weight"].asnumpy().reshape(-1))


def test_lean_equals_mxnet_on_real_artifact(sagemaker_regressor_bytes):
    model = artifact.read_model_archive(sagemaker_regressor_bytes)
    lean, mxnet = engines.create_engine("lean", model), engines.create_engine("mxnet", model)
    rng = random.Random(7)
    rows = [[rng.uniform(-1, 1) for _ in range(513)] for _ in range(150)]
    for got, want in zip(lean.predict(rows), mxnet.predict(rows)):
        assert got == pytest.approx(want, rel=1e-5)


# --------------------------------------------------------- writer round trip


@pytest.mark.parametrize("predictor_type", ["binary_classifier", "regressor"])
def test_round_trip_writer_reader_both_engines(predictor_type):
    rng = random.Random(3)
    weights = [rng.uniform(-0.01, 0.01) for _ in range(6)]
    data = write_model_archive(weights, 0.3, predictor_type, threshold=0.37,
                               feature_names=["distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP"])
    model = artifact.read_model_archive(data)
    assert model.predictor_type == predictor_type
    assert model.threshold == pytest.approx(0.37)
    assert model.feature_names[3] == "TMIN"
    assert list(model.weights) == pytest.approx(weights, rel=1e-6)  # stored as float32
    rows = [[rng.uniform(25, 35), rng.uniform(200, 400), rng.uniform(2000, 3000),
             rng.uniform(-100, 300), rng.uniform(0, 350), rng.uniform(0, 500)] for _ in range(50)]
    lean = engines.create_engine("lean", model).predict(rows)
    mxnet = engines.create_engine("mxnet", model).predict(rows)
    assert lean == pytest.approx(mxnet, rel=1e-5)
    if predictor_type == "binary_classifier":
        assert all(0.0 < s < 1.0 for s in lean)


def test_mxnet_engine_serves_batches_of_every_size(sagemaker_regressor_bytes):
    model = artifact.read_model_archive(sagemaker_regressor_bytes)
    lean, mxnet = engines.create_engine("lean", model), engines.create_engine("mxnet", model)
    rng = random.Random(11)
    for size in (1, 2, 8, 9, 65):
        rows = [[rng.uniform(-1, 1) for _ in range(513)] for _ in range(size)]
        assert mxnet.predict(rows) == pytest.approx(lean.predict(rows), rel=1e-5)


# ----------------------------------------------------------- params format


def _ndarray_v2(shape, values, flag=0, code="f") -> bytes:
    head = struct.pack("<Ii", artifact.NDARRAY_V2_MAGIC, 0) + struct.pack("<I", len(shape))
    head += struct.pack(f"<{len(shape)}q", *shape) + struct.pack("<iii", 1, 0, flag)
    return head + struct.pack(f"<{len(values)}{code}", *values)


def _param_list(arrays: list[bytes], names: list[str]) -> bytes:
    out = struct.pack("<QQQ", artifact.LIST_MAGIC, 0, len(arrays)) + b"".join(arrays)
    out += struct.pack("<Q", len(names))
    for name in names:
        out += struct.pack("<Q", len(name)) + name.encode()
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "uint8", "int32", "int8", "int64"])
def test_params_every_dtype_as_mxnet_saves_it(dtype, tmp_path):
    import mxnet as mx
    values = np.array([[1, 2], [3, 4], [5, 6]], dtype=dtype)
    mx.nd.save(str(tmp_path / "x.params"), {"arg:w": mx.nd.array(values, dtype=dtype)})
    parsed = artifact.parse_params((tmp_path / "x.params").read_bytes())
    shape, flat = parsed["arg:w"]
    assert shape == (3, 2)
    assert list(flat) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_params_bfloat16_and_older_magics():
    one_bf16 = 0x3F80  # 1.0 in bfloat16
    data = _param_list([
        _ndarray_v2((2,), [one_bf16, 0xC000], flag=12, code="H"),
        # V1: int64 shape, no storage type
        struct.pack("<II", artifact.NDARRAY_V1_MAGIC, 1) + struct.pack("<q", 2)
        + struct.pack("<iii", 1, 0, 0) + struct.pack("<2f", 1.5, -2.5),
        # legacy (no magic): uint32 rank then uint32 dims
        struct.pack("<II", 1, 2) + struct.pack("<iii", 1, 0, 1) + struct.pack("<2d", 0.25, 4.0),
        # V3 (numpy shape semantics) with an unknown shape: an empty array
        struct.pack("<Iii", artifact.NDARRAY_V3_MAGIC, 0, -1),
    ], ["bf", "v1", "legacy", "empty"])
    parsed = {name: (shape, tuple(values)) for name, (shape, values) in artifact.parse_params(data).items()}
    assert parsed["bf"] == ((2,), (1.0, -2.0))
    assert parsed["v1"] == ((2,), (1.5, -2.5))
    assert parsed["legacy"] == ((2,), (0.25, 4.0))
    assert parsed["empty"] == ((), ())


@pytest.mark.parametrize("data, message", [
    (b"\x00" * 8, "truncated"),
    (struct.pack("<QQQ", 0x999, 0, 0), "not an MXNet NDArray list"),
    (struct.pack("<QQQ", artifact.LIST_MAGIC, 0, 1) + struct.pack("<I", 0xDEADBEEF), "unknown array header"),
    (_param_list([_ndarray_v2((2,), [1, 2], flag=9, code="f")], ["x"]), "unsupported dtype flag 9"),
    (_param_list([_ndarray_v2((2,), [1, 2])], [])[:-8] + struct.pack("<Q", 3), "1 arrays but 3 names"),
    (struct.pack("<QQQ", artifact.LIST_MAGIC, 0, 1) + struct.pack("<Iii", artifact.NDARRAY_V2_MAGIC, 1, 0),
     "sparse array"),
])
def test_params_errors_name_the_problem(data, message):
    with pytest.raises(artifact.ArtifactError, match=message):
        artifact.parse_params(data)


# ------------------------------------------------------------ bad archives


def test_archive_errors(sagemaker_regressor_bytes):
    cases = [
        (b"not a tarball", "not a readable tar.gz"),
        (sagemaker_regressor_bytes[:200], "truncated"),
        (_tar_gz({"other": b"x"}), "no model_algo-1 member"),
        (_tar_gz({"../model_algo-1": b"x"}), "unsafe member path"),
        (_tar_gz({"/etc/model_algo-1": b"x"}), "unsafe member path"),
        (_tar_gz({}, symlink="model_algo-1"), "not a regular file"),
        (_tar_gz({"model_algo-1": b"not a zip"}), "is not a ZIP archive"),
        (_tar_gz({"model_algo-1": _zip({"../evil": b"x"})}), "unsafe member path"),
        (_tar_gz({"model_algo-1": _zip({"mx-mod-symbol.json": b"{}"})}), "has no mx-mod-0000.params"),
        (_rebuild(sagemaker_regressor_bytes, **{"mx-mod-symbol.json": b"[1"}), "not an MXNet graph"),
        (_rebuild(sagemaker_regressor_bytes, **{"additional-params.json": b"{"}), "not valid JSON"),
        (_rebuild(sagemaker_regressor_bytes, **{"additional-params.json": b'{"predictor_type": "x"}'}),
         "unknown predictor_type"),
        (_rebuild(sagemaker_regressor_bytes, **{"additional-params.json": b'{"threshold": "high"}'}),
         "not a finite number"),
        (_rebuild(sagemaker_regressor_bytes, **{"additional-params.json": b'{"feature_names": ["a"]}'}),
         "list of 513 strings"),
        (_rebuild(sagemaker_regressor_bytes, **{"mx-mod-0000.params": b"\x12\x01"}), "truncated"),
    ]
    for data, message in cases:
        with pytest.raises(artifact.ArtifactError, match=message):
            artifact.read_model_archive(data)


def test_unsupported_graph_is_refused_by_lean_and_served_by_mxnet(sagemaker_regressor_bytes):
    """A graph with an op the lean engine does not know parses; lean names the op, mxnet serves it."""
    graph = json.loads(_inner_members(sagemaker_regressor_bytes)["mx-mod-symbol.json"])
    graph["nodes"][4]["op"] = "broadcast_sub"   # bias subtracted instead of added
    data = _rebuild(sagemaker_regressor_bytes, **{"mx-mod-symbol.json": json.dumps(graph).encode()})
    model = artifact.read_model_archive(data)
    assert "broadcast_sub" in model.lean_error
    with pytest.raises(engines.EngineError, match="'broadcast_sub' is not supported.*INFERENCE_ENGINE=mxnet"):
        engines.create_engine("lean", model)
    reference = artifact.read_model_archive(sagemaker_regressor_bytes)
    row = [[0.5] * 513]
    subtracted = engines.create_engine("mxnet", model).predict(row)[0]
    added = engines.create_engine("lean", reference).predict(row)[0]
    assert subtracted == pytest.approx(added - 2 * reference.bias, rel=1e-5)


def test_unknown_engine_name():
    with pytest.raises(engines.EngineError, match="unknown INFERENCE_ENGINE 'gpu'"):
        engines.create_engine("gpu", None)


def test_sigmoid_is_stable():
    assert engines.sigmoid(-1000.0) == 0.0
    assert engines.sigmoid(1000.0) == 1.0
    assert engines.sigmoid(0.0) == 0.5


def _mxnet_graph_archive(tmp_path, op: str, bias_op: str | None, head: str, dim: int = 6) -> bytes:
    """An artifact whose graph MXNet itself builds with the given ops (as other exporters write them)."""
    import mxnet as mx
    data = mx.sym.Variable("data")
    weight = mx.sym.Variable("fc0_weight", shape=(1, dim) if op == "FullyConnected" else (dim, 1))
    if op == "FullyConnected":
        bias = mx.sym.Variable("fc0_bias", shape=(1,))
        out = mx.sym.FullyConnected(data=data, weight=weight, bias=bias, num_hidden=1, name="fc0")
        params = {"arg:fc0_weight": mx.nd.array([[0.1 * (i + 1) for i in range(dim)]]),
                  "arg:fc0_bias": mx.nd.array([0.25])}
    else:
        bias = mx.sym.Variable("fc0_bias", shape=(1, 1))
        out = getattr(mx.sym, bias_op)(mx.sym.dot(data, weight), bias)
        params = {"arg:fc0_weight": mx.nd.array([[0.1 * (i + 1)] for i in range(dim)]),
                  "arg:fc0_bias": mx.nd.array([[0.25]])}
    out = getattr(mx.sym, head)(data=out, label=mx.sym.Variable("out_label"))
    mx.nd.save(str(tmp_path / "p.params"), params)
    graph = out.tojson()
    if bias_op == "broadcast_plus":  # MXNet saves its alias as broadcast_add; older graphs name it
        graph = graph.replace('"op": "broadcast_add"', '"op": "broadcast_plus"')
        assert '"broadcast_plus"' in graph
    return _tar_gz({"model_algo-1": _zip({"mx-mod-symbol.json": graph.encode(),
                                          "mx-mod-0000.params": (tmp_path / "p.params").read_bytes()})})


@pytest.mark.parametrize("op, bias_op, head", [
    ("FullyConnected", None, "LogisticRegressionOutput"),
    ("dot", "broadcast_plus", "LinearRegressionOutput"),
    ("dot", "broadcast_add", "LogisticRegressionOutput"),
])
def test_lean_evaluates_every_graph_linear_learner_writes(tmp_path, op, bias_op, head):
    model = artifact.read_model_archive(_mxnet_graph_archive(tmp_path, op, bias_op, head))
    assert model.lean_error is None and model.dimension == 6 and model.bias == pytest.approx(0.25)
    assert model.predictor_type == ("binary_classifier" if head.startswith("Logistic") else "regressor")
    rng = random.Random(5)
    rows = [[rng.uniform(-3, 3) for _ in range(6)] for _ in range(20)]
    lean = engines.create_engine("lean", model).predict(rows)
    assert lean == pytest.approx(engines.create_engine("mxnet", model).predict(rows), rel=1e-5)


def test_mxnet_engine_binds_once_per_batch_size_bucket_not_per_request(sagemaker_regressor_bytes, monkeypatch):
    import mxnet as mx
    binds = []
    original = mx.module.Module.bind

    def counting_bind(self, *args, **kwargs):
        binds.append(kwargs.get("data_shapes") or args[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(mx.module.Module, "bind", counting_bind)
    engine = engines.create_engine("mxnet", artifact.read_model_archive(sagemaker_regressor_bytes))
    assert len(binds) == 1                       # bound at load, for single requests
    for _ in range(5):
        engine.predict([[0.0] * 513])
    assert len(binds) == 1                       # no re-bind per request
    for _ in range(3):
        engine.predict([[0.0] * 513] * 5)
    assert len(binds) == 2                       # one more bucket (8 rows), bound once
    assert [shape[0][1][0] for shape in binds] == [1, 8]
