"""The runner's view of a deployed function: spec, verified code, safe extraction."""
from __future__ import annotations

import base64
import hashlib
import io
import stat
import zipfile

import boto3
import pytest
from moto import mock_aws

from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.local.awsapi.moto_backends import LambdaFunction
from wildrydes_cli.local.invoke import functions

BUCKET = "code-bucket"


def zip_of(files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


@pytest.fixture
def deployed():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        lam = boto3.client("lambda", region_name="us-east-1")
        iam = boto3.client("iam", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        code = zip_of({"index.py": "def handler(e, c):\n    return 1\n"})
        s3.put_object(Bucket=BUCKET, Key="fn.zip", Body=code)
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arn = lam.create_function(FunctionName="fn", Runtime="python3.13", Role=role, Handler="index.handler",
                                  Code={"S3Bucket": BUCKET, "S3Key": "fn.zip"}, Timeout=7,
                                  Environment={"Variables": {"MODEL_PATH": "a/model.tar.gz"}})["FunctionArn"]
        yield {"s3": s3, "lam": lam, "arn": arn, "code": code}


def test_code_sha256_is_base64_of_the_digest():
    assert functions.code_sha256(b"abc") == base64.b64encode(hashlib.sha256(b"abc").digest()).decode()


def test_find_function_reads_the_deployed_configuration(deployed):
    spec = functions.find_function(deployed["arn"])
    assert spec.name == "fn" and spec.handler == "index.handler" and spec.timeout == 7.0
    assert dict(spec.environment) == {"MODEL_PATH": "a/model.tar.gz"}
    assert spec.code_bucket == BUCKET and spec.code_key == "fn.zip"
    assert spec.code_sha256 == functions.code_sha256(deployed["code"])
    assert functions.find_function(deployed["arn"].replace(":fn", ":nope")) is None
    assert functions.find_function("not-an-arn") is None


def test_configuration_change_changes_the_fingerprint(deployed):
    before = functions.find_function(deployed["arn"])
    assert functions.find_function(deployed["arn"]) is before  # cached while nothing changed
    deployed["lam"].update_function_configuration(FunctionName="fn",
                                                  Environment={"Variables": {"MODEL_PATH": "b/model.tar.gz"}})
    after = functions.find_function(deployed["arn"])
    assert dict(after.environment) == {"MODEL_PATH": "b/model.tar.gz"}
    assert after.fingerprint != before.fingerprint


def test_fetch_code_from_s3_verified(deployed):
    spec = functions.find_function(deployed["arn"])
    assert functions.fetch_code(spec) == deployed["code"]


def test_overwritten_s3_object_falls_back_to_the_functions_snapshot(deployed):
    deployed["s3"].put_object(Bucket=BUCKET, Key="fn.zip", Body=b"something else")
    spec = functions.find_function(deployed["arn"])
    assert functions.fetch_code(spec) == deployed["code"]


def test_code_matching_nothing_is_a_clear_error(deployed):
    spec = functions.find_function(deployed["arn"])
    bogus = LambdaFunction(**{**spec.__dict__, "code_sha256": "AAAA"})
    with pytest.raises(LocalTargetError, match="matching its CodeSha256 AAAA.*wildrydes deploy"):
        functions.fetch_code(bogus)


def test_extract_zip(tmp_path):
    functions.extract_zip(zip_of({"index.py": "x = 1\n", "pkg/mod.py": ""}), tmp_path)
    assert (tmp_path / "index.py").read_text() == "x = 1\n" and (tmp_path / "pkg" / "mod.py").exists()


@pytest.mark.parametrize("name", ["../evil.py", "/abs.py", "a/../../evil.py", "a\\..\\evil.py"])
def test_extract_zip_refuses_escaping_paths(tmp_path, name):
    with pytest.raises(LocalTargetError, match="escapes the task root"):
        functions.extract_zip(zip_of({name: "x"}), tmp_path / "task")
    assert not (tmp_path / "evil.py").exists()


def test_extract_zip_refuses_symlinks(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    with pytest.raises(LocalTargetError, match="symbolic link"):
        functions.extract_zip(buf.getvalue(), tmp_path)
