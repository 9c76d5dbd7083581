"""S3's integrity headers checked against the body, as S3 checks them: ``Content-MD5`` and ``x-amz-checksum-*``.

Why: moto keeps whatever checksum a client declares without computing it (its own TODO in
``S3Response._get_checksum``) and never reads ``Content-MD5``. So a body damaged on its way was
acknowledged, journaled and served back, with the client's checksum beside it. S3 refuses such a
request with a 400 (Amazon S3 API Reference, "Error responses"; PutObject and UploadPart,
"Content-MD5" and "x-amz-checksum-*"):

- ``Content-MD5`` that is not the base64 of 16 bytes: ``InvalidDigest``;
- ``Content-MD5`` that is not the body's MD5: ``BadDigest``;
- ``x-amz-checksum-<algorithm>`` that is not the base64 of that algorithm's digest: ``InvalidRequest``;
- a checksum that is not the body's: ``BadDigest``.

CRC32, SHA-1 and SHA-256 are computed with the standard library. CRC32C and CRC64NVME need
awscrt, as botocore does, and awscrt is not a dependency: without it those two are kept as
declared, as before. The check runs before the journal and moto, so a refused body leaves
nothing. It runs in the request's thread, outside the journal's lock. A body that declares a
valid ``Content-MD5`` is not hashed twice: ``declared_md5`` gives the large-PutObject ETag
(``persist.py``) the value checked here.

Not checked:
- a body sent ``aws-chunked`` (``x-amz-content-sha256: STREAMING-...``), whose checksum is in
  a trailer;
- CompleteMultipartUpload, whose ``x-amz-checksum-*`` is the whole object's, not its XML
  body's;
- CopyObject, which has no body;
- a presigned URL that carries ``x-amz-checksum-*`` in its query string, not in a header.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from urllib.parse import parse_qs

from wildrydes_cli.local.awsapi import aws_errors
from wildrydes_cli.local.http import HttpRequest, HttpResponse

MD5_BYTES = 16


def _crc32(body: bytes) -> bytes:
    return zlib.crc32(body).to_bytes(4, "big")


def _crt(name: str) -> Callable[[bytes], bytes] | None:
    """awscrt's CRC32C / CRC64NVME when awscrt is installed (as botocore uses it), else None."""
    try:
        from awscrt import checksums  # type: ignore[import-not-found]
    except ImportError:
        return None
    function, size = {"crc32c": (checksums.crc32c, 4), "crc64nvme": (checksums.crc64nvme, 8)}[name]
    return lambda body: function(body).to_bytes(size, "big")


# x-amz-checksum-<name>: (the name S3's messages use, the digest's size, how to compute it or None)
ALGORITHMS: dict[str, tuple[str, int, Callable[[bytes], bytes] | None]] = {
    "crc32": ("CRC32", 4, _crc32),
    "crc32c": ("CRC32C", 4, _crt("crc32c")),
    "crc64nvme": ("CRC64NVME", 8, _crt("crc64nvme")),
    "sha1": ("SHA1", 20, lambda body: hashlib.sha1(body, usedforsecurity=False).digest()),
    "sha256": ("SHA256", 32, lambda body: hashlib.sha256(body).digest()),
}


def _decoded(value: str, size: int) -> bytes | None:
    """The bytes of a base64 header value of exactly ``size`` bytes, else None."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def _checked(request: HttpRequest) -> bool:
    """Whether the request's body is the bytes its integrity headers describe (see the module's docstring)."""
    if aws_errors.service_of(request) != "s3" or request.method not in ("PUT", "POST"):
        return False
    if (request.header("x-amz-content-sha256") or "").upper().startswith("STREAMING-"):
        return False
    if request.header("x-amz-copy-source") is not None:
        return False
    return not (request.method == "POST" and "uploadId" in parse_qs(request.query, keep_blank_values=True))


def _refused(request: HttpRequest, status_code: str, message: str) -> HttpResponse:
    return aws_errors.error_response(request, "s3", 400, (status_code,) * 3, message)


def refusal(request: HttpRequest) -> HttpResponse | None:
    """S3's 400 when the request's Content-MD5 or x-amz-checksum-* header is malformed or not its body's;
    None when they hold (or the request has none, or is not one whose body they describe)."""
    names = [name.lower() for name, _ in request.headers]
    if "content-md5" not in names and not any(name.startswith("x-amz-checksum-") for name in names):
        return None
    if not _checked(request):
        return None
    declared = request.header("content-md5")
    if declared is not None:
        digest = _decoded(declared, MD5_BYTES)
        if digest is None:
            return _refused(request, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        if hashlib.md5(request.body, usedforsecurity=False).digest() != digest:
            return _refused(request, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    for name in dict.fromkeys(n for n in names if n.startswith("x-amz-checksum-")):
        algorithm = ALGORITHMS.get(name[len("x-amz-checksum-"):])
        if algorithm is None:      # x-amz-checksum-mode, -type, -algorithm: not a value of the body
            continue
        label, size, compute = algorithm
        value = _decoded(request.header(name) or "", size)
        if value is None:
            return _refused(request, "InvalidRequest", f"Value for {name} header is invalid.")
        if compute is not None and compute(request.body) != value:
            return _refused(request, "BadDigest", f"The {label} you specified did not match the calculated checksum.")
    return None


def declared_md5(request: HttpRequest) -> str | None:
    """The body's MD5 (hex) from a well-formed Content-MD5 header, for a request ``refusal`` let through
    (it checked the value against the body), else None."""
    declared = request.header("content-md5")
    digest = _decoded(declared, MD5_BYTES) if declared is not None else None
    return digest.hex() if digest is not None and _checked(request) else None
