"""moto's Lambda versions and aliases as the runner needs them: which version a qualified ARN runs.

Why a module of its own beside lambda_functions: an alias with a RoutingConfig is
resolved per request, and moto only stores it (GetAlias answers the weights, an invoke
through moto would always run the primary version). Measured with
moto 5.2 and held by tests/local/awsapi/test_lambda_aliases_moto.py: PublishVersion copies
$LATEST, so a version keeps the environment it was published with after $LATEST's changes;
it answers ``State: Active`` at once; it accepts weights Lambda refuses (above 1.0, an
unknown version), which the CLI therefore checks itself.

``resolve_function`` picks the version the way Lambda splits an alias's traffic: each request
independently, the additional version with its weight's probability (``draw`` is a
``random.random``-like callable, injected so a test can count a seeded split).
"""
from __future__ import annotations

from typing import Any, Callable

from .lambda_functions import lambda_function


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


# alias ARN -> (the alias object, its version, its routing map, {version: moto's function object})
_ALIASES: dict[str, tuple[Any, str, Any, dict[str, Any]]] = {}


def resolve_function(arn: str, draw: Callable[[], float]) -> Any | None:
    """moto's function object that serves a request to ``arn``: $LATEST, a version, or an alias's pick.

    None when the function, version or alias does not exist (the gateway answers 500, as API
    Gateway does for an integration whose function is missing). An alias's versions are
    looked up once per change of the alias (UpdateAlias changes its version or routing map),
    so a request through an alias costs a draw and a few dict reads more than one to $LATEST.
    """
    unqualified, qualifier = split_arn(arn)
    if qualifier is None or qualifier == "$LATEST":
        return lambda_function(unqualified)
    backend = _backend(arn)
    if backend is None:
        return None
    name = unqualified.split(":")[6]
    if qualifier.isdigit():
        return _version(backend, name, qualifier)
    alias = _alias(backend, unqualified, name, qualifier)
    if alias is None:
        _ALIASES.pop(arn, None)
        return None
    cached = _ALIASES.get(arn)
    if cached is None or cached[0] is not alias or cached[1] != alias.function_version or \
            cached[2] != alias.routing_config:
        weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {} \
            if isinstance(alias.routing_config, dict) else {}
        versions = {str(v): _version(backend, name, str(v)) for v in (alias.function_version, *weights)}
        cached = (alias, alias.function_version, _copy(alias.routing_config), versions)
        _ALIASES[arn] = cached
    return cached[3].get(pick_version(str(alias.function_version), alias.routing_config, draw))


def _alias(backend: Any, unqualified: str, name: str, alias: str) -> Any | None:
    """moto's alias object: read from its storage (a dict read per request), else through GetAlias's path."""
    storage = getattr(backend, "_lambdas", None)
    stored, functions = getattr(storage, "_aliases", None), getattr(storage, "_functions", None)
    if isinstance(stored, dict) and isinstance(functions, dict):
        if name not in functions:   # a deleted function's aliases may linger in moto's map
            return None
        found = dict.get(stored, unqualified)   # dict.get: moto's defaultdict would add an empty entry
        return found.get(alias) if found is not None else None
    try:
        return backend.get_alias(alias, name)
    except Exception:   # moto's UnknownAliasException / UnknownFunctionException
        return None


def _copy(routing: Any) -> Any:
    if isinstance(routing, dict):
        return {key: dict(value) if isinstance(value, dict) else value for key, value in routing.items()}
    return routing


def _version(backend: Any, name: str, version: str) -> Any | None:
    try:
        return backend.get_function(name, version)
    except Exception:   # moto's UnknownFunctionException
        return None


def pick_version(primary: str, routing: Any, draw: Callable[[], float]) -> str:
    """The version one request runs: an additional version with its weight's probability, else the primary."""
    weights = (routing or {}).get("AdditionalVersionWeights") or {} if isinstance(routing, dict) else {}
    roll = draw()
    for version, weight in weights.items():
        share = float(weight)
        if roll < share:
            return str(version)
        roll -= share
    return primary
