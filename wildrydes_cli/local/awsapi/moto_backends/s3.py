"""S3 objects, keys, bucket policies and regions as moto holds them (reads only).

The Lambda runner reads a function's code, training jobs read their channels and check their
output bucket, and a role's calls are checked against the bucket's policy.

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

import logging

LOG = logging.getLogger(__name__)


def s3_object(account_id: str, bucket: str, key: str) -> bytes | None:
    """An object's bytes, or None when the bucket or key does not exist."""
    from moto.s3.models import s3_backends

    try:
        found = s3_backends[account_id]["aws"].get_object(bucket, key)
    except Exception as exc:  # moto's MissingBucket / MissingKey
        LOG.info("s3://%s/%s not readable: %s", bucket, key, exc)
        return None
    return found.value if found is not None else None


def copy_s3_object(account_id: str, bucket: str, key: str, path) -> int | None:
    """Write an object's bytes to the file ``path``, 1 MiB at a time; its size, or None when the bucket
    or key does not exist.

    Why not ``s3_object`` and a write: a training job's channel object is tens of MB, and reading it
    whole first makes a second copy in fresh memory (moto keeps it in a spooled temporary file).
    """
    import shutil

    from moto.s3.models import s3_backends

    try:
        found = s3_backends[account_id]["aws"].get_object(bucket, key)
    except Exception as exc:  # moto's MissingBucket / MissingKey
        LOG.info("s3://%s/%s not readable: %s", bucket, key, exc)
        return None
    if found is None:
        return None
    with found.lock, open(path, "wb") as out:
        found._value_buffer.seek(0)
        shutil.copyfileobj(found._value_buffer, out, 1 << 20)
        return out.tell()


def bucket_policy(account_id: str, region: str, bucket: str) -> str | None:
    """The bucket's policy document, or None when the bucket has none (or does not exist)."""
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    per_account = dict.get(s3_backends, account_id)
    backend = dict.get(per_account, get_partition(region)) if per_account is not None else None
    found = backend.buckets.get(bucket) if backend is not None else None
    policy = getattr(found, "policy", None) if found is not None else None
    return policy.decode("utf-8", "replace") if isinstance(policy, bytes) else policy


def s3_keys(account_id: str, bucket: str, prefix: str) -> list[tuple[str, int]] | None:
    """(key, size) of the bucket's current objects under ``prefix``, in key order; None without the bucket."""
    from moto.s3.models import s3_backends

    backend = dict.get(dict.get(s3_backends, account_id) or {}, "aws")
    found = backend.buckets.get(bucket) if backend is not None else None
    if found is None:
        return None
    keys = []
    for name in list(found.keys.keys()):
        if not name.startswith(prefix):
            continue
        key = found.keys.get(name)
        if key is not None:
            keys.append((name, int(key.size)))
    return sorted(keys)


def s3_bucket_region(account_id: str, bucket: str) -> str | None:
    """The region a bucket was created in, or None when there is no such bucket."""
    from moto.s3.models import s3_backends

    backend = dict.get(dict.get(s3_backends, account_id) or {}, "aws")
    found = backend.buckets.get(bucket) if backend is not None else None
    return str(found.region_name) if found is not None else None
