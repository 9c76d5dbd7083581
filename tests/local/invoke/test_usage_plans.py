"""The usage plans' limiter as API Gateway documents it: a token bucket per plan and key (burst, then the rate),
quotas per UTC day, ISO week or month; and which key headers can never be a key."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from wildrydes_cli.local.awsapi.moto_backends import UsagePlanFacts
from wildrydes_cli.local.invoke import usage_plans


def _plan(rate=None, burst=None, quota=None, period=None) -> UsagePlanFacts:
    return UsagePlanFacts("p", "plan", (("api", "prod"),), rate, burst, quota, period, ("k",), {})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_100_burst_20_over_10_seconds_admits_1020_requests_sent_at_500_per_second():
    clock = Clock()
    limiter = usage_plans.Limiter(clock=clock, wall=lambda: 0.0)
    plan, accepted = _plan(rate=100.0, burst=20), 0
    for _ in range(5000):                        # 500 requests/s for 10 s
        accepted += limiter.admit(plan, "k") is None
        clock.now += 0.002
    assert accepted == pytest.approx(1020, abs=2)


def test_the_bucket_starts_full_refuses_when_empty_and_is_per_key():
    clock = Clock()
    limiter = usage_plans.Limiter(clock=clock, wall=lambda: 0.0)
    plan = _plan(rate=1.0, burst=3)
    assert [limiter.admit(plan, "k") for _ in range(3)] == [None] * 3
    refused = limiter.admit(plan, "k")
    assert refused is not None and (refused.status, refused.body) == (429, b'{"message": "Too Many Requests"}')
    assert limiter.admit(plan, "other") is None               # another key has its own bucket
    clock.now += 1.0
    assert limiter.admit(plan, "k") is None and limiter.admit(plan, "k") is not None


def test_a_quota_counts_accepted_requests_per_period_and_starts_again_in_the_next():
    day = datetime(2026, 12, 3, 23, 59, tzinfo=timezone.utc).timestamp()
    wall = [day]
    limiter = usage_plans.Limiter(clock=lambda: 0.0, wall=lambda: wall[0])
    plan = _plan(quota=2, period="DAY")
    assert limiter.admit(plan, "k") is None and limiter.admit(plan, "k") is None
    exceeded = limiter.admit(plan, "k")
    assert exceeded is not None and (exceeded.status, exceeded.body) == (429, b'{"message": "Limit Exceeded"}')
    assert limiter.used("p", "k", "DAY") == 2
    wall[0] += 120                                            # the next UTC day
    assert limiter.admit(plan, "k") is None and limiter.used("p", "k", "DAY") == 1


@pytest.mark.parametrize("period, later, same", [
    ("WEEK", datetime(2026, 12, 6, tzinfo=timezone.utc), True),     # Thursday -> Sunday: same ISO week
    ("WEEK", datetime(2026, 12, 7, tzinfo=timezone.utc), False),    # -> Monday
    ("MONTH", datetime(2026, 12, 31, tzinfo=timezone.utc), True),
    ("MONTH", datetime(2027, 1, 1, tzinfo=timezone.utc), False),
])
def test_weeks_and_months(period, later, same):
    start = datetime(2026, 12, 3, 12, tzinfo=timezone.utc).timestamp()
    assert (usage_plans.period_of(period, start) == usage_plans.period_of(period, later.timestamp())) is same


@pytest.mark.parametrize("value, plausible", [
    ("a" * 40, True), (None, False), ("", False), ("a" * 1025, False), ("ab\tc" * 10, False), ("ключ" * 10, False),
    ("a b" * 10, False), ("a" * 1024, True)])
def test_what_could_be_a_key(value, plausible):
    assert usage_plans.plausible_key(value) is plausible


def test_a_disabled_key_or_one_outside_this_stages_plan_is_forbidden():
    import boto3
    from moto import mock_aws
    with mock_aws():
        gw = boto3.client("apigateway", region_name="us-east-1")
        api = gw.create_rest_api(name="a")["id"]
        plan = gw.create_usage_plan(name="p", apiStages=[{"apiId": api, "stage": "prod"}],
                                    throttle={"rateLimit": 10.0, "burstLimit": 10})
        keys = {name: gw.create_api_key(name=name, enabled=name != "disabled") for name in ("good", "disabled", "loose")}
        for name in ("good", "disabled"):
            gw.create_usage_plan_key(usagePlanId=plan["id"], keyId=keys[name]["id"], keyType="API_KEY")
        limiter = usage_plans.Limiter()

        def answer(name: str, stage: str = "prod"):
            refused = usage_plans.check(limiter, keys[name]["value"], "123456789012", "us-east-1", api, stage)
            return None if refused is None else (refused.status, refused.body)

        assert answer("good") is None
        forbidden = (403, b'{"message": "Forbidden"}')
        assert answer("disabled") == forbidden and answer("loose") == forbidden and answer("good", "dev") == forbidden
