"""Which IAM actions, resources and condition keys an S3 request needs (a pure classification).

Why apart: the local target checks the S3 calls a function makes with its
role's credentials (``role_calls.py``), and that needs S3's own mapping of a
REST request to IAM (S3's "Actions, resources, and condition keys" and "API
operations" tables): a GET of a key is ``s3:GetObject`` on the object's ARN, a
GET of the bucket is ``s3:ListBucket`` on the bucket's ARN with ``s3:prefix``,
``s3:delimiter`` and ``s3:max-keys``, a HEAD of the bucket is ``s3:ListBucket``
too, a copy needs ``s3:GetObject`` on its source as well as ``s3:PutObject``...
Only list requests carry ``s3:prefix``: a GetObject has none, which is why a
prefix condition never grants one.

Anything not recognised (an unknown sub-resource, virtual-hosted addressing,
a malformed DeleteObjects body) is ``Unclassified``: the caller refuses it
rather than guess which permission it needs.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

MAX_DELETE_BODY = 2 << 20
_PATH_STYLE_HOST = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|localhost|\[[0-9a-fA-F:.]+\]|[^.:\[\]]+)(:\d+)?$",
                              re.IGNORECASE)

# Query parameters that are arguments, not sub-resources (they never change the action).
_ARGUMENTS = frozenset({
    "prefix", "delimiter", "max-keys", "list-type", "continuation-token", "start-after", "encoding-type",
    "fetch-owner", "marker", "key-marker", "version-id-marker", "upload-id-marker", "max-uploads",
    "part-number-marker", "max-parts", "partNumber", "versionId", "x-id", "response-content-type",
    "response-content-language", "response-expires", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "allow-unordered"})

# (method, sub-resource) -> action, on the bucket
_BUCKET = {
    ("GET", ""): "s3:ListBucket", ("HEAD", ""): "s3:ListBucket", ("GET", "versions"): "s3:ListBucketVersions",
    ("GET", "uploads"): "s3:ListBucketMultipartUploads", ("GET", "location"): "s3:GetBucketLocation",
    ("PUT", ""): "s3:CreateBucket", ("DELETE", ""): "s3:DeleteBucket",
    ("GET", "acl"): "s3:GetBucketAcl", ("PUT", "acl"): "s3:PutBucketAcl",
    ("GET", "policy"): "s3:GetBucketPolicy", ("PUT", "policy"): "s3:PutBucketPolicy",
    ("DELETE", "policy"): "s3:DeleteBucketPolicy", ("GET", "policyStatus"): "s3:GetBucketPolicyStatus",
    ("GET", "versioning"): "s3:GetBucketVersioning", ("PUT", "versioning"): "s3:PutBucketVersioning",
    ("GET", "tagging"): "s3:GetBucketTagging", ("PUT", "tagging"): "s3:PutBucketTagging",
    ("DELETE", "tagging"): "s3:PutBucketTagging",
    ("GET", "encryption"): "s3:GetEncryptionConfiguration", ("PUT", "encryption"): "s3:PutEncryptionConfiguration",
    ("DELETE", "encryption"): "s3:PutEncryptionConfiguration",
    ("GET", "cors"): "s3:GetBucketCORS", ("PUT", "cors"): "s3:PutBucketCORS", ("DELETE", "cors"): "s3:PutBucketCORS",
    ("GET", "lifecycle"): "s3:GetLifecycleConfiguration", ("PUT", "lifecycle"): "s3:PutLifecycleConfiguration",
    ("DELETE", "lifecycle"): "s3:PutLifecycleConfiguration",
    ("GET", "website"): "s3:GetBucketWebsite", ("PUT", "website"): "s3:PutBucketWebsite",
    ("DELETE", "website"): "s3:DeleteBucketWebsite",
    ("GET", "logging"): "s3:GetBucketLogging", ("PUT", "logging"): "s3:PutBucketLogging",
    ("GET", "notification"): "s3:GetBucketNotification", ("PUT", "notification"): "s3:PutBucketNotification",
    ("GET", "publicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("PUT", "publicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("DELETE", "publicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("GET", "ownershipControls"): "s3:GetBucketOwnershipControls",
    ("PUT", "ownershipControls"): "s3:PutBucketOwnershipControls",
    ("DELETE", "ownershipControls"): "s3:PutBucketOwnershipControls",
    ("GET", "object-lock"): "s3:GetBucketObjectLockConfiguration",
    ("PUT", "object-lock"): "s3:PutBucketObjectLockConfiguration",
}
# (method, sub-resource) -> action, on an object; "V" marks the action taking a Version form with ?versionId
_OBJECT = {
    ("GET", ""): "s3:GetObject V", ("HEAD", ""): "s3:GetObject V", ("PUT", ""): "s3:PutObject",
    ("DELETE", ""): "s3:DeleteObject V", ("GET", "acl"): "s3:GetObjectAcl V", ("PUT", "acl"): "s3:PutObjectAcl V",
    ("GET", "tagging"): "s3:GetObjectTagging V", ("PUT", "tagging"): "s3:PutObjectTagging V",
    ("DELETE", "tagging"): "s3:DeleteObjectTagging V", ("GET", "attributes"): "s3:GetObjectAttributes V",
    ("GET", "retention"): "s3:GetObjectRetention", ("PUT", "retention"): "s3:PutObjectRetention",
    ("GET", "legal-hold"): "s3:GetObjectLegalHold", ("PUT", "legal-hold"): "s3:PutObjectLegalHold",
    ("POST", "uploads"): "s3:PutObject", ("PUT", "uploadId"): "s3:PutObject", ("POST", "uploadId"): "s3:PutObject",
    ("DELETE", "uploadId"): "s3:AbortMultipartUpload", ("GET", "uploadId"): "s3:ListMultipartUploadParts",
    ("POST", "restore"): "s3:RestoreObject", ("POST", "select"): "s3:GetObject",
}


class Unclassified(Exception):
    """This S3 request is not one the local target knows the IAM action of."""


@dataclass(frozen=True)
class S3Call:
    """The permissions one S3 request needs, all of them."""

    bucket: str
    bucket_arn: str
    key: str | None
    checks: tuple[tuple[str, str], ...]      # (IAM action, resource ARN)
    keys: dict[str, tuple[str, ...]]         # S3 condition keys of the request (lower-cased names)
    missing_key_is_403: bool = False         # GetObject/HeadObject: without s3:ListBucket S3 hides a missing key


def partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def classify(method: str, path: str, query: str, headers: dict[str, str], body: bytes, region: str) -> S3Call:
    """The IAM checks of a path-style S3 request (``headers`` lower-cased names); ``Unclassified`` otherwise."""
    host = headers.get("host", "")
    if host and not _PATH_STYLE_HOST.match(host):
        raise Unclassified(f"virtual-hosted addressing ({host[:80]}): the local target checks path-style requests "
                           "only (http://127.0.0.1:PORT/BUCKET/KEY)")
    arn = f"arn:{partition(region)}:s3:::"
    bucket, _, raw_key = path.lstrip("/").partition("/")
    bucket = unquote(bucket)
    params = parse_qsl(query, keep_blank_values=True)
    names = {unquote(name) for name, _ in params}
    values = {unquote(name): value for name, value in params}
    sub = _sub_resource(names)
    if not bucket:
        if method == "GET" and not sub:
            return S3Call("", "", None, (("s3:ListAllMyBuckets", "*"),), {})
        raise Unclassified(f"{method} / with {sub or 'no sub-resource'}")
    if not raw_key:
        return _bucket_call(method, sub, bucket, arn + bucket, values, body)
    key = unquote(raw_key)
    found = _OBJECT.get((method, sub))
    if found is None:
        raise Unclassified(f"{method} of an object with ?{sub or '(none)'}")
    action, _, versioned = found.partition(" ")
    if versioned and "versionId" in values:
        action += "Version"
    object_arn = f"{arn}{bucket}/{key}"
    checks = [(action, object_arn)]
    keys: dict[str, tuple[str, ...]] = {}
    if "versionId" in values:
        keys["s3:versionid"] = (unquote(values["versionId"]),)
    source = headers.get("x-amz-copy-source")
    if source and method == "PUT" and sub in ("", "uploadId"):
        checks.insert(0, _copy_source(source, arn))
    if method == "PUT" and not sub:
        if "x-amz-tagging" in headers:
            checks.append(("s3:PutObjectTagging", object_arn))
        if "x-amz-acl" in headers or any(h.startswith("x-amz-grant-") for h in headers):
            checks.append(("s3:PutObjectAcl", object_arn))
    return S3Call(bucket, arn + bucket, key, tuple(checks), keys, missing_key_is_403=(method in ("GET", "HEAD") and not sub))


def _sub_resource(names: set[str]) -> str:
    subs = sorted(n for n in names if n not in _ARGUMENTS and not n.lower().startswith("x-amz-"))
    if len(subs) > 1:
        raise Unclassified(f"more than one sub-resource ({', '.join(s[:30] for s in subs[:4])})")
    return subs[0] if subs else ""


def _bucket_call(method: str, sub: str, bucket: str, bucket_arn: str, values: dict[str, str],
                 body: bytes) -> S3Call:
    if method == "POST" and sub == "delete":
        checks = tuple(("s3:DeleteObjectVersion" if version else "s3:DeleteObject", f"{bucket_arn}/{key}")
                       for key, version in _delete_keys(body))
        return S3Call(bucket, bucket_arn, None, checks or (("s3:DeleteObject", f"{bucket_arn}/*"),), {})
    action = _BUCKET.get((method, sub))
    if action is None:
        raise Unclassified(f"{method} of a bucket with ?{sub or '(none)'}")
    keys: dict[str, tuple[str, ...]] = {}
    if action in ("s3:ListBucket", "s3:ListBucketVersions") and method == "GET":
        for name, key in (("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys")):
            if name in values:
                keys[key] = (unquote(values[name]),)
    return S3Call(bucket, bucket_arn, None, ((action, bucket_arn),), keys)


def _copy_source(value: str, arn: str) -> tuple[str, str]:
    path, _, query = value.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key or bucket.startswith("arn:"):
        raise Unclassified(f"copy source {value[:80]!r} (only bucket/key sources are checked)")
    action = "s3:GetObjectVersion" if "versionId=" in query else "s3:GetObject"
    return action, f"{arn}{bucket}/{key}"


def _delete_keys(body: bytes) -> list[tuple[str, bool]]:
    """(key, names a version) for each object of a DeleteObjects body."""
    if len(body) > MAX_DELETE_BODY or b"<!" in body:   # no DTDs or entities
        raise Unclassified("a DeleteObjects body that is too large or declares a DTD")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise Unclassified(f"a DeleteObjects body that is not XML ({exc})") from None
    out = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "Object":
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in element}
        if "Key" not in fields:
            raise Unclassified("a DeleteObjects entry without a Key")
        out.append((fields["Key"], "VersionId" in fields))
    return out
