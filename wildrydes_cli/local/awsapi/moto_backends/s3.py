"""S3 objects, keys, bucket policies and regions as moto holds them (reads only), and which file
on disk holds an object's bytes.

The Lambda runner reads a function's code, training jobs read their channels and check their
output bucket, and a role's calls are checked against the bucket's policy.

Why a file per object: the journal keeps a large PutObject's body as a blob, byte for byte the
object moto stores. A training job's Downloading (``copy_s3_object``) hard-links that file into
the job's input directory instead of copying tens of MB out of moto's buffer (Downloading 1M
rides: 0.00–0.01 s instead of 0.02–0.05 s, and no second copy of the channel on disk; RESULTS.md).
The link is made read-only: the algorithm must not change
what the journal relies on. Anything else (no blob, another filesystem, a replaced object) is
copied as before.

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from pathlib import Path

LOG = logging.getLogger(__name__)

# moto's S3 object (its FakeKey, weakly: an object replaced or deleted drops out) -> (file, size)
_FILES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FILES_LOCK = threading.Lock()


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
    path = Path(path)
    with found.lock:
        # Never write through what is there: a link left by an earlier try would truncate a journal blob.
        path.unlink(missing_ok=True)
        if _link_file(found, path):
            return int(found.size)
        with open(path, "xb") as out:
            found._value_buffer.seek(0)
            shutil.copyfileobj(found._value_buffer, out, 1 << 20)
            return out.tell()


def remember_object_file(access_key: str, region: str, bucket_name: str, key_name: str, path: Path,
                         size: int) -> bool:
    """Record that ``path`` holds the bytes of the object now at ``bucket_name/key_name`` (the journal's
    blob of the PutObject that made it); False when there is no such object or its size differs."""
    from .replay import _s3_bucket

    bucket = _s3_bucket(access_key, region, bucket_name)
    found = bucket.keys.get(key_name) if bucket is not None else None
    if found is None or int(found.size) != size:
        return False
    with _FILES_LOCK:
        _FILES[found] = (Path(path), size)
    return True


def _link_file(found, path: Path) -> bool:
    """Hard-link the file known to hold ``found``'s bytes at ``path``; False when there is none to link."""
    with _FILES_LOCK:
        known = _FILES.get(found)
    if known is None:
        return False
    source, size = known
    try:
        if source.stat().st_size != size:   # a blob rewritten or removed since: copy instead
            return False
        os.link(source, path)
        try:
            os.chmod(path, 0o400)
        except OSError:
            path.unlink(missing_ok=True)   # the copy that follows must not write into the blob
            raise
    except OSError as exc:   # another filesystem, a compaction removed the blob, links not allowed
        LOG.debug("copying s3 object instead of linking %s: %s", source, exc)
        return False
    return True


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
