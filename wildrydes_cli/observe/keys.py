"""``wildrydes keys show|list``: the deployed API's key, for callers of an API deployed with ``--auth api-key``.

Why a command of its own: the key is a secret. ``deploy``, ``status`` and
``keys list`` name it (id, name) but never print its value; ``keys show`` prints it
because that is what was asked for (``--value`` alone, for
``export WILDRYDES_API_KEY="$(wildrydes keys show --value)"``), and ``predict``
sends it without printing it. With ``--auth none`` there is no key, and
``keys show`` says so instead of printing nothing.
"""
from __future__ import annotations

from typing import Any

from wildrydes_cli.aws import api_keys
from wildrydes_cli.aws.api_keys import info, limits, stack_of
from wildrydes_cli.results import KeysResult
from wildrydes_cli.settings import Settings


def show(settings: Settings, aws: Any, value_only: bool = False) -> KeysResult:
    """The current key with its value (the one thing that prints it)."""
    stack = stack_of(settings)
    params = api_keys.stack_params(aws, stack)
    key = api_keys.current_key(aws, stack, params)
    return KeysResult(action="show", stack=stack, keys=[info(key)], value=str(key.get("value") or ""),
                      value_only=value_only, **limits(params))


def list_keys(settings: Settings, aws: Any) -> KeysResult:
    """The stack's keys, without values (empty with --auth none)."""
    stack = stack_of(settings)
    params = api_keys.stack_params(aws, stack)
    keys = [info(k) for k in api_keys.stack_keys(aws, stack)] if params.get("Auth") == "api-key" else []
    return KeysResult(action="list", stack=stack, keys=keys, auth=params.get("Auth") or "none", **limits(params))


def key_value(aws: Any, stack: str) -> str:
    """The value ``predict`` sends as x-api-key (an error saying how to get a key when there is none)."""
    return str(api_keys.current_key(aws, stack, api_keys.stack_params(aws, stack)).get("value") or "")
