"""The contract with moto's internals: every read the local target makes, against moto as installed.

If a moto upgrade renames a backend or an attribute, these fail here, naming
the read that broke, instead of the emulator answering 403 or losing a function.
"""
from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from moto import mock_aws

from wildrydes_cli.local.awsapi import moto_backends

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture
def made():
    """An API (root ANY -> AWS_PROXY, /breeds/{breed} with no integration, stage prod with a variable),
    a function created from an S3 object, all made through the public API as deploy makes them."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="code")
        code = _zip()
        s3.put_object(Bucket="code", Key="fn.zip", Body=code)
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        fn = lam.create_function(FunctionName="fn", Runtime="python3.13", Role=role, Handler="index.handler",
                                 Code={"S3Bucket": "code", "S3Key": "fn.zip"}, Timeout=7, MemorySize=256,
                                 Environment={"Variables": {"MODEL_PATH": "m.tar.gz"}})
        gw = boto3.client("apigateway", region_name=REGION)
        api_id = gw.create_rest_api(name="api")["id"]
        root = next(r["id"] for r in gw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"
        gw.put_method(restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE")
        gw.put_integration(restApiId=api_id, resourceId=root, httpMethod="ANY", type="AWS_PROXY",
                           integrationHttpMethod="POST", uri=uri)
        breeds = gw.create_resource(restApiId=api_id, parentId=root, pathPart="breeds")["id"]
        breed = gw.create_resource(restApiId=api_id, parentId=breeds, pathPart="{breed}")["id"]
        gw.put_method(restApiId=api_id, resourceId=breed, httpMethod="GET", authorizationType="NONE")
        gw.create_deployment(restApiId=api_id, stageName="prod", variables={"colour": "blue"})
        yield {"api_id": api_id, "root": root, "breeds": breeds, "breed": breed, "uri": uri, "code": code,
               "function": fn}


def test_rest_api_is_found_by_id_and_by_location(made):
    account_id, region, api = moto_backends.find_rest_api(made["api_id"])
    assert (account_id, region) == (ACCOUNT, REGION)
    assert moto_backends.rest_api_in(ACCOUNT, REGION, made["api_id"]) is api
    assert moto_backends.find_rest_api("nope") is None
    assert moto_backends.rest_api_in(ACCOUNT, "eu-west-3", made["api_id"]) is None


def test_resources_methods_and_integrations(made):
    api = moto_backends.find_rest_api(made["api_id"])[2]
    resources = {r.resource_id: r for r in moto_backends.api_resources(api)}
    assert set(resources) == {made["root"], made["breeds"], made["breed"]}
    assert resources[made["root"]].parent_id is None
    assert resources[made["root"]].methods == {"ANY": ("AWS_PROXY", made["uri"])}
    assert (resources[made["breed"]].parent_id, resources[made["breed"]].path_part) == (made["breeds"], "{breed}")
    assert resources[made["breed"]].methods == {"GET": None}   # a method without an integration


def test_stage_variables(made):
    api = moto_backends.find_rest_api(made["api_id"])[2]
    assert moto_backends.stage_variables(api, "prod") == {"colour": "blue"}
    assert moto_backends.stage_variables(api, "dev") is None


def test_lambda_function_configuration_and_code(made):
    arn = made["function"]["FunctionArn"]
    fn = moto_backends.lambda_function(arn)
    config = moto_backends.function_config(fn)
    assert (config.arn, config.name, config.account_id, config.region) == (arn, "fn", ACCOUNT, REGION)
    assert (config.handler, config.runtime, config.timeout, config.memory_size) == \
        ("index.handler", "python3.13", 7.0, 256)
    assert dict(config.environment) == {"MODEL_PATH": "m.tar.gz"}
    assert config.code_sha256 == made["function"]["CodeSha256"]
    assert config.last_modified and (config.code_bucket, config.code_key) == ("code", "fn.zip")
    assert moto_backends.function_code_snapshot(fn) == made["code"]
    assert moto_backends.s3_object(ACCOUNT, "code", "fn.zip") == made["code"]
    assert moto_backends.s3_object(ACCOUNT, "code", "missing.zip") is None
    assert moto_backends.s3_object(ACCOUNT, "no-bucket", "fn.zip") is None
    assert moto_backends.lambda_function(arn.replace(":fn", ":other")) is None
    assert moto_backends.lambda_function("not-an-arn") is None


def test_function_version_moves_with_an_update(made):
    arn = made["function"]["FunctionArn"]
    before = moto_backends.function_version(moto_backends.lambda_function(arn))
    boto3.client("lambda", region_name=REGION).update_function_configuration(
        FunctionName="fn", Environment={"Variables": {"MODEL_PATH": "newer.tar.gz"}})
    fn = moto_backends.lambda_function(arn)
    assert moto_backends.function_version(fn) != before
    assert dict(moto_backends.function_config(fn).environment) == {"MODEL_PATH": "newer.tar.gz"}


# --- writes: the Lambda runner's log events and the journal's replay ----------------------

def test_log_events_are_appended_and_read_back_through_the_public_api():
    import time
    now = int(time.time() * 1000)   # CloudWatch (and moto) drop events older than 14 days
    with mock_aws():
        group = "/aws/lambda/fn"
        moto_backends.append_log_events(ACCOUNT, REGION, group, "s", [{"timestamp": now, "message": "a"}], keep=2)
        moto_backends.append_log_events(ACCOUNT, REGION, group, "s", [{"timestamp": now + 1, "message": "b"},
                                                                       {"timestamp": now + 2, "message": "c"}], keep=2)
        events = boto3.client("logs", region_name=REGION).get_log_events(logGroupName=group, logStreamName="s")
        assert [e["message"] for e in events["events"]] == ["b", "c"]   # the oldest dropped past ``keep``


def test_seeding_makes_moto_ids_repeat():
    with mock_aws():
        gateway = boto3.client("apigateway", region_name=REGION)
        moto_backends.seed_ids(42)
        first = gateway.create_rest_api(name="a")["id"]
        gateway.delete_rest_api(restApiId=first)
        moto_backends.seed_ids(42)
        assert gateway.create_rest_api(name="a")["id"] == first


def test_a_plain_put_goes_straight_into_the_s3_backend():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="models")
        assert moto_backends.put_s3_object("AKIAEXAMPLE", REGION, "models", "k/model.tar.gz", b"bytes",
                                           {"Content-Type": "application/x-gzip"}, None, None)
        got = s3.get_object(Bucket="models", Key="k/model.tar.gz")
        assert got["Body"].read() == b"bytes" and got["ContentType"] == "application/x-gzip"
        assert not moto_backends.put_s3_object("AKIAEXAMPLE", REGION, "no-such-bucket", "k", b"", {}, None, None)


def test_a_configuration_update_stamps_last_modified_as_lambda_does(made, monkeypatch):
    import time

    from moto.awslambda.models import LambdaFunction as MotoFunction
    monkeypatch.setattr(MotoFunction, "update_configuration", MotoFunction.update_configuration)   # restored after
    lam = boto3.client("lambda", region_name=REGION)
    created = lam.get_function_configuration(FunctionName="fn")["LastModified"]
    time.sleep(0.01)
    lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"MODEL_PATH": "a.tar.gz"}})
    assert lam.get_function_configuration(FunctionName="fn")["LastModified"] == created   # moto as installed
    moto_backends.stamp_configuration_updates()
    moto_backends.stamp_configuration_updates()                                            # once is enough
    time.sleep(0.01)
    answer = lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"MODEL_PATH": "b"}})
    stamped = lam.get_function_configuration(FunctionName="fn")["LastModified"]
    assert stamped > created and answer["LastModified"] == stamped
