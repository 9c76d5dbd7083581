"""The AWS wrapper's SageMaker training-job intents (``Aws`` inherits them; it stays the one holder of clients).

Why apart from client.py: they are one concern (a job's life: create, watch, stop,
list, its log stream) and their errors need words of their own: a job name in use,
the account's quota on concurrent jobs (queue and retry, never fail a batch for it),
and a caller who may not pass the execution role (``iam:PassRole``).
"""
from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from wildrydes_cli.aws.boto_errors import code_of, message_of
from wildrydes_cli.errors import AwsError, NotFoundError, UsageError

LOG = logging.getLogger(__name__)

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class QuotaExceeded(AwsError):
    """SageMaker's ResourceLimitExceeded: too many instances of a type in running jobs (wait, then retry)."""


class TrainingJobIntents:
    """Mixed into ``Aws``: ``self.client`` and ``self.translate`` come from there."""

    client: Any
    translate: Any

    def training_instance_types(self) -> tuple[str, ...]:
        """The instance types CreateTrainingJob accepts, from the SageMaker client's own model (the one
        botocore loads for the client anyway: reading it apart cost a second botocore session and load)."""
        shape = self.client("sagemaker").meta.service_model.shape_for("TrainingInstanceType")
        return tuple(shape.enum)

    def create_training_job(self, request: dict[str, Any]) -> str:
        """CreateTrainingJob; its ARN. A used name, the quota and a missing PassRole are explained."""
        name = request["TrainingJobName"]
        try:
            return self.client("sagemaker").create_training_job(**request)["TrainingJobArn"]
        except ClientError as exc:
            code, message = code_of(exc), message_of(exc)
            if code == "ResourceInUse":
                raise UsageError(f"training job {name} already exists in this account and region: SageMaker job "
                                 "names are unique; pass another --job-name (or leave it out for a new one)") from exc
            if code == "ResourceLimitExceeded":
                raise QuotaExceeded(f"SageMaker's quota refused training job {name}: {message}") from exc
            if "iam:PassRole" in message:
                raise AwsError(f"Could not create training job {name}: your credentials may not pass the "
                               f"execution role to SageMaker ({message}). Ask for iam:PassRole on "
                               f"{request.get('RoleArn')} with condition iam:PassedToService = "
                               "sagemaker.amazonaws.com, or pass --role with a role you may pass.") from exc
            with self.translate(f"create training job {name}"):
                raise

    def describe_training_job(self, name: str) -> dict[str, Any] | None:
        """The job's description, or None when there is no such job."""
        try:
            return self.client("sagemaker").describe_training_job(TrainingJobName=name)
        except ClientError as exc:
            if code_of(exc) in ("ValidationException", "ResourceNotFound") and (
                    "not found" in message_of(exc).lower() or "could not find" in message_of(exc).lower()):
                return None
            with self.translate(f"describe training job {name}"):
                raise

    def stop_training_job(self, name: str) -> None:
        with self.translate(f"stop training job {name}"):
            self.client("sagemaker").stop_training_job(TrainingJobName=name)

    def recent_training_jobs(self, limit: int, name_contains: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` training jobs' summaries, newest first."""
        kwargs: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending",
                                  "MaxResults": max(1, min(limit, 100))}
        if name_contains:
            kwargs["NameContains"] = name_contains
        with self.translate("list training jobs"):
            return list(self.client("sagemaker").list_training_jobs(**kwargs).get("TrainingJobSummaries", []))[:limit]

    def training_log_events(self, job: str, start_ms: int = 0, next_token: str | None = None) -> dict:
        """One page of the job's log events (every instance's stream ``<job>/algo-N-<time>``)."""
        kwargs: dict[str, Any] = {"logGroupName": TRAINING_LOG_GROUP, "logStreamNamePrefix": f"{job}/",
                                  "startTime": start_ms}
        if next_token:
            kwargs["nextToken"] = next_token
        try:
            with self.translate(f"read the logs of training job {job}"):
                return self.client("logs").filter_log_events(**kwargs)
        except NotFoundError:
            return {"events": []}
