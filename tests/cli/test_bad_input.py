"""Bad input a user can give the CLI: each is a usage error (exit 2) whose message names the value,
never "unexpected ..." (exit 70, kept for our bugs), and nothing is started, uploaded or created first.

Covered: region, CSV files (predict --file, train --data), WILDRYDES_HOME, empty deploy
options, and status when the recorded deployment is gone. The daemon's cases (--port while it runs,
WILDRYDES_LOCAL_PORT) are in tests/e2e/test_e2e_local_input.py.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest
from cli_helpers import run_main
from click.testing import CliRunner

from wildrydes_cli.cli.main import cli
from wildrydes_cli.local import daemon_files
from wildrydes_cli.settings import default_state_dir

HEADER = "distance,healthpoints,magicpoints,TMIN,TMAX,PRCP"
TRAIN_HEADER = HEADER + ",heavy_utilization"
NO_URL = "http://127.0.0.1:9/"   # never reached: every case fails before the request


def _code_objects(bucket: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="code/")
    return [item["Key"] for item in listed.get("Contents", [])]


# -- region -------------------------------------------------------------------------------------------

def test_deploy_to_a_region_that_does_not_exist_uploads_nothing(wildrydes, with_model):
    result = wildrydes("--region", "xx-nowhere-9", "deploy", expect=2, json_output=False)
    assert "--region 'xx-nowhere-9' is not an AWS region name (e.g. us-east-1" in result.stderr
    assert _code_objects(with_model["bucket"]) == []
    assert "unexpected" not in result.stderr


@pytest.mark.parametrize("argv, env, message", [
    (["--region", "xx-nowhere-9"], {}, "--region 'xx-nowhere-9' is not an AWS region name"),
    (["--region", ""], {}, "--region '' is not an AWS region name"),
    (["--region", "us-east-1 "], {}, "--region 'us-east-1 ' is not an AWS region name"),
    # the local target's region variable; AWS_REGION and AWS_DEFAULT_REGION are real AWS's (next test)
    ([], {"WILDRYDES_REGION": "EU-WEST-1"}, "WILDRYDES_REGION 'EU-WEST-1' is not an AWS region name"),
    # the form of an AWS region, but not one the emulator (moto) keeps a backend for
    (["--region", "us-nowhere-9"], {}, "--region 'us-nowhere-9' is not a region the local emulator serves"),
])
def test_local_target_refuses_a_bad_region_before_the_emulator_starts(monkeypatch, argv, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_main(["--target", "local", "--output", "json", *argv, "status"])
    assert code == 2, err
    assert message in err
    assert json.loads(out) == {"error": err.strip().removeprefix("Error: "), "exit_code": 2}
    assert daemon_files.read_state(default_state_dir()) is None   # no daemon was started


@pytest.mark.parametrize("env, message", [
    ({"AWS_REGION": "EU-WEST-1"}, "AWS_REGION 'EU-WEST-1' is not an AWS region name"),
    ({"AWS_REGION": "", "AWS_DEFAULT_REGION": "nowhere"}, "AWS_DEFAULT_REGION 'nowhere' is not"),
])
def test_aws_target_names_the_region_variable_at_fault(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_main(["--target", "aws", "--output", "json", "status"])
    assert code == 2 and message in err, err
    assert json.loads(out) == {"error": err.strip().removeprefix("Error: "), "exit_code": 2}


def test_a_region_in_another_partition_is_accepted(wildrydes):
    """The form comes from botocore's partitions, so China and GovCloud regions pass the check."""
    for region in ("cn-north-1", "us-gov-west-1", "eu-west-1"):
        assert wildrydes.json("--region", region, "status")["region"] == region


# -- CSV files ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (f"{HEADER}\n1,2,3,4,5,{'9' * 140_000}\n",
     "rides.csv, line 2: not valid CSV (field larger than field limit (131072))."),
    (f"{HEADER}\n1,2,3,4,5,6,7\n", "rides.csv, line 2: 7 cells but the header has 6 columns"),
    (f"{HEADER}\n1,2,3,4,5,6\n1,2,3\n", "rides.csv, line 3: 3 cells but the header has 6 columns"),
    (f"{HEADER},distance\n1,2,3,4,5,6,7\n", "rides.csv, line 1: column 'distance' appears twice (columns 1 and 7)"),
    (f"{HEADER},Magicpoints\n1,2,3,4,5,6,7\n", "column 'Magicpoints' appears twice (columns 3 and 7)"),
    (f"{HEADER}\n1,2,3,4,5,\xff\n".encode("latin-1"), "rides.csv is not UTF-8 text (byte 59)"),
    (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "rides.csv is not UTF-8 text"),
    (f'{HEADER}\n1,2,3,4,5,"6\n', "rides.csv, line 2: not valid CSV (unexpected end of data)."),
    (f'{HEADER}\n1,2,3,4,5,"6"x\n', "rides.csv, line 2: not valid CSV (',' expected after '\"')."),
])
def test_predict_file_refuses_bad_csv(wildrydes, tmp_path, content, message):
    rides = tmp_path / "rides.csv"
    rides.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = wildrydes("predict", "--file", str(rides), "--url", NO_URL, expect=2, json_output=False)
    assert message in result.stderr


def test_predict_file_blank_lines_still_skipped(tmp_path):
    """The stricter reader keeps what worked: blank lines between rides carry no ride."""
    from wildrydes_cli.observe.predict import rides_from_csv
    rides = tmp_path / "rides.csv"
    rides.write_text(f"\ufeff{HEADER}\n1,2,3,4,5,6\n\n7,8,9,10,11,12.5\n")
    assert rides_from_csv(rides)[1] == {"distance": 7, "healthpoints": 8, "magicpoints": 9, "TMIN": 10,
                                        "TMAX": 11, "PRCP": 12.5}


@pytest.mark.parametrize("path, message", [
    ("/dev/zero", "--file /dev/zero is larger than 64 MiB: split it"),
    ("{tmp}", "is a directory"),
])
def test_predict_file_that_is_not_a_csv_file(wildrydes, tmp_path, path, message):
    result = wildrydes("predict", "--file", path.format(tmp=tmp_path), "--url", NO_URL, expect=2,
                       json_output=False)
    assert message in result.stderr


@pytest.mark.parametrize("content, message", [
    (f"{TRAIN_HEADER}\n1,2,3,4,5,{'9' * 140_000},1\n",
     "rides.csv line 2 is not valid CSV (field larger than field limit (131072))"),
    (f"{TRAIN_HEADER}\n1,2,3,4,5,6,{'1' * 1_100_000}\n", "rides.csv has a line longer than 1024 KiB"),
    (b"\x7fELF\x02\x01\x01\x00\xff\xfe", "rides.csv is not UTF-8 text; expected a CSV file"),
])
def test_train_data_refuses_bad_csv(wildrydes, tmp_path, content, message):
    data = tmp_path / "rides.csv"
    data.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = wildrydes("train", "--data", str(data), "--save", str(tmp_path / "m.tar.gz"), expect=2,
                       json_output=False)
    assert message in result.stderr
    assert not (tmp_path / "m.tar.gz").exists()


def test_train_data_from_dev_zero_is_refused_in_bounded_memory(wildrydes, tmp_path):
    """No line end ever comes: the reader stops at 1 MiB instead of growing until the machine swaps."""
    result = wildrydes("train", "--data", "/dev/zero", "--save", str(tmp_path / "m.tar.gz"), expect=2,
                       json_output=False)
    assert "zero has a line longer than 1024 KiB" in result.stderr


# -- WILDRYDES_HOME -----------------------------------------------------------------------------------

def _unwritable_homes(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    homes = [(a_file, "it is not a directory"), (a_file / "state", "Not a directory")]
    if os.geteuid() != 0:   # root writes anywhere but /proc: the read-only case needs a plain user
        read_only = tmp_path / "read-only"
        read_only.mkdir(mode=0o500)
        homes.append((read_only / "state", "Permission denied"))
    homes.append((Path("/proc/wildrydes-state"), ""))   # /proc: not even root makes directories there
    return homes


@pytest.mark.parametrize("command", [
    ["--target", "aws", "deploy"], ["--target", "aws", "cleanup"], ["--target", "local", "status"],
    ["--target", "local", "local", "start"], ["--target", "local", "local", "env"],
    ["--target", "local", "deploy", "--yes"],
])
def test_unwritable_wildrydes_home_is_a_usage_error(aws, tmp_path, monkeypatch, command):
    for home, reason in _unwritable_homes(tmp_path):
        monkeypatch.setenv("WILDRYDES_HOME", str(home))
        code, out, err = run_main(command)
        assert code == 2, (home, err)
        assert f"Cannot write WILDRYDES_HOME={home}: {reason}" in err
        assert "Point WILDRYDES_HOME at a directory you can write" in err


# -- deploy options -----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--model-path", ""], "--model-path is empty (''): pass a value, or leave --model-path out to use the "
                           "newest linear-learner-* model."),
    (["--model-path", "  "], "--model-path is empty ('  ')"),
    (["--bucket", ""], "--bucket is empty (''): pass a value, or leave --bucket out"),
    (["--role", " "], "--role is empty (' ')"),
])
def test_deploy_refuses_an_empty_option(wildrydes, with_model, argv, message):
    result = wildrydes("deploy", *argv, expect=2, json_output=False)
    assert message in result.stderr
    stacks = boto3.client("cloudformation").list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]
    assert [s["StackName"] for s in stacks] == ["wildrydes-ml-mod1-3"]   # only bootstrap's
    assert _code_objects(with_model["bucket"]) == []


# -- status -------------------------------------------------------------------------------------------

def test_status_when_the_deployment_is_gone(wildrydes, deployed):
    """What an emulator that starts empty does, on moto: the recorded stack, function and API vanish."""
    boto3.client("cloudformation").delete_stack(StackName=deployed["stack"])
    functions = boto3.client("lambda")
    if any(f["FunctionName"] == deployed["function_name"] for f in functions.list_functions()["Functions"]):
        functions.delete_function(FunctionName=deployed["function_name"])
    apis = boto3.client("apigateway")
    if any(api["id"] == deployed["api_id"] for api in apis.get_rest_apis()["items"]):
        apis.delete_rest_api(restApiId=deployed["api_id"])
    result = wildrydes.json("status")
    assert result["up_to_date"] is False
    assert result["missing"] == ["stack", "function", "API"]
    text = wildrydes("status", json_output=False).stdout
    assert "The recorded deployment is gone: stack, function, API missing; run `wildrydes deploy` to deploy" in text
    assert "up to date" in text and "no - the deployment is gone" in text
    assert "yes" not in text.split("up to date", 1)[1]


def test_status_of_a_live_deployment_is_unchanged(wildrydes, deployed):
    result = wildrydes.json("status")
    assert result["up_to_date"] is True and result["missing"] == []
    assert "gone" not in wildrydes("status", json_output=False).stdout


def test_cli_runner_sees_the_same(aws, tmp_path):
    """The plain CliRunner path (no main) maps the region error the same way: exit 2, not a traceback."""
    result = CliRunner().invoke(cli, ["--target", "aws", "--region", "xx-nowhere-9", "status"])
    assert result.exit_code == 2 and result.exception is not None
    assert "not an AWS region name" in result.stderr


# -- other paths to exit 70 found while probing -------------------------------------------------------

RIDE = ["--distance", "1", "--healthpoints", "1", "--magicpoints", "1", "--tmin", "1", "--tmax", "1", "--prcp", "1"]


@pytest.mark.parametrize("url, problem", [
    ("http://[::1", "Invalid IPv6 URL"),
    ("http://exa mple/prod/", "it contains a space or a control character"),
    ("http://\x00/", "it contains a space or a control character"),
    ("http://127.0.0.1:9/\n", "it contains a space or a control character"),
    ("http://127.0.0.1:99999/", "Port out of range 0-65535"),
    ("http://127.0.0.1:http/", "Port could not be cast to integer value as 'http'"),
    ("https:///prod/", "it has no host"),
])
def test_predict_refuses_an_unusable_url(wildrydes, url, problem):
    result = wildrydes("predict", *RIDE, "--url", url, expect=2, json_output=False)
    assert f"--url {url!r} cannot be used: {problem}. Pass the invoke URL" in result.stderr


def test_train_refuses_a_negative_seed(wildrydes, tmp_path):
    result = wildrydes("train", "--seed", "-1", "--rows", "100", "--save", str(tmp_path / "m.tar.gz"), expect=2,
                       json_output=False)
    assert "--seed must be a whole number of 0 or more (got -1)" in result.stderr


def test_local_regions_read_from_endpoints_json_equal_botocores_own_answer():
    """regions.local_regions reads botocore's data file directly (a session costs ~250 ms on every
    local command); botocore's get_available_regions is the oracle."""
    import botocore.session

    from wildrydes_cli.aws import regions
    session = botocore.session.get_session()
    expected = None
    for service in regions.LOCAL_SERVICES:
        found = {r for p in session.get_available_partitions()
                 for r in session.get_available_regions(service, partition_name=p)}
        expected = found if expected is None else expected & found
    assert regions.local_regions() == frozenset(expected) and "us-east-1" in expected


# -- --bucket ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["train", "--rows", "100"], ["deploy"], ["models"]])
@pytest.mark.parametrize("bucket, message", [
    ("s3://wildrydes-data/linear-learner-x/output/model.tar.gz",
     "takes a bucket name, not an S3 URL or ARN: use --bucket wildrydes-data"),
    ("arn:aws:s3:::wildrydes-data", "not an S3 URL or ARN: use --bucket wildrydes-data"),
    ("wildrydes-data/breeds", "takes the bucket's name alone, without a key or '/'"),
    ("my bucket", "is not an S3 bucket name: 3 to 63 characters"),
    ("ab", "is not an S3 bucket name"),
    (" ", "--bucket is empty (' '): pass a value, or leave --bucket out to use this target's data bucket."),
])
def test_a_bucket_no_bucket_could_have_is_a_usage_error_before_anything_starts(command, bucket, message):
    code, out, err = run_main(["--target", "local", *command, "--bucket", bucket])
    assert code == 2, err
    assert message in " ".join(err.split())
    assert repr(bucket) in err   # the value is named
    assert "unexpected" not in err
    assert daemon_files.read_state(default_state_dir()) is None   # no daemon was started


@pytest.mark.parametrize("name", ["wildrydes-data", "a.b-c", "Legacy_Bucket_2017", "x" * 63])
def test_bucket_names_any_bucket_could_have_pass(name):
    from wildrydes_cli.layout import bucket_name_problem
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize("argv", [["train", "--data"], ["predict", "--url", NO_URL, "--file"]])
def test_an_s3_url_for_a_file_says_to_download_it_first_and_keeps_the_url_whole(argv):
    url = "s3://my-bucket/rides/processed.csv"
    code, out, err = run_main([*argv, url])
    assert code == 2
    assert f"{url} is not a file on this machine" in err and f"aws s3 cp {url} rides.csv" in err
    assert "s3:/my-bucket" not in err.replace(url, "")     # never the mangled form
    code, _, err = run_main([*argv, "https://example.com/rides.csv"])
    assert code == 2 and "curl -o rides.csv 'https://example.com/rides.csv'" in err
