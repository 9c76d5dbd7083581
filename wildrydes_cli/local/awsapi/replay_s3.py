"""Replay a journaled plain S3 PutObject straight into moto's S3 backend.

Why: a user with 1,000 breed models has ~2,000 PutObject records, and each
costs ~1 ms through moto's WSGI stack (Flask request, header parsing, response
rendering), which alone would break the 2 s start-to-ready budget. Doing what
moto's ``S3Response.put_object`` does for the request shapes boto3 sends for
``put_object`` (path-style, body as is, optional Content-Type, checksum and
x-amz-meta-* headers) costs a few tens of microseconds.

Only that narrow shape is taken; anything else (a query string, copy source,
ACL/tagging/lock/SSE headers, streaming or chunked bodies, a bucket with
logging or object lock) returns False and goes through moto's WSGI app as
usual. ``tests/local/awsapi/test_persist.py`` holds both paths equal on what a
client can see (bytes, ETag, metadata, content type, checksum).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

from wildrydes_cli.local.awsapi import moto_backends

LOG = logging.getLogger(__name__)

_PLAIN_HEADERS = frozenset({"host", "accept-encoding", "content-type", "content-md5", "x-amz-date",
                            "x-amz-content-sha256", "authorization", "x-amz-sdk-checksum-algorithm"})
_CHECKSUM = re.compile(r"^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$")
_META = re.compile(r"^x-amz-meta-[a-z0-9\-.]+$")
_SCOPE = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_PATH_STYLE_HOST = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$")


def _plain_headers(headers: list[list[str]]) -> dict[str, str] | None:
    """Headers title-cased as werkzeug presents them to moto, or None when the shape is not plain."""
    out: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered not in _PLAIN_HEADERS and not _CHECKSUM.match(lowered) and not _META.match(lowered):
            return None
        if lowered in out or name.title() in out:
            return None
        out[name.title()] = value
    sha = out.get("X-Amz-Content-Sha256", "")
    if sha.startswith("STREAMING") or sha.endswith("TRAILER"):
        return None
    return out


class PlainPut(NamedTuple):
    """A PutObject of the plain shape: whose credential scope, where, and its headers as moto sees them."""

    access_key: str
    region: str
    bucket: str
    key: str
    headers: dict[str, str]


def plain_put(meta: dict) -> PlainPut | None:
    """A journaled (or journal-shaped) PutObject of the plain shape, else None."""
    target = meta.get("target", "")
    if meta.get("method") != "PUT" or "?" in target or "#" in target:
        return None
    headers = _plain_headers(meta.get("headers", []))
    if headers is None or not _PATH_STYLE_HOST.match(headers.get("Host", "")):
        return None
    scope = _SCOPE.search(headers.get("Authorization", ""))
    if scope is None or scope.group(3) != "s3":
        return None
    bucket_name, _, key_name = unquote(target).lstrip("/").partition("/")
    if not bucket_name or not key_name:
        return None
    return PlainPut(scope.group(1), scope.group(2), bucket_name, key_name, headers)


def put_object(meta: dict, body: bytes, blob: Path | None = None) -> bool:
    """Apply a journaled PutObject to the backend; False when the fast path does not apply.

    ``blob``: the journal's file of this body, which then holds the object's bytes (``remember_blob``)."""
    plain = plain_put(meta)
    if plain is None:
        return False
    algorithm = plain.headers.get("X-Amz-Sdk-Checksum-Algorithm", "")
    checksum = plain.headers.get(f"X-Amz-Checksum-{algorithm.title()}") if algorithm else None
    if algorithm and not checksum:
        return False  # moto computes it from the body: leave that to moto
    if blob is None:
        return moto_backends.put_s3_object(plain.access_key, plain.region, plain.bucket, plain.key, body,
                                           plain.headers, algorithm or None, checksum)
    with moto_backends.large_put(plain.key, len(body)) as put:   # moto's object reads its bytes from the blob
        if not moto_backends.put_s3_object(plain.access_key, plain.region, plain.bucket, plain.key, body,
                                           plain.headers, algorithm or None, checksum):
            return False
        remember_blob(plain, blob, len(body))
        put.keep_in(blob)
    return True


def remember_blob(plain: PlainPut, blob: Path, size: int) -> bool:
    """After a plain PutObject (live or replayed) whose body the journal keeps as ``blob``: tell the S3
    adapter that file holds the object's bytes (a training job's Downloading links it, see
    ``moto_backends.copy_s3_object``). The body of the plain shape is the object as is (no aws-chunked
    framing); the adapter also checks the sizes agree."""
    return moto_backends.remember_object_file(plain.access_key, plain.region, plain.bucket, plain.key, blob, size)
