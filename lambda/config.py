"""The function's configuration, read once from its environment.

Reading and validating it in one place means a wrong value is reported as a
503 that names the variable and says what it should be, instead of a crash
at import (which Lambda would retry in a loop) or a confusing error later.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

ENGINES = ("lean", "mxnet")

DEFAULT_REFRESH_SECONDS = 60.0                 # a newly published breed model is served within this
DEFAULT_CACHE_MAX_MODELS = 2000
DEFAULT_CACHE_MAX_BYTES = 32 * 1024 * 1024     # leaves most of a 128 MB function for Python itself
DEFAULT_RETRY_SECONDS = 1.0                    # a failed load is retried after this, doubling up to refresh


class ConfigError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Config:
    bucket: str
    model_path: str | None
    engine: str
    refresh_seconds: float
    cache_max_models: int
    cache_max_bytes: int
    retry_seconds: float


def _number(env, name: str, default: float, minimum: float, integer: bool = False):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"environment variable {name}={raw!r} is not {kind}") from None
    if not value >= minimum:  # also rejects NaN
        raise ConfigError(f"environment variable {name}={raw!r} must be at least {minimum}")
    return value


def load_config(env=None) -> Config:
    """Validate the environment; raise ``ConfigError`` naming the first bad variable."""
    env = os.environ if env is None else env
    bucket = env.get("OUTPUT_BUCKET", "").strip()
    if not bucket:
        raise ConfigError("environment variable OUTPUT_BUCKET is not set; set it to the data bucket "
                          "(wildrydes deploy does this)")
    model_path = env.get("MODEL_PATH", "").strip() or None
    if model_path and model_path.startswith("s3://"):
        raise ConfigError(f"MODEL_PATH={model_path!r} must be the key only, without s3://{bucket}/")
    engine = env.get("INFERENCE_ENGINE", "").strip().lower() or "lean"
    if engine not in ENGINES:
        raise ConfigError(f"environment variable INFERENCE_ENGINE={engine!r} is not one of: {', '.join(ENGINES)}")
    return Config(
        bucket=bucket,
        model_path=model_path,
        engine=engine,
        refresh_seconds=_number(env, "MODEL_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS, 0.0),
        cache_max_models=_number(env, "MODEL_CACHE_MAX_MODELS", DEFAULT_CACHE_MAX_MODELS, 1, integer=True),
        cache_max_bytes=_number(env, "MODEL_CACHE_MAX_BYTES", DEFAULT_CACHE_MAX_BYTES, 1, integer=True),
        retry_seconds=_number(env, "MODEL_RETRY_SECONDS", DEFAULT_RETRY_SECONDS, 0.0),
    )
