"""The deployed Lambda function as the runner needs it: configuration and code.

Read from moto's in-memory Lambda and S3 backends (same process as the
daemon), through ``moto_backends``. ``get_function``'s ``Code.Location`` is
a fake URL, so the code comes from the S3 bucket/key the function was
created from, verified against ``CodeSha256`` (base64 of the SHA-256 of the
zip). Lambda snapshots the code at
create/update time, so when that S3 object has since been overwritten we fall
back to moto's own snapshot, which must verify too.

``LambdaFunction.fingerprint`` (the moto adapter's one type for a function) is what decides whether warm workers may keep
serving: any change of code, handler, environment, timeout, runtime or
last-modified time retires them.
"""
from __future__ import annotations

import base64
import hashlib
import io
import logging
import random
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable

from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.local.awsapi import moto_backends
from wildrydes_cli.local.awsapi.moto_backends import LambdaFunction

LOG = logging.getLogger(__name__)


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: base64 of the raw SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


_SPECS: dict[str, tuple[tuple, LambdaFunction]] = {}


def find_function(arn: str, draw: Callable[[], float] = random.random) -> LambdaFunction | None:
    """The function an integration points at, or None when it does not exist.

    A qualified ARN runs that version's configuration (its own MODEL_PATH), an alias's
    one of its versions by the alias's weights (``moto_backends.resolve_function``; ``draw`` decides).
    Called on every request: the spec is rebuilt only when moto's function
    object, its last-modified time, code sha or environment map changed.
    """
    fn = moto_backends.resolve_function(arn, draw)
    if fn is None:
        return None
    version = moto_backends.function_version(fn)
    key = str(fn.function_arn)   # a version's own ARN: each version is cached (and pooled) apart
    cached = _SPECS.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    spec = moto_backends.function_config(fn)
    _SPECS[key] = (version, spec)
    return spec


def fetch_code(spec: LambdaFunction) -> bytes:
    """The function's zip, verified against CodeSha256."""
    candidates: list[tuple[str, bytes]] = []
    if spec.code_bucket and spec.code_key:
        stored = moto_backends.s3_object(spec.account_id, spec.code_bucket, spec.code_key)
        if stored is not None:
            candidates.append((f"s3://{spec.code_bucket}/{spec.code_key}", stored))
    fn = moto_backends.resolve_function(spec.arn, random.random)   # a version ARN: that version's own snapshot
    snapshot = moto_backends.function_code_snapshot(fn) if fn is not None else None
    if snapshot:
        candidates.append(("the function's code snapshot", snapshot))
    for source, data in candidates:
        if code_sha256(data) == spec.code_sha256:
            return data
        LOG.warning("%s does not match CodeSha256 %s of %s", source, spec.code_sha256, spec.name)
    raise LocalTargetError(
        f"Cannot find code for function {spec.name} matching its CodeSha256 {spec.code_sha256}; "
        "run `wildrydes deploy` again to upload and update it.")


def extract_zip(data: bytes, target: Path) -> None:
    """Extract a function zip into ``target``, refusing absolute paths, '..' and links."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                raise LocalTargetError(f"Refusing function zip entry {info.filename!r}: path escapes the task root.")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise LocalTargetError(f"Refusing function zip entry {info.filename!r}: symbolic link.")
        archive.extractall(target)
