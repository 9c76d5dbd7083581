"""Shared helpers of the CLI tests (plain module: conftest names collide across folders)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import boto3
from click.testing import CliRunner

from wildrydes_cli.cli.main import cli
from wildrydes_cli.settings import Settings

FIXTURE_MODEL = Path(__file__).resolve().parent / "fixtures" / "sagemaker-linear-learner-regressor" / "model.tar.gz"
MODEL_KEY = "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"
NEWER_KEY = "linear-learner-2026-02-01-00-00-00-000/output/model.tar.gz"


class Wildrydes:
    """Runs ``wildrydes --target aws ...`` in-process and parses JSON results."""

    def __init__(self, tmp_path: Path) -> None:
        self.runner = CliRunner()
        self.scratchpad = tmp_path / "scratchpad.txt"

    def __call__(self, *args: str, input: str | None = None, expect: int = 0, json_output: bool = True):
        argv = ["--target", "aws", "--scratchpad", str(self.scratchpad)]
        if json_output:
            argv += ["--output", "json"]
        result = self.runner.invoke(cli, argv + list(args), input=input)
        assert result.exit_code == expect, (
            f"exit {result.exit_code} != {expect}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
            f"exception: {result.exception!r}")
        return result

    def json(self, *args: str, **kwargs) -> dict:
        return json.loads(self(*args, **kwargs).stdout)


def run_main(argv: list[str], input: str | None = None) -> tuple[int, str, str]:
    """Run the console-script entry point (the CLI edge, with its JSON error path) with Click's
    isolated streams: stdin is ``input`` and, like a pipe, not a terminal. Returns (code, stdout, stderr)."""
    from wildrydes_cli.cli.main import main
    with CliRunner().isolation(input=input) as (out, err, _):
        code = main(list(argv))
    return code, out.getvalue().decode(), err.getvalue().decode()


def interactive(monkeypatch) -> None:
    """Pretend a person sits at a terminal, so confirmation prompts read Click's test input."""
    from wildrydes_cli.cli import console
    monkeypatch.setattr(console, "stdin_is_interactive", lambda: True)


def upload_model(bucket: str, key: str = MODEL_KEY, data: bytes | None = None) -> str:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data or FIXTURE_MODEL.read_bytes())
    return key


def kms_bucket(bucket: str) -> str:
    """Give ``bucket`` a customer managed KMS key as its default encryption (named by an alias, as a company's
    rule would); the key's ARN."""
    kms = boto3.client("kms")
    key = kms.create_key(Description="company policy")["KeyMetadata"]
    kms.create_alias(AliasName="alias/data", TargetKeyId=key["KeyId"])
    boto3.client("s3").put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/data"}}]})
    return key["Arn"]


def function_stack_resources(stack: str = "wildrydes-ml-mod3-4") -> dict[str, dict]:
    resources = boto3.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    # moto lists a resource its Condition left out as an entry without a logical id
    return {r["LogicalResourceId"]: r for r in resources if "LogicalResourceId" in r}


def _wheel(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def _fake_downloader(big: int = 0, calls: list | None = None):
    def download(requirements: list[str], dest: Path) -> None:
        if calls is not None:
            calls.append(list(requirements))
        from wildrydes_cli.deploy import packaging
        assert requirements == list(packaging.MXNET_REQUIREMENTS + packaging.LIBRARY_DONORS)
        _wheel(dest / "mxnet-1.9.1-py3-none-manylinux2014_x86_64.whl", {
            "mxnet/__init__.py": b"VERSION = '1.9.1'\n", "mxnet/libmxnet.so": b"\0" * (1000 + big),
            "mxnet/tests/test_x.py": b"x" * 5000, "mxnet/include/mx.h": b"h" * 5000,
            "mxnet/__pycache__/a.cpython-311.pyc": b"c" * 100})
        _wheel(dest / "numpy-1.23.5-cp311-cp311-manylinux_2_17_x86_64.whl", {
            "numpy/__init__.py": b"", "numpy/core/tests/test_y.py": b"y" * 5000, "numpy/doc/readme.txt": b"d"})
    return download


def aws_for(settings: Settings, session=None):
    """The AWS wrapper for settings whose target needs nothing started (aws, or local with its endpoint)."""
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.aws.target import target_for
    return Aws(target_for(settings), session=session)
