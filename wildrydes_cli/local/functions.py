"""The deployed Lambda function as the runner needs it: configuration and code.

Read from moto's in-memory Lambda and S3 backends (same process as the
daemon). ``get_function``'s ``Code.Location`` is a fake URL, so the code comes
from the S3 bucket/key the function was created from, verified against
``CodeSha256`` (base64 of the SHA-256 of the zip). Lambda snapshots the code at
create/update time, so when that S3 object has since been overwritten we fall
back to moto's own snapshot, which must verify too.

``FunctionSpec.fingerprint`` is what decides whether warm workers may keep
serving: any change of code, handler, environment, timeout, runtime or
last-modified time retires them.
"""
from __future__ import annotations

import base64
import hashlib
import io
import logging
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from wildrydes_cli.errors import LocalTargetError

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class FunctionSpec:
    """A deployed function's configuration, frozen at lookup time."""

    arn: str
    name: str
    account_id: str
    region: str
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    environment: tuple[tuple[str, str], ...]
    code_sha256: str
    last_modified: str
    code_bucket: str | None
    code_key: str | None

    @property
    def fingerprint(self) -> tuple:
        return (self.code_sha256, self.handler, self.environment, self.timeout, self.memory_size,
                self.runtime, self.last_modified)


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: base64 of the raw SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _backend_function(arn: str):
    from moto.awslambda.models import lambda_backends

    parts = arn.split(":")
    if len(parts) < 7:
        return None
    region, account_id, name = parts[3], parts[4], parts[6]
    if account_id not in dict.keys(lambda_backends):
        return None
    per_account = lambda_backends[account_id]
    if region not in dict.keys(per_account):
        return None
    try:
        return per_account[region].get_function(name)
    except Exception:  # moto raises its own UnknownFunctionException
        return None


_SPECS: dict[str, tuple[tuple, FunctionSpec]] = {}


def find_function(arn: str) -> FunctionSpec | None:
    """The function an integration points at, or None when it does not exist.

    Called on every request: the spec is rebuilt only when moto's function
    object, its last-modified time, code sha or environment map changed.
    """
    fn = _backend_function(arn)
    if fn is None:
        return None
    version = (id(fn), fn.last_modified, fn.code_sha_256, id(fn.environment_vars), fn.handler, fn.timeout,
               fn.memory_size)
    cached = _SPECS.get(arn)
    if cached is not None and cached[0] == version:
        return cached[1]
    spec = _spec(fn)
    _SPECS[arn] = (version, spec)
    return spec


def _spec(fn) -> FunctionSpec:
    code = fn.code or {}
    return FunctionSpec(
        arn=fn.function_arn, name=fn.function_name, account_id=fn.account_id, region=fn.region,
        handler=fn.handler or "", runtime=fn.run_time or "", timeout=float(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        code_sha256=fn.code_sha_256, last_modified=str(fn.last_modified),
        code_bucket=code.get("S3Bucket"), code_key=code.get("S3Key"))


def fetch_code(spec: FunctionSpec) -> bytes:
    """The function's zip, verified against CodeSha256."""
    candidates: list[tuple[str, bytes]] = []
    if spec.code_bucket and spec.code_key:
        from moto.s3.models import s3_backends

        try:
            key = s3_backends[spec.account_id]["aws"].get_object(spec.code_bucket, spec.code_key)
            if key is not None:
                candidates.append((f"s3://{spec.code_bucket}/{spec.code_key}", key.value))
        except Exception as exc:  # moto's MissingBucket / MissingKey
            LOG.info("code object s3://%s/%s not readable: %s", spec.code_bucket, spec.code_key, exc)
    fn = _backend_function(spec.arn)
    if fn is not None and getattr(fn, "code_bytes", None):
        candidates.append(("the function's code snapshot", fn.code_bytes))
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
