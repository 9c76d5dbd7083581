"""What moto (as installed) does with Lambda versions and aliases: the facts moto_backends/lambda_aliases.py and the canary
rely on, measured here so that a moto upgrade that changes one fails this file first."""
from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws


@pytest.fixture
def lam():
    with mock_aws():
        client = boto3.client("lambda", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", "def handler(e, c): return 1\n")
        client.create_function(FunctionName="f", Runtime="python3.13", Role=role, Handler="index.handler",
                               Code={"ZipFile": buffer.getvalue()}, Environment={"Variables": {"MODEL_PATH": "a"}})
        yield client


def _model(lam, qualifier: str | None = None) -> str:
    extra = {"Qualifier": qualifier} if qualifier else {}
    return lam.get_function_configuration(FunctionName="f", **extra)["Environment"]["Variables"]["MODEL_PATH"]


def test_a_version_freezes_the_environment_it_was_published_with_and_is_active_at_once(lam):
    first = lam.publish_version(FunctionName="f")
    assert first["State"] == "Active"          # Lambda says Pending first: tests/realaws scripts it
    assert lam.publish_version(FunctionName="f")["Version"] == first["Version"]   # nothing changed: the same one
    lam.update_function_configuration(FunctionName="f", Environment={"Variables": {"MODEL_PATH": "b"}})
    second = lam.publish_version(FunctionName="f")["Version"]
    lam.update_function_configuration(FunctionName="f", Environment={"Variables": {"MODEL_PATH": "a"}})
    assert (_model(lam, first["Version"]), _model(lam, second), _model(lam)) == ("a", "b", "a")


def test_an_alias_stores_its_weights_and_moto_accepts_weights_lambda_refuses(lam):
    first = lam.publish_version(FunctionName="f")["Version"]
    lam.create_alias(FunctionName="f", Name="live", FunctionVersion=first,
                     RoutingConfig={"AdditionalVersionWeights": {"7": 1.5}})   # Lambda: 0.0-1.0, an existing version
    assert lam.get_alias(FunctionName="f", Name="live")["RoutingConfig"] == {"AdditionalVersionWeights": {"7": 1.5}}
    with pytest.raises(ClientError) as caught:
        lam.create_alias(FunctionName="f", Name="live", FunctionVersion=first)
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    # GetFunctionConfiguration of the alias answers its primary version: moto never splits
    assert lam.get_function_configuration(FunctionName="f", Qualifier="live")["Version"] == first


def test_moto_keeps_one_policy_for_the_function_and_its_aliases(lam):
    version = lam.publish_version(FunctionName="f")["Version"]
    lam.create_alias(FunctionName="f", Name="live", FunctionVersion=version)
    lam.add_permission(FunctionName="f", Qualifier="live", StatementId="s", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com")
    # Lambda keeps a policy per qualifier; moto shows the alias's statement on the function too, so
    # wiring.py matches a statement's Resource, not only its presence
    unqualified = lam.get_policy(FunctionName="f")["Policy"]
    assert '"Resource": "arn:aws:lambda:us-east-1:123456789012:function:f:live"' in unqualified
