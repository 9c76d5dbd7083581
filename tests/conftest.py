"""Shared fixtures. The autouse ``aws_safety`` fixture guarantees that no test can
reach a real AWS account: dummy credentials, no profile, no config files, no
stray endpoint overrides, and a private wildrydes state directory."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "lambda"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAGEMAKER_REGRESSOR = FIXTURES / "sagemaker-linear-learner-regressor" / "model.tar.gz"

# The deployed function's modules (index, artifact, engines, formats) are
# top-level modules at the root of the Lambda zip; tests import them the same way.
if str(LAMBDA_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_DIR))


@pytest.fixture(autouse=True)
def aws_safety(monkeypatch, tmp_path_factory):
    """Dummy credentials and a private state dir for every test."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_PROFILE", "")
    monkeypatch.delenv("AWS_PROFILE")
    blank = tmp_path_factory.mktemp("aws-config")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(blank / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(blank / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path_factory.mktemp("wildrydes-home")))
    monkeypatch.delenv("WILDRYDES_TARGET", raising=False)
    yield


@pytest.fixture
def sagemaker_regressor_bytes() -> bytes:
    """The real SageMaker linear-learner artifact (regressor, 513 features)."""
    return SAGEMAKER_REGRESSOR.read_bytes()


@pytest.fixture
def function_bucket(monkeypatch):
    """A moto S3 bucket named in OUTPUT_BUCKET, and a fresh model store in the handler module."""
    import boto3
    from moto import mock_aws

    import index
    from lambda_helpers import BUCKET

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("OUTPUT_BUCKET", BUCKET)
        monkeypatch.setenv("MODEL_RETRY_SECONDS", "0")
        monkeypatch.setattr(index, "_store", None)
        yield client
        index._store = None
