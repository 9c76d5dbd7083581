"""moto's WSGI app in process (wsgi.py): a request's body is freed when its answer is read.

The daemon collects cyclic garbage rarely (server.py sets high thresholds), so a
body left in a reference cycle stayed resident: 300 overwrites of a 1 MB object
grew the daemon by ~600 MB. Measured here with the collector off, as the worst case.
"""
from __future__ import annotations

import gc
import os
import tracemalloc

import pytest

from wildrydes_cli.local.awsapi import wsgi
from wildrydes_cli.local.http import HttpRequest

AUTH = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/s3/aws4_request, " \
       "SignedHeaders=host, Signature=00"
MB = 1024 * 1024


def call(method: str, target: str, body: bytes = b"") -> int:
    headers = [("Host", "127.0.0.1:4566"), ("Authorization", AUTH), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]
    return wsgi.call_moto(HttpRequest(method, target, "HTTP/1.1", headers, body), 4566).status


@pytest.fixture
def moto_reset():
    def reset():
        assert wsgi.call_moto(HttpRequest("POST", "/moto-api/reset", "HTTP/1.1", [("Host", "127.0.0.1")]), 0).status == 200

    reset()
    yield
    reset()


def test_an_upload_leaves_no_copy_of_its_body_behind(moto_reset):
    assert call("PUT", "/soak-bucket") == 200
    assert call("PUT", "/soak-bucket/k", os.urandom(MB)) == 200   # moto's one-time costs paid
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(8):
            assert call("PUT", "/soak-bucket/k", os.urandom(MB)) == 200
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
    # the object itself (1 MB, replaced each time) and small change; each kept body would add 1 MB or more
    assert grown < 2 * MB, f"{grown / MB:.1f} MB kept after 8 uploads of 1 MB"


def test_the_answer_is_unchanged(moto_reset):
    assert call("PUT", "/soak-bucket") == 200
    assert call("PUT", "/soak-bucket/k", b"body") == 200
    headers = [("Host", "127.0.0.1:4566"), ("Authorization", AUTH)]
    got = wsgi.call_moto(HttpRequest("GET", "/soak-bucket/k", "HTTP/1.1", headers), 4566)
    assert (got.status, got.body) == (200, b"body")
