"""The deployed function's tests: its modules on ``sys.path`` (as at the zip's root) and a moto bucket."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The deployed function's modules (index, models, config, ...) are top-level
# modules at the root of the Lambda zip, with generic names: only the folders
# whose tests need them (tests/function, tests/training) put lambda/ on sys.path.
LAMBDA_DIR = str(Path(__file__).resolve().parents[2] / "lambda")
if LAMBDA_DIR not in sys.path:
    sys.path.insert(0, LAMBDA_DIR)


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
