"""The AWS wrapper's S3 intents (``Aws`` inherits them): objects, keys, the newest model, encryption, emptying.

Why apart from client.py: the data bucket is where models, cards and history live, and
S3 has answers of its own to read right: DeleteObjects answers 200 with per-key errors,
HeadBucket carries the bucket's region, and a bucket's default encryption names the KMS
key whose policy decides whether the function may read a model.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import ClientError

from wildrydes_cli import layout
from wildrydes_cli.aws.boto_errors import code_of
from wildrydes_cli.errors import WildrydesError

LOG = logging.getLogger(__name__)


class BucketIntents:
    """Mixed into ``Aws``: ``client``, ``translate``, ``_exists`` come from there."""

    client: Any
    translate: Any
    _exists: Any

    def bucket_exists(self, bucket: str) -> bool:
        return self._exists(f"reach bucket {bucket}", lambda: self.client("s3").head_bucket(Bucket=bucket))

    def object_exists(self, bucket: str, key: str) -> bool:
        return self._exists(f"read s3://{bucket}/{key}",
                            lambda: self.client("s3").head_object(Bucket=bucket, Key=key))

    def list_keys(self, bucket: str, prefix: str = "") -> list[dict]:
        """Every object (Key, LastModified, Size) under ``prefix``."""
        items: list[dict] = []
        with self.translate(f"list s3://{bucket}/{prefix}"):
            for page in self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                items.extend(page.get("Contents", []))
        return items

    def list_prefixes(self, bucket: str, prefix: str) -> list[str]:
        """The "folders" directly under ``prefix`` (each ending in /), as S3's delimiter lists them."""
        found: list[str] = []
        with self.translate(f"list s3://{bucket}/{prefix}"):
            pages = self.client("s3").get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter="/")
            for page in pages:
                found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        return found

    def read_json(self, bucket: str, key: str) -> Any:
        """The decoded JSON object at ``key``; NotFoundError when it is missing, ValueError when not JSON."""
        with self.translate(f"read s3://{bucket}/{key}"):
            body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)

    def read_object(self, bucket: str, key: str, limit: int) -> tuple[int, bytes | None]:
        """(size, bytes) of an object; the bytes are None when it is over ``limit`` (not downloaded)."""
        s3 = self.client("s3")
        with self.translate(f"read s3://{bucket}/{key}"):
            size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
            if size > limit:
                return size, None
            return size, s3.get_object(Bucket=bucket, Key=key)["Body"].read(limit + 1)

    def put_object(self, bucket: str, key: str, body: bytes | bytearray, content_type: str) -> None:
        """One small object in one request (models up to a few MB, index files)."""
        with self.translate(f"upload s3://{bucket}/{key}"):
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def newest_model_key(self, bucket: str) -> str | None:
        """Key of the newest default model in the bucket (the rule is ``layout.newest_default_model``)."""
        return layout.newest_default_model(self.list_keys(bucket, layout.DEFAULT_MODELS_PREFIX))

    def object_encryption(self, bucket: str, key: str) -> tuple[str | None, str | None]:
        """(ServerSideEncryption, SSEKMSKeyId) of an object, as HeadObject reports them."""
        with self.translate(f"read s3://{bucket}/{key}"):
            head = self.client("s3").head_object(Bucket=bucket, Key=key)
        return head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")

    def bucket_encryption(self, bucket: str) -> tuple[str | None, str | None]:
        """(SSEAlgorithm, KMSMasterKeyID) of the bucket's default encryption; (None, None) when unknown.

        Unknown: none configured, or these credentials may not read it (s3:GetEncryptionConfiguration).
        """
        try:
            with self.translate(f"read the default encryption of bucket {bucket}"):
                rules = self.client("s3").get_bucket_encryption(Bucket=bucket)[
                    "ServerSideEncryptionConfiguration"].get("Rules", [])
        except WildrydesError as exc:
            LOG.info("default encryption of %s not known: %s", bucket, exc)
            return None, None
        default = (rules[0] if rules else {}).get("ApplyServerSideEncryptionByDefault") or {}
        return default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")

    def kms_key_arn(self, key_id: str) -> str | None:
        """The ARN of a KMS key named by id, ARN or alias; None when it cannot be described."""
        try:
            with self.translate(f"describe KMS key {key_id}"):
                return str(self.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
        except WildrydesError as exc:
            LOG.info("cannot describe KMS key %s: %s", key_id, exc)
            return None

    def upload_file(self, bucket: str, key: str, path: Any) -> None:
        """Multipart when large (the mxnet zip is ~100 MB)."""
        with self.translate(f"upload s3://{bucket}/{key}"):
            self.client("s3").upload_file(str(path), bucket, key)

    def empty_and_delete_bucket(self, bucket: str) -> tuple[int, dict[str, str]]:
        """Remove every object version, then the bucket: (objects removed, {key: 'Code: message'} refused).

        DeleteObjects answers 200 with per-key Errors (an object lock, a bucket policy's deny): a
        refused key is not counted, and the bucket, not empty then, is not deleted.
        """
        s3 = self.client("s3")
        removed = 0
        refused: dict[str, str] = {}
        with self.translate(f"empty bucket {bucket}"):
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                           for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                if entries:
                    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": entries, "Quiet": True})
                    errors = answer.get("Errors", [])
                    for error in errors:
                        refused[error.get("Key", "?")] = f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
                    removed += len(entries) - len(errors)
        if refused:
            return removed, refused
        with self.translate(f"delete bucket {bucket}"):
            s3.delete_bucket(Bucket=bucket)
        return removed, refused

    def bucket_policy(self, bucket: str) -> tuple[bool, str | None]:
        """(readable, the bucket policy's JSON or None when it has none); (False, None) when access is denied."""
        try:
            return True, self.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
        except ClientError as exc:
            if code_of(exc) == "NoSuchBucketPolicy":
                return True, None
            if code_of(exc) in ("AccessDenied", "AccessDeniedException", "403"):
                return False, None
            with self.translate(f"read the policy of bucket {bucket}"):
                raise

    def bucket_region(self, bucket: str) -> str | None:
        """The bucket's region from HeadBucket (BucketRegion / x-amz-bucket-region), if AWS says."""
        with self.translate(f"reach bucket {bucket}"):
            head = self.client("s3").head_bucket(Bucket=bucket)
        headers = (head.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        return head.get("BucketRegion") or headers.get("x-amz-bucket-region")

    def delete_keys_checked(self, bucket: str, keys: list[str]) -> tuple[list[str], dict[str, str]]:
        """Delete these keys; returns (deleted, {key: 'Code: message'} for the ones S3 refused).

        DeleteObjects answers 200 even when keys fail: the failures are in its per-key Errors.
        """
        failed: dict[str, str] = {}
        with self.translate(f"delete objects from {bucket}"):
            for start in range(0, len(keys), 1000):
                chunk = [{"Key": k} for k in keys[start:start + 1000]]
                answer = self.client("s3").delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
                for error in answer.get("Errors", []):
                    failed[error.get("Key", "?")] = f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
        return [k for k in keys if k not in failed], failed
