"""The base of every command result: the JSON form is the fields, as they are named.

One module of ``wildrydes_cli.results`` (its ``__init__`` says why typed results).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any


class Result:
    """Base of every command result: the JSON form is the fields, as they are named."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]
