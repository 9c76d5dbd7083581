"""API keys, throttling and quotas on the local endpoint, checked before the function runs, as API Gateway does.

Why: ``sam local`` and ``chalice local`` let every request through, so a client
that forgets its key, or a load test above the plan's rate, works locally and
fails on AWS. Here a method that requires a key (``apiKeyRequired``, from
``deploy --auth api-key``) is answered as API Gateway answers it:

1. ``x-api-key`` missing, too long, with characters no key has, naming no key,
   a disabled key, or a key in no usage plan of this API's stage: 403
   ``{"message":"Forbidden"}``; the function does not run.
2. Over the plan's throttle: 429 ``{"message":"Too Many Requests"}``. A token
   bucket per plan and key: it holds ``burstLimit`` requests, starts full and
   refills at ``rateLimit`` per second, so over T seconds at most
   ``burst + rate x T`` requests pass.
3. Over the plan's quota: 429 ``{"message":"Limit Exceeded"}``, counted per
   plan and key over the UTC day, ISO week (from Monday) or calendar month.

Every request let through is also counted per plan, key and UTC day (the last
``DAYS_KEPT`` days), and those counts answer API Gateway's ``GetUsage``
(``usage_answer``), which moto does not implement (it answers 404 "Not yet
implemented"): per key, one ``[used, remaining]`` pair per day, remaining being
the quota left in that day's quota period at the day's end, as the limiter
counts it (0 without a quota).

Keys and plans are read from moto's API Gateway (the stack's, made by
``awsapi/stack_keys.py``) on every request, so a rotated key stops working at
once. The buckets and counts live in this process's memory: a restart refills
the buckets and starts the quota counts again (``status`` says so). Everything
runs on the event loop's thread: no lock.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from wildrydes_cli.local.awsapi import moto_backends
from wildrydes_cli.local.http import HttpResponse

DAYS_KEPT = 92          # daily counts kept per plan and key (a quarter: a month's quota and GetUsage's ranges)
MAX_USAGE_DAYS = 366    # the longest range GetUsage answers here (one pair per day per key)
MAX_KEY_CHARS = 1024   # API Gateway's keys are 20 to 128 characters; longer is no key
_PRINTABLE = frozenset(range(0x21, 0x7F))


def _error(status: int, message: str, error_type: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)],
                        json.dumps({"message": message}).encode())


def forbidden() -> HttpResponse:
    return _error(403, "Forbidden", "ForbiddenException")


def too_many_requests() -> HttpResponse:
    return _error(429, "Too Many Requests", "TooManyRequestsException")


def limit_exceeded() -> HttpResponse:
    return _error(429, "Limit Exceeded", "LimitExceededException")


def plausible_key(value: str | None) -> bool:
    """A value that could be a key: printable ASCII without spaces, at most MAX_KEY_CHARS."""
    return bool(value) and len(value or "") <= MAX_KEY_CHARS and all(ord(c) in _PRINTABLE for c in value or "")


def period_of(period: str | None, now: float) -> tuple:
    """The quota period ``now`` falls in (UTC): a day, an ISO week or a month."""
    day = datetime.fromtimestamp(now, timezone.utc).date()
    if period == "WEEK":
        return tuple(day.isocalendar()[:2])
    if period == "MONTH":
        return day.year, day.month
    return day.year, day.month, day.day


class Limiter:
    """Token buckets and quota counts per (plan, key)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self._clock, self._wall = clock, wall
        self._buckets: dict[tuple[str, str], list[float]] = {}     # -> [tokens, last refill]
        self._counts: dict[tuple[str, str], tuple[tuple, int]] = {}  # -> (period, requests counted in it)
        # -> {UTC day "YYYY-MM-DD": [requests let through, the quota's count after the day's last one (-1: none)]}
        self._daily: dict[tuple[str, str], dict[str, list[int]]] = {}

    def admit(self, plan: moto_backends.UsagePlanFacts, key_id: str) -> HttpResponse | None:
        """None when the request may go on; else the 429 API Gateway answers."""
        slot = (plan.plan_id, key_id)
        if plan.rate is not None and plan.burst is not None:
            now = self._clock()
            bucket = self._buckets.get(slot)
            if bucket is None:
                bucket = self._buckets[slot] = [float(plan.burst), now]
            bucket[0] = min(float(plan.burst), bucket[0] + (now - bucket[1]) * plan.rate)
            bucket[1] = now
            if bucket[0] < 1.0:
                return too_many_requests()
            bucket[0] -= 1.0
        quota_count = -1
        if plan.quota_limit is not None:
            period = period_of(plan.quota_period, self._wall())
            counted = self._counts.get(slot)
            used = counted[1] if counted is not None and counted[0] == period else 0
            if used >= plan.quota_limit:
                return limit_exceeded()
            self._counts[slot] = (period, used + 1)
            quota_count = used + 1
        days = self._daily.setdefault(slot, {})
        today = datetime.fromtimestamp(self._wall(), timezone.utc).date().isoformat()
        entry = days.setdefault(today, [0, -1])
        entry[0] += 1
        entry[1] = quota_count
        if len(days) > DAYS_KEPT:
            del days[min(days)]
        return None

    def on_day(self, plan_id: str, key_id: str, day: str) -> int:
        """Requests let through for this plan and key on a UTC day ("YYYY-MM-DD")."""
        return self._daily.get((plan_id, key_id), {}).get(day, [0, -1])[0]

    def quota_used(self, plan: moto_backends.UsagePlanFacts, key_id: str, day: date) -> int:
        """The quota's count at the end of ``day``: the last count recorded on a day of its period up to it
        (what the limiter enforces, so a quota added mid-period counts from then, as it refused from then)."""
        days = self._daily.get((plan.plan_id, key_id), {})
        first = _period_start(plan.quota_period, day)
        for offset in range((day - first).days, -1, -1):
            entry = days.get((first + timedelta(days=offset)).isoformat())
            if entry is not None and entry[1] >= 0:
                return entry[1]
        return 0

    def used(self, plan_id: str, key_id: str, period: str | None) -> int:
        """Requests counted in the current quota period (0 when none)."""
        counted = self._counts.get((plan_id, key_id))
        return counted[1] if counted is not None and counted[0] == period_of(period, self._wall()) else 0


def check(limiter: Limiter, api_key: str | None, account_id: str, region: str, api_id: str,
          stage: str) -> HttpResponse | None:
    """For a method that requires a key: None when the request may reach the function, else the refusal."""
    if not plausible_key(api_key):
        return forbidden()
    key = moto_backends.api_key_by_value(account_id, region, api_key or "")
    if key is None or not key.enabled:
        return forbidden()
    plan = moto_backends.plan_for_key(account_id, region, key.key_id, api_id, stage)
    if plan is None:
        return forbidden()
    return limiter.admit(plan, key.key_id)


# --- GetUsage (GET /usageplans/{id}/usage), answered from the counts -------------------------

def _usage_error(status: int, error_type: str, message: str) -> HttpResponse:
    return _error(status, message, error_type)


def _period_start(period: str | None, day: date) -> date:
    if period == "WEEK":
        return day - timedelta(days=day.weekday())
    if period == "MONTH":
        return day.replace(day=1)
    return day


def usage_answer(limiter: Limiter, plan: moto_backends.UsagePlanFacts | None, plan_id: str,
                 query: dict[str, str]) -> HttpResponse:
    """API Gateway's GetUsage for ``plan`` (None: no such plan): per key, [used, remaining] per UTC day."""
    if plan is None:
        return _usage_error(404, "NotFoundException", "Invalid Usage Plan ID specified")
    try:
        start = date.fromisoformat(query.get("startDate", ""))
        end = date.fromisoformat(query.get("endDate", ""))
    except ValueError:
        return _usage_error(400, "BadRequestException", "startDate and endDate must be dates of the form "
                                                        "YYYY-MM-DD (UTC days)")
    if end < start or (end - start).days >= MAX_USAGE_DAYS:
        return _usage_error(400, "BadRequestException", f"The range from startDate to endDate must be 1 to "
                                                        f"{MAX_USAGE_DAYS} days, starting with startDate")
    key_id = query.get("keyId")
    keys = [k for k in plan.key_ids if key_id in (None, k)]
    values = {}
    for key in keys:
        pairs = []
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            used = limiter.on_day(plan.plan_id, key, day.isoformat())
            remaining = max(0, plan.quota_limit - limiter.quota_used(plan, key, day)) \
                if plan.quota_limit is not None else 0
            pairs.append([used, remaining])
        values[key] = pairs
    body = {"usagePlanId": plan_id, "startDate": start.isoformat(), "endDate": end.isoformat(), "values": values}
    return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(body).encode())
