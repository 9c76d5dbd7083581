"""``wildrydes jobs``: the recent SageMaker training jobs of this target and region, with metrics and model.

Why a command of its own: a job left running (``--no-wait``, Ctrl-C, a thousand
breeds) is found again here, on either target, with what ``train`` would have
shown at its end: status, why it failed, its validation metrics and its model.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from wildrydes_cli import linear_learner
from wildrydes_cli.errors import UsageError
from wildrydes_cli.results import JobsResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

MAX_JOBS = 100


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else None


def row(description: dict) -> dict[str, Any]:
    resources = description.get("ResourceConfig") or {}
    return {
        "name": description.get("TrainingJobName"), "status": description.get("TrainingJobStatus"),
        "secondary_status": description.get("SecondaryStatus"),
        "created": _iso(description.get("CreationTime")), "ended": _iso(description.get("TrainingEndTime")),
        "instance_type": resources.get("InstanceType"), "instance_count": resources.get("InstanceCount"),
        "spot": bool(description.get("EnableManagedSpotTraining")),
        "metrics": linear_learner.validation_metrics(description.get("FinalMetricDataList") or []),
        "model": (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
        "billable_seconds": description.get("BillableTimeInSeconds"),
        "failure_reason": description.get("FailureReason"),
    }


def list_jobs(settings: Settings, aws, limit: int = 20, name_contains: str | None = None) -> JobsResult:
    """The newest ``limit`` training jobs, each described (metrics and model are only in the description)."""
    if not 1 <= limit <= MAX_JOBS:
        raise UsageError(f"--limit must be between 1 and {MAX_JOBS} (got {limit})")
    rows = []
    for summary in aws.recent_training_jobs(limit, name_contains):
        description = aws.describe_training_job(summary["TrainingJobName"]) or summary
        rows.append(row(description))
    return JobsResult(target=settings.target, region=settings.region, jobs=rows)
