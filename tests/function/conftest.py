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
