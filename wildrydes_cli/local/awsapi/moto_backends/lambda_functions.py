"""Lambda functions as moto holds them: what the runner runs, frozen when read.

The runner (invoke/functions.py) re-reads a function's configuration per request, cheaply
(``function_version``), and starts new workers only when what they depend on changed.
``stamp_configuration_updates`` makes UpdateFunctionConfiguration set LastModified as Lambda does.

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LambdaFunction:
    """A deployed function's configuration as moto holds it, frozen when read (what the runner runs)."""

    arn: str
    name: str
    account_id: str
    region: str
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    environment: tuple[tuple[str, str], ...]   # sorted (name, value) pairs: hashable, comparable
    code_sha256: str
    last_modified: str
    code_bucket: str | None
    code_key: str | None
    role: str = ""                              # the execution role's ARN (its credentials are the function's)

    @property
    def version(self) -> str:
        """The published version this configuration is (its ARN's qualifier), else ``$LATEST``."""
        parts = self.arn.split(":")
        return parts[7] if len(parts) == 8 else "$LATEST"

    @property
    def fingerprint(self) -> tuple:
        """What warm workers depend on: a change of any of these retires them."""
        return (self.code_sha256, self.handler, self.environment, self.timeout, self.memory_size,
                self.runtime, self.last_modified, self.role)


def lambda_function(arn: str) -> Any | None:
    """moto's function object for an ARN (opaque to callers: pass it to the functions below)."""
    from moto.awslambda.models import lambda_backends

    parts = arn.split(":")
    if len(parts) < 7:
        return None
    region, account_id, name = parts[3], parts[4], parts[6]
    per_account = dict.get(lambda_backends, account_id)
    backend = dict.get(per_account, region) if per_account is not None else None
    if backend is None:
        return None
    try:
        return backend.get_function(name)
    except Exception:  # moto raises its own UnknownFunctionException
        return None


def function_version(fn: Any) -> tuple:
    """Changes whenever anything the runner depends on changes (cheap: a few attribute reads)."""
    return (id(fn), fn.last_modified, fn.code_sha_256, id(fn.environment_vars), fn.handler, fn.timeout,
            fn.memory_size, fn.role)


def function_config(fn: Any) -> LambdaFunction:
    code = fn.code or {}
    return LambdaFunction(
        arn=fn.function_arn, name=fn.function_name, account_id=fn.account_id, region=fn.region,
        handler=fn.handler or "", runtime=fn.run_time or "", timeout=float(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        code_sha256=fn.code_sha_256, last_modified=str(fn.last_modified),
        code_bucket=code.get("S3Bucket"), code_key=code.get("S3Key"), role=str(fn.role or ""))


def stamp_configuration_updates() -> None:
    """UpdateFunctionConfiguration sets LastModified, as Lambda does; moto keeps the creation time.

    (Lambda API reference, FunctionConfiguration.LastModified: "The date and time that the
    function was last updated".) Without it ``status``'s "last modified" stayed at the first
    deploy however often MODEL_PATH changed. Installed once, in the daemon.
    """
    from moto.awslambda.models import LambdaFunction as MotoFunction
    from moto.core.utils import iso_8601_datetime_with_nanoseconds

    original = MotoFunction.update_configuration
    if getattr(original, "_wildrydes_stamps", False):
        return

    def update_configuration(self, config_updates):
        self.last_modified = iso_8601_datetime_with_nanoseconds()
        return original(self, config_updates)

    update_configuration._wildrydes_stamps = True   # type: ignore[attr-defined]
    MotoFunction.update_configuration = update_configuration   # type: ignore[method-assign]


def function_code_snapshot(fn: Any) -> bytes | None:
    """The zip moto kept when the function was created or updated (None when it kept none)."""
    return getattr(fn, "code_bytes", None) or None
