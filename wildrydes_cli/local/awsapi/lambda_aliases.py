"""moto's Lambda versions and aliases as the runner needs them: which version a qualified ARN runs.

Why beside ``moto_backends`` (the adapter for everything else): an alias with a
RoutingConfig is resolved per request, and moto only stores it (GetAlias answers the
weights, an invoke through moto would always run the primary version). Measured with
moto 5.2 and held by tests/local/awsapi/test_lambda_aliases_moto.py: PublishVersion copies
$LATEST, so a version keeps the environment it was published with after $LATEST's changes;
it answers ``State: Active`` at once; it accepts weights Lambda refuses (above 1.0, an
unknown version), which the CLI therefore checks itself.

``resolve`` picks the version the way Lambda splits an alias's traffic: each request
independently, the additional version with its weight's probability (``draw`` is a
``random.random``-like callable, injected so a test can count a seeded split).
"""
from __future__ import annotations

from typing import Any, Callable

from wildrydes_cli.local.awsapi import moto_backends


def split_arn(arn: str) -> tuple[str, str | None]:
    """``arn:...:function:NAME[:QUALIFIER]`` -> (the unqualified ARN, the qualifier or None)."""
    parts = arn.split(":")
    if len(parts) == 8:
        return ":".join(parts[:7]), parts[7]
    return arn, None


def _backend(arn: str) -> Any | None:
    from moto.awslambda.models import lambda_backends

    parts = arn.split(":")
    if len(parts) < 7:
        return None
    per_account = dict.get(lambda_backends, parts[4])
    return dict.get(per_account, parts[3]) if per_account is not None else None


def resolve(arn: str, draw: Callable[[], float]) -> Any | None:
    """moto's function object that serves a request to ``arn``: $LATEST, a version, or an alias's pick.

    None when the function, version or alias does not exist (the gateway answers 500, as API
    Gateway does for an integration whose function is missing).
    """
    unqualified, qualifier = split_arn(arn)
    if qualifier is None or qualifier == "$LATEST":
        return moto_backends.lambda_function(unqualified)
    backend = _backend(arn)
    if backend is None:
        return None
    name = unqualified.split(":")[6]
    version = qualifier
    if not qualifier.isdigit():
        try:
            alias = backend.get_alias(qualifier, name)
        except Exception:   # moto's UnknownAliasException / UnknownFunctionException
            return None
        version = pick(str(alias.function_version), alias.routing_config, draw)
    try:
        return backend.get_function(name, version)
    except Exception:
        return None


def pick(primary: str, routing: Any, draw: Callable[[], float]) -> str:
    """The version one request runs: an additional version with its weight's probability, else the primary."""
    weights = (routing or {}).get("AdditionalVersionWeights") or {} if isinstance(routing, dict) else {}
    roll = draw()
    for version, weight in weights.items():
        share = float(weight)
        if roll < share:
            return str(version)
        roll -= share
    return primary
