"""What one journaled S3 request does to objects, for ``compact.py``: a pure classification.

Why apart: the shapes of S3 requests (path-style bucket and key, sub-resources
in the query, copy sources, multipart upload ids, DeleteObjects bodies) are a
parsing job of their own; ``compact.py`` only reasons about their effects.
Anything not recognised here is ``bucket_bad``/``object_bad`` (its bucket is
then left alone) or None (S3 compaction stops): unknown means kept.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

# Bucket settings that do not touch objects (versioning, object lock, logging, notifications do).
SAFE_BUCKET_SETTINGS = frozenset({"tagging", "policy", "cors", "publicAccessBlock", "ownershipControls", "acl"})
_PATH_STYLE_HOST = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$", re.IGNORECASE)
MAX_DELETE_BODY = 4 << 20


@dataclass
class S3Op:
    """One S3 request, classified."""

    kind: str                       # put, copy, delete, modify, mp_create, mp_part, mp_complete, mp_abort,
                                    # delete_many, bucket_ok, bucket_create, bucket_bad, object_bad
    bucket: str
    key: str = ""
    upload_id: str = ""
    source: tuple[str, str] | None = None   # a copy's source (bucket, key)
    reads_itself: bool = False      # a conditional request (If-Match, ...): it looks at the object it replaces
    source_unknown: bool = False
    keys: list[str] = field(default_factory=list)
    tags_key: bool = False          # may leave tags under the key's name (moto keeps them past a delete)


def headers_of(meta: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in meta.get("headers") or []:
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            out[str(pair[0]).lower()] = str(pair[1])
    return out


def partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _copy_source(value: str) -> tuple[str, str] | None:
    path = value.partition("?")[0]
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key or bucket.startswith("arn:"):
        return None
    return bucket, key


def _delete_keys(body: bytes) -> list[str] | None:
    """The keys of a DeleteObjects body, or None when it is not that (or names a version)."""
    if len(body) > MAX_DELETE_BODY or b"<!" in body:   # no DTDs or entities
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    keys = []
    for obj in root:
        if not obj.tag.endswith("Object"):
            continue
        children = list(obj)
        if len(children) != 1 or not children[0].tag.endswith("Key"):
            return None   # a VersionId or an ETag condition: not a plain delete
        keys.append(children[0].text or "")
    return keys


def classify(meta: dict, headers: dict[str, str], body: bytes) -> S3Op | None:
    """None when the bucket cannot be told (which stops S3 compaction altogether)."""
    if not _PATH_STYLE_HOST.match(headers.get("host", "")):
        return None
    target = str(meta.get("target", ""))
    path, _, query = target.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or "#" in target:
        return None
    params = parse_qs(query, keep_blank_values=True)
    params.pop("x-id", None)
    method = meta.get("method")
    if not key:
        if not params and method == "PUT":
            locked = headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true"
            return S3Op("bucket_bad" if locked else "bucket_create", bucket)
        if not params and method == "DELETE":
            return S3Op("bucket_ok", bucket)
        if method == "POST" and set(params) == {"delete"}:
            keys = _delete_keys(body)
            return S3Op("bucket_bad", bucket) if keys is None else S3Op("delete_many", bucket, keys=keys)
        if set(params) <= SAFE_BUCKET_SETTINGS and len(params) == 1 and method in ("PUT", "DELETE"):
            return S3Op("bucket_ok", bucket)
        return S3Op("bucket_bad", bucket)
    op = _classify_object(meta, headers, bucket, key, params)
    op.reads_itself = any(name.startswith("if-") or name == "x-amz-write-offset-bytes" for name in headers)
    op.tags_key = op.kind == "copy" or (op.kind == "modify" and "tagging" in params) or \
        bool(headers.get("x-amz-tagging"))
    return op


def _classify_object(meta: dict, headers: dict[str, str], bucket: str, key: str,
                     params: dict[str, list[str]]) -> S3Op:
    method = meta.get("method")
    source = headers.get("x-amz-copy-source")
    parsed = _copy_source(source) if source else None
    names = set(params)
    if method == "PUT" and not names:
        if source:
            return S3Op("copy", bucket, key, source=parsed, source_unknown=parsed is None)
        return S3Op("put", bucket, key)
    if method == "DELETE" and not names:
        return S3Op("delete", bucket, key)
    if names in ({"tagging"}, {"acl"}) and method in ("PUT", "DELETE") and not source:
        return S3Op("modify", bucket, key) if (method == "PUT" or names == {"tagging"}) else S3Op("object_bad", bucket)
    upload_id = (params.get("uploadId") or [""])[0]
    if method == "POST" and names == {"uploads"}:
        created = str(meta.get("upload_id") or "")
        return S3Op("mp_create", bucket, key, upload_id=created) if created else S3Op("object_bad", bucket)
    if upload_id and method == "PUT" and names == {"uploadId", "partNumber"}:
        return S3Op("mp_part", bucket, key, upload_id=upload_id, source=parsed,
                   source_unknown=bool(source) and parsed is None)
    if upload_id and method == "POST" and names == {"uploadId"}:
        return S3Op("mp_complete", bucket, key, upload_id=upload_id)
    if upload_id and method == "DELETE" and names == {"uploadId"}:
        return S3Op("mp_abort", bucket, key, upload_id=upload_id)
    return S3Op("object_bad", bucket)
