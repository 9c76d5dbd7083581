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


@pytest.fixture(scope="session")
def moto_s3_url():
    """moto in server mode on a free loopback port, for the whole session (reset per test).

    The function reads S3 over real HTTP with its own signed GETs (lambda/s3get.py),
    which moto's in-process mock cannot intercept; its server can answer them."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def function_bucket(monkeypatch, moto_s3_url):
    """A moto S3 bucket named in OUTPUT_BUCKET, and a fresh model store in the handler module.

    The function reaches it through AWS_ENDPOINT_URL_S3, as the local target's runner
    passes AWS_ENDPOINT_URL; the yielded boto3 client seeds it."""
    import urllib.request

    import boto3

    import index
    from lambda_helpers import BUCKET

    urllib.request.urlopen(urllib.request.Request(f"{moto_s3_url}/moto-api/reset", method="POST"), timeout=10)
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_s3_url)
    client.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3_url)
    monkeypatch.setenv("OUTPUT_BUCKET", BUCKET)
    monkeypatch.setenv("MODEL_RETRY_SECONDS", "0")
    monkeypatch.setattr(index, "_store", None)
    yield client
    close = getattr(getattr(index._store, "s3", None), "close", None)
    if close is not None:
        close()
    index._store = None
