"""deploy and train's publish read the model with the function's own reader and refuse what it could not serve.

Each refusal exits 3 with the reason, and the moto state afterwards is exactly
the state before: no stack, function, API, code object or index was made or changed.
"""
from __future__ import annotations

import io
import json
import tarfile

import boto3
import pytest
from cli_helpers import FIXTURE_MODEL, MODEL_KEY, NEWER_KEY, run_main

from wildrydes_cli import modelcheck
from wildrydes_cli.errors import ModelRefusedError
from wildrydes_cli.function import archive
from wildrydes_cli.training.publish import publish_model


def _aws():
    from cli_helpers import aws_for

    from wildrydes_cli.settings import Settings
    return aws_for(Settings(target="aws"))


def upload_model(bucket: str, key: str, data: bytes) -> None:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data)


def _snapshot(bucket: str) -> dict:
    """Everything deploy or publish could create or change, as moto holds it."""
    s3, lam = boto3.client("s3"), boto3.client("lambda")
    functions = {f["FunctionName"]: (f["Environment"], f.get("CodeSha256"))
                 for f in lam.list_functions()["Functions"]}
    return {
        "stacks": sorted((s["StackName"], s["StackStatus"], s.get("LastUpdatedTime"))
                         for s in boto3.client("cloudformation").describe_stacks()["Stacks"]),
        "functions": functions,
        "apis": sorted(a["id"] for a in boto3.client("apigateway").get_rest_apis()["items"]),
        "objects": sorted((o["Key"], o["ETag"]) for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])),
    }


def _truncated() -> bytes:
    return FIXTURE_MODEL.read_bytes()[:-100]


def _lean_cannot_evaluate() -> bytes:
    """The real artifact with an op the lean engine does not know (the mxnet engine can serve it)."""
    with tarfile.open(FIXTURE_MODEL) as tar:
        inner = tar.extractfile("model_algo-1").read()
    import zipfile
    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    graph = json.loads(members["mx-mod-symbol.json"])
    graph["nodes"][4]["op"] = "broadcast_sub"
    members["mx-mod-symbol.json"] = json.dumps(graph).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    tar_out = io.BytesIO()
    with tarfile.open(fileobj=tar_out, mode="w:gz") as tar:
        info = tarfile.TarInfo("model_algo-1")
        info.size = len(out.getvalue())
        tar.addfile(info, io.BytesIO(out.getvalue()))
    return tar_out.getvalue()


BAD_MODELS = [
    ("random", bytes(range(256)) * 40, "model archive is not a readable tar.gz"),
    ("truncated", None, "model archive is truncated (the gzip stream ends early)"),
    ("empty", b"", "model archive is empty (0 bytes)"),
    ("not-linear-learner", None, "model archive has no model_algo-1 member"),
]


def _bad(name: str, data: bytes | None) -> bytes:
    if data is not None:
        return data
    if name == "truncated":
        return _truncated()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.pkl")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"pkl!"))
    return out.getvalue()


@pytest.mark.parametrize("name, data, reason", BAD_MODELS, ids=[m[0] for m in BAD_MODELS])
def test_deploy_refuses_a_model_the_function_could_not_serve_and_creates_nothing(wildrydes, boot, name, data,
                                                                               reason):
    bucket = boot["bucket"]
    upload_model(bucket, MODEL_KEY, _bad(name, data))
    before = _snapshot(bucket)
    result = wildrydes("deploy", expect=3, json_output=False)
    assert f"The model s3://{bucket}/{MODEL_KEY} cannot be served: {reason}" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert _snapshot(bucket) == before
    assert before["stacks"] == [("wildrydes-ml-mod1-3", "CREATE_COMPLETE", None)] and not before["functions"]
    assert not any(key.startswith("code/") for key, _ in before["objects"])


def test_redeploy_with_a_bad_model_changes_nothing_of_the_running_deployment(wildrydes, deployed, with_model):
    bucket = with_model["bucket"]
    upload_model(bucket, NEWER_KEY, _truncated())
    before = _snapshot(bucket)
    for args in (("deploy",), ("deploy", "--model-path", NEWER_KEY)):
        result = wildrydes(*args, expect=3, json_output=False)
        assert f"s3://{bucket}/{NEWER_KEY} cannot be served: model archive is truncated" in result.stderr
        assert _snapshot(bucket) == before
    env = before["functions"][deployed["function_name"]][0]["Variables"]
    assert env["MODEL_PATH"] == MODEL_KEY      # still serving the good model


def test_deploy_refusal_is_one_json_object_with_exit_code_3(with_model, tmp_path):
    upload_model(with_model["bucket"], NEWER_KEY, b"")
    code, out, _ = run_main(["--target", "aws", "--output", "json", "--scratchpad", str(tmp_path / "s.txt"),
                             "deploy"])
    assert code == 3
    payload = json.loads(out)
    assert payload["exit_code"] == 3 and "model archive is empty (0 bytes)" in payload["error"]


def test_deploy_refuses_a_model_over_the_archive_bound_without_downloading_it(wildrydes, boot):
    bucket = boot["bucket"]
    upload_model(bucket, MODEL_KEY, b"\x1f\x8b" + b"\0" * archive.MAX_ARCHIVE_BYTES)
    before = _snapshot(bucket)
    result = wildrydes("deploy", expect=3, json_output=False)
    assert (f"The model s3://{bucket}/{MODEL_KEY} is 16,777,218 bytes; the function reads model archives of up "
            "to 16,777,216 bytes. Nothing was changed.") in " ".join(result.stderr.split())
    assert _snapshot(bucket) == before


def test_deploy_lean_refuses_a_graph_only_mxnet_evaluates_and_says_so(wildrydes, boot):
    bucket = boot["bucket"]
    upload_model(bucket, MODEL_KEY, _lean_cannot_evaluate())
    before = _snapshot(bucket)
    result = wildrydes("deploy", expect=3, json_output=False)
    text = " ".join(result.stderr.split())
    assert "cannot be served by the lean engine: graph op 'broadcast_sub' is not supported" in text
    assert "wildrydes deploy --engine mxnet" in text
    assert _snapshot(bucket) == before


def test_check_model_accepts_what_mxnet_serves_and_good_models():
    assert modelcheck.check_model(_lean_cannot_evaluate(), "m", engine="mxnet")["dimension"] == 513
    found = modelcheck.check_model(FIXTURE_MODEL.read_bytes(), "m")
    assert found == {"dimension": 513, "predictor_type": "regressor", "bytes": FIXTURE_MODEL.stat().st_size}


def test_check_model_refuses_a_model_that_scores_zero_rows_as_nan(monkeypatch):
    from wildrydes_cli.function import engines
    monkeypatch.setattr(engines.LeanEngine, "predict", lambda self, rows: [float("nan")])
    with pytest.raises(ModelRefusedError, match=r"The model cannot be served: it scores an all-zero row as nan"):
        modelcheck.check_model(FIXTURE_MODEL.read_bytes(), "The model")


# ------------------------------------------------------------------ train's publish


@pytest.mark.parametrize("name, data, reason", BAD_MODELS, ids=[m[0] for m in BAD_MODELS])
def test_publish_refuses_a_model_the_function_could_not_serve_and_uploads_nothing(boot, name, data, reason):
    bucket = boot["bucket"]
    before = _snapshot(bucket)
    with pytest.raises(ModelRefusedError, match="The trained model cannot be served: " + reason.replace("(", r"\(")
                       .replace(")", r"\)")) as caught:
        publish_model(_aws(), bucket, _bad(name, data), breed="pegasus")
    assert caught.value.exit_code == 3
    assert _snapshot(bucket) == before


def test_publish_refuses_weights_that_are_not_finite(boot, unchecked_archive):
    """What a diverged training would write: float32 infinity (the writer refuses 1e39 itself)."""
    before = _snapshot(boot["bucket"])
    with pytest.raises(ModelRefusedError, match="weight fc0_weight holds values that are not finite"):
        publish_model(_aws(), boot["bucket"], unchecked_archive([1.0, float("inf")], 0.0))
    assert _snapshot(boot["bucket"]) == before
