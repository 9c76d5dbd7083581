"""The group's global options: --version, and --region reaching the AWS clients."""
from __future__ import annotations

import boto3
import pytest
from cli_helpers import run_main
from click.testing import CliRunner

from wildrydes_cli import __version__
from wildrydes_cli.cli.main import cli


def test_version_prints_the_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"wildrydes, version {__version__}\n"
    code, out, _ = run_main(["--version"])
    assert code == 0 and out == f"wildrydes, version {__version__}\n"


def test_region_flag_reaches_the_aws_clients(wildrydes):
    """--region beats AWS_REGION (us-east-1 in the tests): the stack and bucket land in eu-west-1."""
    made = wildrydes.json("--region", "eu-west-1", "bootstrap")
    stacks = boto3.client("cloudformation", region_name="eu-west-1").describe_stacks(
        StackName="wildrydes-ml-mod1-3")["Stacks"]
    assert stacks[0]["StackId"].startswith("arn:aws:cloudformation:eu-west-1:")
    location = boto3.client("s3", region_name="eu-west-1").get_bucket_location(Bucket=made["bucket"])
    assert location["LocationConstraint"] == "eu-west-1"
    with pytest.raises(Exception, match="does not exist"):
        boto3.client("cloudformation", region_name="us-east-1").describe_stacks(StackName="wildrydes-ml-mod1-3")
    status = wildrydes.json("--region", "eu-west-1", "status")
    assert status["region"] == "eu-west-1"
