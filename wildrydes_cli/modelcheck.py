"""Refuse, before anything changes, a model the deployed function could not serve.

Why here and with the function's own code: ``deploy`` used to point the
function at whatever key it was given, so random bytes, a truncated archive
or an empty file deployed with exit 0 and then every request was a 503.
Reading the archive with the very modules the function runs (``lambda/``,
installed as ``wildrydes_cli.function``: the same bounds, the same errors)
and scoring one all-zero row with the lean engine shows the function could
load and evaluate it. ``deploy`` calls this in its preflight and ``train``
before it publishes; both then stop with exit code 3 and the reason.
"""
from __future__ import annotations

import importlib
import logging
import math
from typing import Any

from wildrydes_cli.errors import ModelRefusedError

LOG = logging.getLogger(__name__)
FUNCTION_PACKAGE = "wildrydes_cli.function"   # lambda/, mapped by setup.cfg's package_dir (see packaging.py)


def _function_module(name: str) -> Any:
    """A module of the deployed function, imported from the installed package (not from the Lambda zip)."""
    return importlib.import_module(f"{FUNCTION_PACKAGE}.{name}")


def check_model(data: bytes, where: str, engine: str = "lean") -> dict[str, Any]:
    """Parse ``data`` as the function would and evaluate a zero row; returns what it found.

    ``engine`` is the engine the function will run: a graph only the mxnet
    engine evaluates is refused for ``lean`` and accepted (parsed) for ``mxnet``.
    """
    artifact, engines = _function_module("artifact"), _function_module("engines")
    try:
        model = artifact.read_model_archive(data)
    except artifact.ArtifactError as exc:
        raise ModelRefusedError(f"{where} cannot be served: {exc}. Nothing was changed: point --model-path at "
                                "a SageMaker linear-learner model.tar.gz, or make one with `wildrydes train`.") from None
    found = {"dimension": model.dimension, "predictor_type": model.predictor_type, "bytes": len(data)}
    if model.lean_error:
        if engine == "lean":
            raise ModelRefusedError(f"{where} cannot be served by the lean engine: {model.lean_error} "
                                    "(wildrydes deploy --engine mxnet). Nothing was changed.")
        return found
    score = engines.LeanEngine(model).predict([[0.0] * model.dimension])[0]
    if not math.isfinite(score):
        raise ModelRefusedError(f"{where} cannot be served: it scores an all-zero row as {score}. "
                                "Nothing was changed.")
    LOG.info("%s: %d features, %s, reads and scores as the function would", where, model.dimension,
             model.predictor_type)
    return found


def check_s3_model(aws, bucket: str, key: str, engine: str = "lean") -> dict[str, Any]:
    """``check_model`` for s3://bucket/key, reading at most the archive bound (the function's limit)."""
    artifact = _function_module("artifact")
    where = f"The model s3://{bucket}/{key}"
    size, data = aws.read_object(bucket, key, artifact.MAX_ARCHIVE_BYTES)
    if data is None:
        raise ModelRefusedError(f"{where} is {size:,} bytes; the function reads model archives of up to "
                                f"{artifact.MAX_ARCHIVE_BYTES:,} bytes. Nothing was changed.")
    return check_model(data, where, engine)
