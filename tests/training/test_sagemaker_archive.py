"""The artifact writer: SageMaker's layout, byte-equal to what MXNet writes, read back by
MXNet's Module.load and by the lean engine."""
from __future__ import annotations

import io
import json
import tarfile
import zipfile

import artifact
import engines
import numpy as np
import pytest

from wildrydes_cli.training.sagemaker_archive import (
    HEADS,
    PREDICTOR_TYPES,
    _mxnet_files,
    write_model_archive,
)

FEATURES = ["distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP"]
WEIGHTS = [0.61, -0.0167, -0.0091, -0.0084, 0.0045, 0.0158]
BIAS = -19.7


def unpack(data: bytes) -> tuple[tarfile.TarInfo, zipfile.ZipFile]:
    outer = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
    [member] = outer.getmembers()
    return member, zipfile.ZipFile(io.BytesIO(outer.extractfile(member).read()))


def mxnet_predict(data: bytes, rows: np.ndarray, workdir) -> np.ndarray:
    """What the workshop's function does: Module.load(prefix, 0, label_names=None), bind, predict."""
    import mxnet as mx

    _, inner = unpack(data)
    inner.extractall(workdir)
    module = mx.module.Module.load(str(workdir / "mx-mod"), 0, label_names=None)
    module.bind(data_shapes=[("data", rows.shape)], for_training=False)
    batch = mx.io.NDArrayIter(rows.astype(np.float32), batch_size=rows.shape[0])
    return module.predict(batch).asnumpy().ravel().astype(np.float64)


def rides(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(29, 31, count), rng.normal(300, 30, count), rng.normal(300, 30, count),
                            rng.normal(80, 90, count), rng.normal(170, 90, count), rng.exponential(30, count)])


def test_layout_matches_the_sagemaker_fixture(sagemaker_regressor_bytes):
    ours_member, ours = unpack(write_model_archive(WEIGHTS, BIAS, "regressor"))
    theirs_member, theirs = unpack(sagemaker_regressor_bytes)
    assert ours_member.name == theirs_member.name == "model_algo-1"
    assert ours_member.isfile() and ours_member.mode & 0o777 == theirs_member.mode & 0o777 == 0o644
    assert ours.namelist() == theirs.namelist()
    assert all(info.compress_type == zipfile.ZIP_STORED for info in ours.infolist())
    assert json.loads(ours.read("manifest.json")) == json.loads(theirs.read("manifest.json"))
    ours_params = json.loads(ours.read("additional-params.json"))
    theirs_params = json.loads(theirs.read("additional-params.json"))
    assert set(theirs_params) <= set(ours_params)
    assert ours_params["loss_type"] == theirs_params["loss_type"] == "squared_loss"
    graph = json.loads(ours.read("mx-mod-symbol.json"))
    assert [n["op"] for n in graph["nodes"]] == [n["op"] for n in json.loads(theirs.read("mx-mod-symbol.json"))["nodes"]]
    assert [n["name"] for n in graph["nodes"] if n["op"] == "null"] == ["data", "fc0_weight", "fc0_bias", "out_label"]


@pytest.mark.parametrize("predictor_type, head", [("binary_classifier", "LogisticRegressionOutput"),
                                                  ("regressor", "LinearRegressionOutput")])
def test_round_trip_mxnet_and_lean_agree(predictor_type, head, tmp_path):
    data = write_model_archive(WEIGHTS, BIAS, predictor_type, threshold=0.37, feature_names=FEATURES)
    rows = rides(200)
    expected = rows @ np.asarray(WEIGHTS) + BIAS
    if predictor_type == "binary_classifier":
        expected = 1.0 / (1.0 + np.exp(-expected))

    model = artifact.read_model_archive(data)
    assert (model.predictor_type, model.head_op, model.dimension) == (predictor_type, head, 6)
    assert model.threshold == pytest.approx(0.37)
    assert model.feature_names == tuple(FEATURES)
    np.testing.assert_allclose(model.weights, np.float32(WEIGHTS), rtol=0, atol=0)
    assert model.bias == pytest.approx(np.float32(BIAS), abs=0)

    lean = np.asarray(engines.create_engine("lean", model).predict(rows.tolist()))
    reference = mxnet_predict(data, rows, tmp_path)
    np.testing.assert_allclose(lean, reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lean, expected, rtol=1e-5, atol=1e-5)
    mx_engine = np.asarray(engines.create_engine("mxnet", model).predict(rows.tolist()))
    np.testing.assert_allclose(lean, mx_engine, rtol=1e-5, atol=1e-6)


def test_same_model_same_bytes_and_different_model_different_bytes():
    first = write_model_archive(WEIGHTS, BIAS, "binary_classifier", threshold=0.42)
    assert first == write_model_archive(list(WEIGHTS), BIAS, "binary_classifier", threshold=0.42)
    assert first != write_model_archive(WEIGHTS, BIAS + 1e-3, "binary_classifier", threshold=0.42)
    member, _ = unpack(first)
    assert member.mtime == 0


def test_feature_names_are_optional():
    _, inner = unpack(write_model_archive(WEIGHTS, BIAS))
    params = json.loads(inner.read("additional-params.json"))
    assert "feature_names" not in params
    assert params["predictor_type"] == "binary_classifier" and params["loss_type"] == "logistic"
    assert artifact.read_model_archive(write_model_archive(WEIGHTS, BIAS)).feature_names is None


def test_wide_model_like_the_fixture(tmp_path):
    weights = np.random.default_rng(3).normal(0, 0.1, 513)
    data = write_model_archive(weights, 0.25, "regressor")
    rows = np.random.default_rng(4).normal(0, 1, (20, 513))
    lean = engines.create_engine("lean", artifact.read_model_archive(data)).predict(rows.tolist())
    np.testing.assert_allclose(lean, mxnet_predict(data, rows, tmp_path), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"predictor_type": "multiclass_classifier"}, "predictor_type must be one of"),
    ({"weights": []}, "at least one value"),
    ({"weights": [1.0, float("nan")]}, "finite"),
    ({"bias": float("inf")}, "finite"),
    ({"threshold": float("nan")}, "threshold must be a finite"),
    ({"feature_names": ["a"]}, "1 feature names for 6 weights"),
])
def test_bad_arguments_are_refused(kwargs, message):
    arguments = {"weights": WEIGHTS, "bias": BIAS, **kwargs}
    with pytest.raises(ValueError, match=message):
        write_model_archive(**arguments)


def mxnet_files(weights: list[float], bias: float, predictor_type: str, workdir) -> tuple[bytes, bytes]:
    """The oracle: the symbol and params as MXNet itself builds and saves them (``mx.sym``, ``mx.nd.save``)."""
    import mxnet as mx

    data = mx.sym.Variable("data")
    weight = mx.sym.Variable("fc0_weight", shape=(len(weights), 1))
    bias_var = mx.sym.Variable("fc0_bias", shape=(1, 1))
    linear = mx.sym.broadcast_add(mx.sym.dot(data, weight, name="dot0"), bias_var, name="broadcast_plus0")
    head = getattr(mx.sym, HEADS[predictor_type])
    symbol = head(data=linear, label=mx.sym.Variable("out_label"), name=HEADS[predictor_type].lower() + "0")
    arrays = {"arg:fc0_weight": mx.nd.array(np.asarray(weights, dtype=np.float32).reshape(-1, 1), dtype="float32"),
              "arg:fc0_bias": mx.nd.array(np.asarray([[bias]], dtype=np.float32), dtype="float32")}
    path = workdir / "oracle-0000.params"
    mx.nd.save(str(path), arrays)
    return symbol.tojson().encode("utf-8"), path.read_bytes()


@pytest.mark.parametrize("predictor_type", PREDICTOR_TYPES)
@pytest.mark.parametrize("dimension", [1, 6, 513])
def test_symbol_and_params_are_the_bytes_mxnet_writes(predictor_type, dimension, tmp_path):
    """The stdlib writer (no MXNet on Python 3.12+) gives exactly MXNet 1.9.1's bytes."""
    pytest.importorskip("mxnet")
    rng = np.random.default_rng(dimension)
    weights = rng.normal(0, 100, dimension).tolist()
    bias = float(rng.normal(0, 10))
    assert _mxnet_files(weights, bias, predictor_type) == mxnet_files(weights, bias, predictor_type, tmp_path)


def test_weights_beyond_float32_are_refused():
    with pytest.raises(ValueError, match="outside float32's range"):
        write_model_archive([1e39] + WEIGHTS[1:], BIAS)
