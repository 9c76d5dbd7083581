"""The API key of a stack deployed with ``--auth api-key``: found by the name its template gives it.

Why by name: function.yml names the key ``<stack>-key-<ApiKeyGeneration>`` and
``keys rotate`` raises the generation, so the stack's parameters say which key is
current on both targets (an output with ``!Ref ApiKey`` would not resolve where the
emulator's CloudFormation skips the key). ``predict``, ``keys`` and ``status`` read it
here; only ``keys show`` ever prints its value.

Today's usage (``usage_today``, for ``status``) is read the way AWS exposes it:
GetUsage for the key's usage plan of this API, from the start to the end of the
UTC day, one ``[used, remaining]`` pair per day (API Gateway Developer Guide,
"Maintain a usage plan for REST APIs in API Gateway"; API reference, GetUsage).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from wildrydes_cli import deployment_record
from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.results import ApiKeyInfo, KeyUsage
from wildrydes_cli.settings import Settings


def stack_of(settings: Settings) -> str:
    """The stack the current deployment was made in (the function stack when none is recorded)."""
    current = deployment_record.current(settings)
    return current.stack if current is not None else settings.function_stack


def info(key: dict) -> ApiKeyInfo:
    """A key as the commands show it: never its value."""
    created: Any = key.get("createdDate")
    when = created.isoformat(timespec="seconds") if hasattr(created, "isoformat") else \
        (str(created) if created is not None else None)
    return ApiKeyInfo(key_id=str(key.get("id")), name=str(key.get("name")), enabled=bool(key.get("enabled")),
                      created=when)


def limits(params: dict[str, str]) -> dict[str, Any]:
    """The usage plan's limits as the stack's parameters hold them (rate, burst, quota as "N/period")."""
    if params.get("Auth") != "api-key":
        return {"rate": None, "burst": None, "quota": None}
    quota = params.get("QuotaLimit", "0")
    try:
        rate: float | None = float(params.get("ThrottleRate", ""))
    except ValueError:
        rate = None
    return {"rate": rate,
            "burst": int(params["ThrottleBurst"]) if params.get("ThrottleBurst", "").isdigit() else None,
            "quota": f"{quota}/{params.get('QuotaPeriod', 'DAY').lower()}" if quota.isdigit() and int(quota) else None}


def key_name(stack: str, generation: int) -> str:
    return f"{stack}-key-{generation}"


def generation_of(params: dict[str, str]) -> int:
    value = params.get("ApiKeyGeneration", "1")
    return int(value) if value.isdigit() and int(value) >= 1 else 1


def stack_keys(aws: Any, stack: str) -> list[dict]:
    """Every key named for this stack (a rotation in progress may briefly show two), oldest generation first."""
    keys = aws.api_keys_named(f"{stack}-key-")
    return sorted(keys, key=lambda k: int(k["name"].rsplit("-", 1)[-1]) if k["name"].rsplit("-", 1)[-1].isdigit()
                  else 0)


def stack_params(aws: Any, stack: str) -> dict[str, str]:
    """The deployed stack's parameters, or a NotFoundError when nothing is deployed in ``stack`` (no key,
    and no --auth to speak of either)."""
    params = aws.stack_parameters(stack)
    if not params and aws.stack(stack) is None:    # a stack has parameters: only then ask whether there is one
        raise NotFoundError(f"Nothing is deployed in stack {stack} on this target and region, so it has no API "
                            "key: `wildrydes deploy --auth api-key` deploys the API with one.")
    return params


def current_key(aws: Any, stack: str, params: dict[str, str]) -> dict:
    """The key the stack's parameters (``stack_params``) name, or a NotFoundError saying how to get one."""
    if params.get("Auth") != "api-key":
        mode = params.get("Auth") or "none"
        who = "signed requests only" if mode == "iam" else "anyone with the URL may call it"
        raise NotFoundError(f"Stack {stack} has no API key: it was deployed with --auth {mode} ({who}). "
                            "`wildrydes deploy --auth api-key` makes one.")
    name = key_name(stack, generation_of(params))
    found = next((k for k in stack_keys(aws, stack) if k.get("name") == name), None)
    if found is None:
        raise NotFoundError(f"Stack {stack} should have API key {name}, but there is none: run `wildrydes deploy` "
                            "to make it again.")
    return found


def usage_today(aws: Any, api_id: str, key_id: str, quota: str | None, today: date) -> KeyUsage | None:
    """The key's requests on ``today`` (UTC) through its usage plan for ``api_id``; None when no plan of that API
    holds the key. ``remaining`` only with a ``quota``: without one GetUsage's second figure means nothing."""
    gateway = aws.client("apigateway")
    day = today.isoformat()
    with aws.translate(f"read today's usage of API key {key_id}"):
        plans = gateway.get_usage_plans(keyId=key_id).get("items", [])
        plan = next((p for p in plans if any(s.get("apiId") == api_id for s in p.get("apiStages") or [])), None)
        if plan is None:
            return None
        usage = gateway.get_usage(usagePlanId=plan["id"], keyId=key_id, startDate=day, endDate=day)
    pairs = (usage.get("items") or {}).get(key_id) or [[0, 0]]
    used, remaining = (int(n) for n in pairs[-1][:2])
    return KeyUsage(day=day, used=used, remaining=remaining if quota else None,
                    counted=aws.target.usage_plan_limits)
