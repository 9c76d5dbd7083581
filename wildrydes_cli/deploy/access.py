"""Who may call the deployed API: ``--auth none|api-key|iam``, the usage plan's limits, and switching modes.

Why a module: the mode is one of deploy's kept choices (the stack's ``Auth``,
``ThrottleRate``, ``ThrottleBurst``, ``QuotaLimit`` and ``QuotaPeriod``
parameters hold it, like the engine), but unlike the others, changing it on a
live deployment changes what every existing caller gets back: a client without
the key starts getting 403s, or an endpoint that was protected becomes open. So
a switch says what changes for callers and asks first (``--yes`` for scripts),
and limits API Gateway would refuse (a rate of 0, a burst below 1) are usage
errors before anything is made.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from wildrydes_cli.errors import UsageError

AUTH_MODES = ("none", "api-key", "iam")
METHOD_AUTHORIZATION = {"none": "NONE", "api-key": "NONE", "iam": "AWS_IAM"}   # each method's AuthorizationType
DEFAULT_RATE = 50.0     # requests per second per key (the template's ThrottleRate default)
DEFAULT_BURST = 100     # the template's ThrottleBurst default
PERIODS = {"day": "DAY", "week": "WEEK", "month": "MONTH"}
NO_QUOTA = "none"
_QUOTA = re.compile(r"^\s*(\d{1,10})\s*/\s*(day|week|month)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """The usage plan's throttle and quota (quota_limit None: no quota)."""

    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    quota_limit: int | None = None
    quota_period: str = "DAY"

    def quota_text(self) -> str | None:
        return f"{self.quota_limit}/{self.quota_period.lower()}" if self.quota_limit is not None else None


def parse_quota(text: str) -> tuple[int | None, str]:
    """``N/day|week|month`` -> (N, PERIOD); ``none`` -> (None, DAY) (no quota)."""
    if text.strip().lower() == NO_QUOTA:
        return None, "DAY"
    found = _QUOTA.match(text)
    if found is None or int(found.group(1)) < 1:
        raise UsageError(f"--quota {text!r}: give requests per period as N/day, N/week or N/month with N at "
                         "least 1 (e.g. --quota 10000/day), or --quota none for no quota.")
    return int(found.group(1)), PERIODS[found.group(2).lower()]


def check_limits(rate: float | None, burst: int | None) -> None:
    """A rate of 0 (or less) or a burst below 1 lets nothing through: refused before anything is made."""
    if rate is not None and not rate > 0:
        raise UsageError(f"--rate must be above 0 requests per second (got {rate:g}); a rate of 0 would "
                         f"refuse every request. Default: {DEFAULT_RATE:g}.")
    if burst is not None and burst < 1:
        raise UsageError(f"--burst must be at least 1 request (got {burst}); the burst is how many requests may "
                         f"arrive at once. Default: {DEFAULT_BURST}.")


def limits_from_parameters(params: dict[str, str]) -> Limits | None:
    """The limits a stack's parameters hold (None when the stack does not use a key)."""
    if params.get("Auth") != "api-key":
        return None
    quota = int(params["QuotaLimit"]) if params.get("QuotaLimit", "0").isdigit() and \
        int(params.get("QuotaLimit", "0")) > 0 else None
    return Limits(rate=_float(params.get("ThrottleRate"), DEFAULT_RATE),
                  burst=int(_float(params.get("ThrottleBurst"), DEFAULT_BURST)),
                  quota_limit=quota, quota_period=params.get("QuotaPeriod") or "DAY")


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value else default
    except ValueError:
        return default


def key_generation(params: dict[str, str]) -> int:
    value = params.get("ApiKeyGeneration", "1")
    return int(value) if value.isdigit() and int(value) >= 1 else 1


def confirm_switch(stack: str, before: str, after: str, limits: Limits, yes: bool,
                   confirm: Callable[[str], bool]) -> None:
    """Ask before a live deployment changes who may call it; a refusal changes nothing."""
    if before == after or yes:
        return
    now = {"none": f"Stack {stack} answers anyone with its URL.",
           "api-key": f"Stack {stack} requires an API key (its key and usage plan are deleted if you switch).",
           "iam": f"Stack {stack} requires requests signed with AWS credentials (SigV4)."}[before]
    if after == "api-key":
        then = (f"With --auth api-key every request needs the header x-api-key: callers without the key get 403 "
                f"Forbidden from now on, and a key's requests over {limits.rate:g}/s (bursts of {limits.burst}) get "
                "429.")
    elif after == "iam":
        then = ("With --auth iam every request must be signed (SigV4, service execute-api) by an identity allowed "
                "execute-api:Invoke: unsigned callers get 403 Missing Authentication Token from now on.")
    else:
        then = "With --auth none anyone who has its URL may call it."
    question = f"{now} {then} Switch to {after}?"
    if not confirm(question):
        raise UsageError(f"Not switched: stack {stack} keeps --auth {before}. Pass --auth {before} to deploy "
                         f"without changing it, or --yes to switch without being asked.")
