"""The group's global options: --version, and --region reaching the AWS clients."""
from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from cli_helpers import run_main
from click.testing import CliRunner

from wildrydes_cli import __version__
from wildrydes_cli.cli.main import cli


@pytest.fixture
def emulator_url(monkeypatch):
    """moto in server mode standing in for the local daemon (as in test_local_commands.py)."""
    from moto.server import ThreadedMotoServer

    from wildrydes_cli.local import daemon
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
    monkeypatch.setattr(daemon, "ensure_running", lambda settings: url)
    yield url
    server.stop()


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


# -- global options anywhere on the line --------------------------------------------------------------

def _commands(group=cli, path=()):
    """Every command of the tree, with its path (``local start`` included)."""
    import click
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_every_command_lists_the_global_options_in_its_help():
    runner = CliRunner()
    for path, _ in _commands():
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Global options (also accepted before the command):" in result.output, path
        for option in ("--target", "--region", "--profile", "--output", "--scratchpad", "--debug"):
            assert option in result.output.split("Global options", 1)[1], (path, option)


def test_global_options_after_the_command_act_like_before(aws):
    result = CliRunner().invoke(cli, ["status", "--target", "aws", "--output", "json", "--region", "eu-west-1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["region"] == "eu-west-1" and json.loads(result.stdout)["target"] == "aws"


def test_the_commands_value_wins_over_the_one_before_it(aws, monkeypatch):
    monkeypatch.setenv("WILDRYDES_TARGET", "local")
    result = CliRunner().invoke(cli, ["--output", "json", "--region", "us-east-1", "status", "--output", "text",
                                      "--region", "eu-west-1", "--target", "aws"])
    assert result.exit_code == 0, result.output
    assert "target aws (eu-west-1)" in result.stdout and not result.stdout.startswith("{")


def test_deploy_region_after_the_command_lands_there(wildrydes):
    """`deploy --region eu-west-1`, as AWS CLI users type it: the stack is made in eu-west-1."""
    from cli_helpers import upload_model
    made = wildrydes.json("bootstrap", "--region", "eu-west-1")
    upload_model(made["bucket"])
    assert boto3.client("s3", region_name="eu-west-1").get_bucket_location(
        Bucket=made["bucket"])["LocationConstraint"] == "eu-west-1"
    deployed = wildrydes.json("deploy", "--region", "eu-west-1")
    assert deployed["region"] == "eu-west-1" and ".eu-west-1." in deployed["invoke_url"]
    cfn = boto3.client("cloudformation", region_name="eu-west-1")
    assert cfn.describe_stacks(StackName="wildrydes-ml-mod3-4")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def _settings_seen(monkeypatch, argv: list[str]):
    """The Settings a command would act on (target resolution is where it stops)."""
    from wildrydes_cli.aws import target
    from wildrydes_cli.errors import LocalTargetError
    seen = {}

    def resolve(settings):
        seen["settings"] = settings
        raise LocalTargetError("stop here")
    monkeypatch.setattr(target, "resolve", resolve)
    CliRunner().invoke(cli, argv)
    return seen["settings"]


def test_target_and_scratchpad_and_debug_after_the_command(monkeypatch, tmp_path):
    monkeypatch.setenv("WILDRYDES_TARGET", "aws")
    seen = _settings_seen(monkeypatch, ["status", "--target", "local", "--scratchpad", str(tmp_path / "pad.txt"),
                                        "--debug", "--profile", "work"])
    assert seen.target == "local" and seen.scratchpad == tmp_path / "pad.txt" and seen.debug
    assert seen.profile == "work"
    seen = _settings_seen(monkeypatch, ["local", "--output", "json", "env"])
    assert seen.output == "json" and seen.target == "local"


def test_json_error_follows_the_last_output_given():
    code, out, err = run_main(["--output", "json", "predict", "--output", "text", "--url", "ftp://x"])
    assert code == 2 and out == "" and "Missing --distance" in err   # text: no JSON object
    code, out, err = run_main(["predict", "--url", "ftp://x", "--output", "json"])
    assert code == 2 and json.loads(out)["exit_code"] == 2


# -- the local target's region ignores the AWS configuration ------------------------------------------

def test_local_region_ignores_aws_region_profile_and_config(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-1\n[profile work]\nregion = ap-southeast-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    monkeypatch.setenv("AWS_PROFILE", "work")
    local = _settings_seen(monkeypatch, ["--target", "local", "status"])
    assert (local.region, local.region_source) == ("us-east-1", "the default region")
    remote = _settings_seen(monkeypatch, ["--target", "aws", "status"])
    assert (remote.region, remote.region_source) == ("eu-central-1", "AWS_REGION")
    monkeypatch.setenv("WILDRYDES_REGION", "ca-central-1")
    local = _settings_seen(monkeypatch, ["--target", "local", "status"])
    assert (local.region, local.region_source) == ("ca-central-1", "WILDRYDES_REGION")
    local = _settings_seen(monkeypatch, ["--target", "local", "status", "--region", "us-west-2"])
    assert (local.region, local.region_source) == ("us-west-2", "--region")


def test_local_region_defaults_to_the_last_local_deploy(monkeypatch):
    from wildrydes_cli import deployment_record
    from wildrydes_cli.deployment_record import Deployment
    from wildrydes_cli.settings import Settings

    def record(region: str, when: str) -> None:
        deployment = Deployment(stack="wildrydes-ml-mod3-4", bucket="b", function_name="f", api_id="a",
                                invoke_url="u", model_path="m", engine="lean", runtime="python3.13",
                                deployed_at=when)
        deployment_record.save(Settings(target="local", region=region), {deployment.stack: deployment})
    record("eu-west-1", "2026-12-01T10:00:00+00:00")
    record("us-west-2", "2026-12-02T10:00:00+00:00")
    record("ap-south-1", "2026-11-30T10:00:00+00:00")
    seen = _settings_seen(monkeypatch, ["status"])
    assert (seen.region, seen.region_source) == ("us-west-2", "the region of the last local deploy")
    # another account's file of the aws target is never the local target's
    deployment_record.save(Settings(target="aws", account="123456789012", region="sa-east-1"),
                           deployment_record.load(Settings(target="local", region="us-west-2")))
    assert _settings_seen(monkeypatch, ["status"]).region == "us-west-2"


def test_local_target_works_with_a_missing_profile_and_a_broken_config(emulator_url, monkeypatch, tmp_path):
    """AWS_PROFILE naming no profile, and a config file botocore cannot parse: the local target does not care."""
    config = tmp_path / "config"
    config.write_text("[default\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = CliRunner().invoke(cli, ["--target", "local", "--output", "json", "status"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["region"] == "us-east-1"
    aws_target = CliRunner().invoke(cli, ["--target", "aws", "--output", "json", "status"])
    assert aws_target.exit_code != 0 and "config file" in aws_target.output   # real AWS does read it


def test_status_says_when_another_region_holds_deployments(emulator_url, monkeypatch):
    from wildrydes_cli import deployment_record
    from wildrydes_cli.deployment_record import Deployment
    from wildrydes_cli.settings import Settings
    deployment = Deployment(stack="wildrydes-ml-mod3-4", bucket="b", function_name="f", api_id="a",
                            invoke_url="u", model_path="m", engine="lean", runtime="python3.13",
                            deployed_at="2026-12-01T10:00:00+00:00")
    deployment_record.save(Settings(target="local", region="eu-west-1"), {deployment.stack: deployment})
    result = CliRunner().invoke(cli, ["--target", "local", "--output", "json", "status", "--region", "us-east-1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["other_regions"] == ["eu-west-1"]
    text = CliRunner().invoke(cli, ["status", "--region", "us-east-1"]).stdout
    assert "Deployments are recorded in another region too: eu-west-1 (see them with --region eu-west-1)." in text
