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


# --- today's usage: counted per UTC day, answered as API Gateway's GetUsage --------------------------

def _get_usage(limiter, plan, **query):
    import json
    response = usage_plans.usage_answer(limiter, plan, "p", {k: str(v) for k, v in query.items()})
    return response.status, dict(response.headers).get("x-amzn-ErrorType"), json.loads(response.body)


def test_get_usage_counts_the_requests_let_through_per_utc_day_with_the_quota_left():
    wall = [datetime(2026, 12, 2, 23, 59, tzinfo=timezone.utc).timestamp()]
    limiter = usage_plans.Limiter(clock=lambda: 0.0, wall=lambda: wall[0])
    plan = _plan(quota=5, period="WEEK")                       # 2026-12-02 is a Wednesday
    for _ in range(3):
        assert limiter.admit(plan, "k") is None
    wall[0] += 120                                             # Thursday, same ISO week
    for _ in range(4):
        limiter.admit(plan, "k")                               # 2 let through, then the quota: not counted
    assert _get_usage(limiter, plan, startDate="2026-12-01", endDate="2026-12-03") == (200, None, {
        "usagePlanId": "p", "startDate": "2026-12-01", "endDate": "2026-12-03",
        "values": {"k": [[0, 5], [3, 2], [2, 0]]}})
    assert _get_usage(limiter, plan, startDate="2026-12-03", endDate="2026-12-03", keyId="other")[2]["values"] == {}


def test_get_usage_without_a_quota_reports_0_left_and_counts_throttled_requests_out():
    clock = Clock()
    wall = datetime(2026, 12, 3, 12, tzinfo=timezone.utc).timestamp()
    limiter = usage_plans.Limiter(clock=clock, wall=lambda: wall)
    plan = _plan(rate=1.0, burst=2)
    answers = [limiter.admit(plan, "k") for _ in range(5)]
    assert sum(a is None for a in answers) == 2
    assert _get_usage(limiter, plan, startDate="2026-12-03", endDate="2026-12-03")[2]["values"] == {"k": [[2, 0]]}


@pytest.mark.parametrize("query, status, error_type, message", [
    ({"startDate": "2026-12-03"}, 400, "BadRequestException",
     "startDate and endDate must be dates of the form YYYY-MM-DD (UTC days)"),
    ({"startDate": "03/12/2026", "endDate": "2026-12-03"}, 400, "BadRequestException",
     "startDate and endDate must be dates of the form YYYY-MM-DD (UTC days)"),
    ({"startDate": "2026-12-04", "endDate": "2026-12-03"}, 400, "BadRequestException",
     "The range from startDate to endDate must be 1 to 366 days, starting with startDate"),
    ({"startDate": "2020-01-01", "endDate": "2026-12-03"}, 400, "BadRequestException",
     "The range from startDate to endDate must be 1 to 366 days, starting with startDate"),
])
def test_get_usage_bad_input_says_what_is_wrong(query, status, error_type, message):
    limiter = usage_plans.Limiter()
    assert _get_usage(limiter, _plan(), **query) == (status, error_type, {"message": message})


def test_get_usage_of_no_such_plan_is_404():
    import json
    response = usage_plans.usage_answer(usage_plans.Limiter(), None, "nope", {})
    assert (response.status, json.loads(response.body)) == (404, {"message": "Invalid Usage Plan ID specified"})


def test_daily_counts_keep_a_quarter():
    wall = [datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()]
    limiter = usage_plans.Limiter(clock=lambda: 0.0, wall=lambda: wall[0])
    for _ in range(200):
        limiter.admit(_plan(), "k")
        wall[0] += 86400
    assert limiter.on_day("p", "k", "2026-01-01") == 0 and limiter.on_day("p", "k", "2026-07-18") == 1
    assert len(limiter._daily[("p", "k")]) == usage_plans.DAYS_KEPT


def test_moto_does_not_answer_get_usage():
    """Measured: moto 5.2 answers GetUsage 404 "Not yet implemented", so the local target answers it itself
    (server.py) and the real-AWS layer scripts it; this fails once moto implements it."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
    with mock_aws():
        gateway = boto3.client("apigateway", region_name="us-east-1")
        plan = gateway.create_usage_plan(name="p")["id"]
        with pytest.raises(ClientError, match="Not yet implemented"):
            gateway.get_usage(usagePlanId=plan, startDate="2026-12-03", endDate="2026-12-03")


def test_a_quota_added_during_the_day_is_left_as_the_limiter_counts_it():
    """Used counts every request let through; remaining follows what the quota refuses, counted from its start."""
    wall = datetime(2026, 12, 3, 12, tzinfo=timezone.utc).timestamp()
    limiter = usage_plans.Limiter(clock=lambda: 0.0, wall=lambda: wall)
    for _ in range(3):
        limiter.admit(_plan(), "k")
    quota = _plan(quota=5, period="DAY")
    limiter.admit(quota, "k")
    assert _get_usage(limiter, quota, startDate="2026-12-03", endDate="2026-12-03")[2]["values"] == {"k": [[4, 4]]}
