"""Fixtures for the CLI's functional tests: moto in-process, Click's runner, --target aws.

Every test here drives the real ``wildrydes`` command group against moto's
``mock_aws`` and then checks the resulting AWS state through plain boto3.
"""
from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from wildrydes_cli.cli import cli

FIXTURE_MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker-linear-learner-regressor" / "model.tar.gz"
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


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def wildrydes(aws, tmp_path) -> Wildrydes:
    return Wildrydes(tmp_path)


@pytest.fixture
def boot(wildrydes) -> dict:
    """The prerequisites stack (bucket + role), made by `wildrydes bootstrap`."""
    return wildrydes.json("bootstrap")


def upload_model(bucket: str, key: str = MODEL_KEY, data: bytes | None = None) -> str:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data or FIXTURE_MODEL.read_bytes())
    return key


@pytest.fixture
def with_model(boot) -> dict:
    upload_model(boot["bucket"])
    return boot


@pytest.fixture
def deployed(wildrydes, with_model) -> dict:
    return wildrydes.json("deploy")


def function_stack_resources(stack: str = "wildrydes-ml-mod3-4") -> dict[str, dict]:
    resources = boto3.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    # moto lists a resource its Condition left out as an entry without a logical id
    return {r["LogicalResourceId"]: r for r in resources if "LogicalResourceId" in r}
