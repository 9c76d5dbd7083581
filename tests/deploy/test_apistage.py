"""When stage prod must be deployed again: its deployment is older than the stack's last update."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wildrydes_cli.deploy.apistage import stage_is_stale

UPDATED = datetime(2026, 12, 3, 10, 0, 0, 500_000, tzinfo=UTC)   # CloudFormation: milliseconds


def test_a_deployment_from_before_the_update_is_stale():
    assert stage_is_stale(UPDATED, UPDATED - timedelta(minutes=5))
    assert stage_is_stale(UPDATED, UPDATED.replace(microsecond=200_000))   # earlier in the same second


def test_a_deployment_made_after_the_update_is_current():
    assert not stage_is_stale(UPDATED, UPDATED + timedelta(seconds=3))


def test_in_the_second_of_the_update_a_deployment_reads_older_and_is_made_again():
    """API Gateway's createdDate has whole seconds: one made at 10:00:00.9 reads 10:00:00."""
    assert stage_is_stale(UPDATED, UPDATED.replace(microsecond=0))


def test_a_stack_never_updated_or_a_stage_without_deployment_is_left_alone():
    assert not stage_is_stale(None, UPDATED) and not stage_is_stale(UPDATED, None)
