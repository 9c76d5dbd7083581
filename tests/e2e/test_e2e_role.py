"""The function's role on the local target, with the real executable: what AWS refuses, the local target refuses.

A role that may not read the model is refused by deploy's preflight (as on
the aws target, tests/deploy/test_deploy_role.py); a role that loses its
access after deploy makes the endpoint answer 503 naming s3:GetObject, as the
same function does on AWS, and serves again once the access is back. Before,
the function ran with the local target's own credentials and answered 200.
"""
from __future__ import annotations

import json
import time

import emulated
import pytest
from cli_helpers import MODEL_KEY
from clitools import curl_post

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def world(cli):
    """A started emulator with the prerequisites, a model, and boto3 clients signed as the user."""
    cli.json("local", "start")
    bucket = cli.json("bootstrap")["bucket"]
    aws = emulated.clients(f"http://127.0.0.1:{cli.port}", state_dir=cli.home / "state")
    aws["s3"].put_object(Bucket=bucket, Key=MODEL_KEY, Body=emulated.workshop_model())
    return {"bucket": bucket, "aws": aws}


def make_role(world, name: str, readable: bool) -> None:
    iam = world["aws"]["iam"]
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    if readable:
        grant_read(world, name)


def grant_read(world, name: str) -> None:
    world["aws"]["iam"].put_role_policy(RoleName=name, PolicyName="read-models", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{world['bucket']}/*"}]}))


def test_deploy_refuses_a_role_that_may_not_read_the_model(cli, world):
    make_role(world, "NoModelAccess", readable=False)
    refused = cli.run("deploy", "--yes", "--role", "NoModelAccess", check=False)
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 2, said
    assert f"Role NoModelAccess may not s3:GetObject s3://{world['bucket']}/{MODEL_KEY}" in said
    assert cli.json("status")["deployed"] is False


def test_a_role_that_loses_access_after_deploy_makes_the_endpoint_answer_503(cli, world):
    make_role(world, "ModelReader", readable=True)
    deployed = cli.json("deploy", "--yes", "--role", "ModelReader")
    # the role's access is taken away before the first request (as an administrator might)
    world["aws"]["iam"].delete_role_policy(RoleName="ModelReader", PolicyName="read-models")
    status, body = curl_post(deployed["invoke_url"], emulated.WORKSHOP_BODY)
    assert status == 503, body
    assert "s3:GetObject" in body["error"] and MODEL_KEY in body["error"] and "access denied" in body["error"]
    predicted = cli.run("predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
                        "--tmax", "333", "--tmin", "300", "--prcp", "0", check=False)
    assert predicted.returncode != 0 and "s3:GetObject" in " ".join(predicted.stderr.split())
    grant_read(world, "ModelReader")
    # access back: a failed load is retried after 1, 2, 4 ... s (each failure doubles the wait, and the predict
    # above may have been one more), so the model loads within the next retries, answering 503 until then
    deadline = time.monotonic() + 16
    while True:
        status, body = curl_post(deployed["invoke_url"], emulated.WORKSHOP_BODY)
        if status != 503 or time.monotonic() > deadline:
            break
        assert "s3:GetObject" in body["error"], body
        time.sleep(0.5)
    assert status == 200 and body["model_path"] == MODEL_KEY, body
