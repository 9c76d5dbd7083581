"""The API key of a stack deployed with ``--auth api-key``: found by the name its template gives it.

Why by name: function.yml names the key ``<stack>-key-<ApiKeyGeneration>`` and
``keys rotate`` raises the generation, so the stack's parameters say which key is
current on both targets (an output with ``!Ref ApiKey`` would not resolve where the
emulator's CloudFormation skips the key). ``predict``, ``keys`` and ``status`` read it
here; only ``keys show`` ever prints its value.
"""
from __future__ import annotations

from typing import Any

from wildrydes_cli import deployment_record
from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.results import ApiKeyInfo
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


def current_key(aws: Any, stack: str, params: dict[str, str]) -> dict:
    """The key the stack's parameters name, or a NotFoundError saying how to get one."""
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
