"""S3 multipart uploads across a restart: the same upload id, and ``NoSuchUpload`` for one that is not.

Why: moto draws a multipart upload's id from ``os.urandom`` (not from the seeded
source every other id comes from, see ``persist.py``), so a replay at start made
the upload again under a new id, and a client that went on uploading parts with
the id it was given got a 500 (moto looks the id up without a check) four times
over, as SDKs retry a 500. Now the replay gives the upload back its journaled id
(``keep_id``: the record of a CreateMultipartUpload keeps the id moto answered),
and a request naming an upload that does not exist (aborted, completed, or never
made) is answered 404 ``NoSuchUpload`` as S3 does, before moto sees it.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote

from wildrydes_cli.local.awsapi import aws_errors, moto_backends
from wildrydes_cli.local.http import HttpRequest, HttpResponse

UPLOAD_ID = re.compile(rb"<UploadId>([^<]+)</UploadId>")
_SCOPE = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request$")


def created_upload_id(request: HttpRequest, body: bytes) -> str | None:
    """The id moto gave a CreateMultipartUpload (``POST /bucket/key?uploads``), else None."""
    if request.method != "POST" or "uploads" not in parse_qs(request.query, keep_blank_values=True):
        return None
    match = UPLOAD_ID.search(body)
    return match.group(1).decode() if match else None


def _scope(request: HttpRequest) -> tuple[str, str] | None:
    """(access key id, region) of an S3 request, from its Authorization header or presigned query."""
    match = _SCOPE.search(request.header("authorization") or "")
    if match is not None:
        return (match.group(1), match.group(2)) if match.group(3) == "s3" else None
    credential = parse_qs(request.query).get("X-Amz-Credential")
    found = _QUERY_SCOPE.match(credential[0]) if credential else None
    return (found.group(1), found.group(2)) if found and found.group(3) == "s3" else None


def missing_upload(request: HttpRequest) -> HttpResponse | None:
    """404 NoSuchUpload for an S3 request naming an upload id the bucket does not hold; else None."""
    values = parse_qs(request.query, keep_blank_values=True).get("uploadId")
    scope = _scope(request) if values else None
    if not values or scope is None:
        return None
    bucket = unquote(request.path).lstrip("/").split("/", 1)[0]
    if not bucket or moto_backends.s3_upload_exists(scope[0], scope[1], bucket, values[0]) is not False:
        return None     # no such bucket (moto says so itself), or the upload is there
    return aws_errors.error_response(
        request, "s3", 404, ("NoSuchUpload",) * 3,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.", {"UploadId": values[0][:256]})


def keep_id(meta: dict, body: bytes) -> str | None:
    """After replaying a CreateMultipartUpload: give moto's new upload the journaled id.

    Returns the new id when it could not (the caller then maps the journaled id to it in
    the later records), None when the upload has its journaled id again.
    """
    journaled = meta.get("upload_id")
    match = UPLOAD_ID.search(body)
    if not journaled or match is None:
        return None
    new = match.group(1).decode()
    headers = {name.lower(): value for name, value in meta.get("headers", [])}
    scope = _SCOPE.search(headers.get("authorization", ""))
    bucket = unquote(str(meta.get("target", "")).split("?", 1)[0]).lstrip("/").split("/", 1)[0]
    if new == journaled or (scope and moto_backends.rename_s3_upload(scope.group(1), scope.group(2), bucket,
                                                                     new, journaled)):
        return None
    return new
