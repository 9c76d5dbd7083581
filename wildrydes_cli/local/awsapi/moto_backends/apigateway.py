"""API Gateway as moto holds it: REST APIs, their resources and methods, stages, API keys and usage plans.

The execute-api front (invoke/routes.py) routes each request by these reads, and the usage-plan
limiter (invoke/usage_plans.py) and the stack's key rule (stack_keys.py) find keys and plans here.

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiResource:
    """One API Gateway resource as moto holds it: where it hangs and its methods' integrations."""

    resource_id: str
    parent_id: str | None
    path_part: str | None
    # method -> (integration type, uri, whether it requires an API key, its authorization type), or None
    # without an integration
    methods: dict[str, tuple[str, str | None, bool, str] | None]


def _apigateway_backends() -> Any:
    from moto.apigateway.models import apigateway_backends
    return apigateway_backends


def rest_api_in(account_id: str, region: str, api_id: str) -> Any | None:
    """The RestAPI object with this id in one account and region, or None."""
    per_account = dict.get(_apigateway_backends(), account_id)
    backend = dict.get(per_account, region) if per_account is not None else None
    return backend.apis.get(api_id) if backend is not None else None


def find_rest_api(api_id: str) -> tuple[str, str, Any] | None:
    """(account_id, region, RestAPI) for an API id in any account and region moto has created.

    Copies moto's dicts before scanning: moto's own threads may add a region meanwhile.
    """
    for account_id, per_account in list(dict.items(_apigateway_backends())):
        for region, backend in list(dict.items(per_account)):
            api = backend.apis.get(api_id)
            if api is not None:
                return account_id, region, api
    return None


def api_resources(api: Any) -> list[ApiResource]:
    out = []
    for rid, res in list(api.resources.items()):
        methods: dict[str, tuple[str, str | None, bool, str] | None] = {}
        for name, method in list(res.resource_methods.items()):
            integ = method.method_integration
            methods[name.upper()] = (integ.integration_type, integ.uri, bool(method.api_key_required),
                                     str(method.authorization_type or "NONE").upper()) if integ is not None else None
        out.append(ApiResource(rid, res.parent_id, res.path_part, methods))
    return out


def stage_variables(api: Any, stage: str) -> dict[str, str] | None:
    """The stage's variables ({} when it has none), or None when the stage does not exist."""
    found = api.stages.get(stage)
    if found is None:
        return None
    return dict(found.variables or {})



@dataclass(frozen=True)
class ApiKeyFacts:
    """An API key as moto holds it."""

    key_id: str
    name: str
    value: str
    enabled: bool
    tags: dict[str, str]


@dataclass(frozen=True)
class UsagePlanFacts:
    """A usage plan as moto holds it: the stages it admits, its limits and its keys."""

    plan_id: str
    name: str
    stages: tuple[tuple[str, str], ...]        # (API id, stage)
    rate: float | None                          # requests per second; None: not throttled
    burst: int | None
    quota_limit: int | None                     # None: no quota
    quota_period: str | None                    # DAY, WEEK or MONTH
    key_ids: tuple[str, ...]
    tags: dict[str, str]


def _apigateway(account_id: str, region: str) -> Any | None:
    per_account = dict.get(_apigateway_backends(), account_id)
    return dict.get(per_account, region) if per_account is not None else None


def _tags(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {}


def api_keys(account_id: str, region: str) -> list[ApiKeyFacts]:
    backend = _apigateway(account_id, region)
    return [ApiKeyFacts(k.id, str(k.name or ""), str(k.value or ""), bool(k.enabled), _tags(k.tags))
            for k in list(backend.keys.values())] if backend is not None else []


def api_key_by_value(account_id: str, region: str, value: str) -> ApiKeyFacts | None:
    """The key with this value (the execute-api front asks on each request to a method that requires one)."""
    backend = _apigateway(account_id, region)
    for k in list(backend.keys.values()) if backend is not None else []:
        if k.value == value:
            return ApiKeyFacts(k.id, str(k.name or ""), str(k.value or ""), bool(k.enabled), _tags(k.tags))
    return None


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _plan_facts(backend: Any, plan: Any) -> UsagePlanFacts:
    throttle, quota = dict(plan.throttle or {}), dict(plan.quota or {})
    burst, limit = _number(throttle.get("burstLimit")), _number(quota.get("limit"))
    stages = tuple((str(s.get("apiId")), str(s.get("stage"))) for s in list(plan.api_stages or [])
                   if isinstance(s, dict))
    return UsagePlanFacts(plan.id, str(plan.name or ""), stages, _number(throttle.get("rateLimit")),
                          int(burst) if burst is not None else None, int(limit) if limit is not None else None,
                          str(quota["period"]).upper() if quota.get("period") else None,
                          tuple(dict(backend.usage_plan_keys.get(plan.id) or {})), _tags(plan.tags))


def usage_plans(account_id: str, region: str) -> list[UsagePlanFacts]:
    backend = _apigateway(account_id, region)
    return [_plan_facts(backend, plan) for plan in list(backend.usage_plans.values())] if backend is not None else []


def plan_for_key(account_id: str, region: str, key_id: str, api_id: str, stage: str) -> UsagePlanFacts | None:
    """The first usage plan that holds this key and names this API's stage (per request: only that one is built)."""
    backend = _apigateway(account_id, region)
    if backend is None:
        return None
    for plan in list(backend.usage_plans.values()):
        if key_id in (backend.usage_plan_keys.get(plan.id) or {}) and any(
                isinstance(s, dict) and s.get("apiId") == api_id and s.get("stage") == stage
                for s in list(plan.api_stages or [])):
            return _plan_facts(backend, plan)
    return None
