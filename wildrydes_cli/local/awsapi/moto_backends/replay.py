"""What the journal's replay writes back into moto directly (persist.py, replay_s3.py).

Replaying a large PutObject through moto's HTTP layer costs a copy per layer; these write the object
as moto's own PutObject does, restore a multipart upload's id, and seed moto's id generator so the
ids a replay makes are the ones the journal recorded.

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

from typing import Any


def seed_ids(seed: int | None) -> None:
    """Seed the generator moto draws its ids from (API, deployment, stack and request ids)."""
    from moto.moto_api._internal import mock_random

    mock_random.seed(seed)


def put_s3_object(access_key: str, region: str, bucket_name: str, key_name: str, body: bytes,
                  headers: dict[str, str], checksum_algorithm: str | None, checksum: str | None) -> bool:
    """What moto's ``S3Response.put_object`` does for a plain PutObject; False when the bucket
    needs moto's full path (missing, object lock, logging)."""
    import os

    from moto.iam.models import get_account_id_from
    from moto.s3.models import s3_backends
    from moto.s3.utils import metadata_from_headers
    from moto.utilities.utils import get_partition

    account = os.environ.get("MOTO_ACCOUNT_ID") or get_account_id_from(access_key)
    backend = s3_backends[account][get_partition(region)]
    bucket = backend.buckets.get(bucket_name)
    if bucket is None or bucket.object_lock_enabled or bucket.logging:
        return False
    key = backend.put_object(bucket_name, key_name, body, storage="STANDARD", encryption=None,
                             kms_key_id=None, bucket_key_enabled=None, lock_mode=None,
                             lock_legal_status=None, lock_until=None, checksum_value=checksum)
    key.set_metadata(metadata_from_headers(headers))
    key.set_acl(bucket.acl)
    key.website_redirect_location = None
    if checksum_algorithm:
        key.checksum_algorithm = checksum_algorithm
    backend.put_object_tagging(key, {})
    return True


def _s3_bucket(access_key: str, region: str, bucket_name: str) -> Any | None:
    """moto's bucket as the account of ``access_key`` sees it (without creating a backend), or None."""
    import os

    from moto.iam.models import get_account_id_from
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    account = os.environ.get("MOTO_ACCOUNT_ID") or get_account_id_from(access_key)
    per_account = dict.get(s3_backends, account)
    backend = dict.get(per_account, get_partition(region)) if per_account is not None else None
    return backend.buckets.get(bucket_name) if backend is not None else None


def s3_upload_exists(access_key: str, region: str, bucket_name: str, upload_id: str) -> bool | None:
    """Whether the bucket holds this multipart upload; None when there is no such bucket."""
    bucket = _s3_bucket(access_key, region, bucket_name)
    return None if bucket is None else upload_id in bucket.multiparts


def rename_s3_upload(access_key: str, region: str, bucket_name: str, current: str, wanted: str) -> bool:
    """Give a multipart upload another id (the one it had before a restart); False when it is not there."""
    bucket = _s3_bucket(access_key, region, bucket_name)
    if bucket is None or current not in bucket.multiparts:
        return False
    upload = bucket.multiparts.pop(current)
    upload.id = wanted
    bucket.multiparts[wanted] = upload
    return True
