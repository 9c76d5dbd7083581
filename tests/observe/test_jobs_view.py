"""`wildrydes jobs` in words: every job's full name, status, metrics and model or failure, within 80 columns."""
from __future__ import annotations

import io

from wildrydes_cli.cli import presentation
from wildrydes_cli.cli.console import Console
from wildrydes_cli.observe.jobs import row
from wildrydes_cli.results import JobsResult


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


DONE = {"TrainingJobName": "linear-learner-2026-12-03-10-09-16-451", "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed", "BillableTimeInSeconds": 42, "ResourceConfig": {"InstanceType": "ml.m5.large"},
        "FinalMetricDataList": [{"MetricName": "validation:roc_auc_score", "Value": 0.9999},
                                {"MetricName": "validation:binary_classification_accuracy", "Value": 0.998}],
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/linear-learner-2026-12-03-10-09-16-451/output/model.tar.gz"}}
FAILED = {"TrainingJobName": "linear-learner-2026-12-03-10-09-17-001", "TrainingJobStatus": "Failed",
          "SecondaryStatus": "Failed", "FailureReason": "ClientError: mini_batch_size 5000 is larger than the rows"}
RUNNING = {"TrainingJobName": "my-job", "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training"}


def test_every_job_in_full_at_80_columns():
    out = Tty()
    presentation.show(Console(out=out, err=io.StringIO()),
                      JobsResult("local", "us-east-1", [row(DONE), row(FAILED), row(RUNNING)]))
    text = out.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines() if not line.startswith("    model: "))
    assert "linear-learner-2026-12-03-10-09-16-451  Completed, billable 42 s" in text
    assert "validation: auc 1.000, accuracy 0.998" in text
    assert "why: ClientError: mini_batch_size 5000 is larger than the rows" in text
    assert "my-job  InProgress (Training)" in text


def test_no_jobs_says_how_to_make_one():
    out = Tty()
    presentation.show(Console(out=out, err=io.StringIO()), JobsResult("local", "us-east-1", []))
    assert "No training jobs on target local (us-east-1) yet: wildrydes train --on sagemaker" in out.getvalue()


def test_a_breeds_run_on_sagemaker_names_its_channels_format():
    from wildrydes_cli.results import SageMakerBreedsResult

    out = Tty()
    breeds = [{"breed": "breed-0001", "job": "linear-learner-2026-12-03-10-09-16-451", "status": "Completed",
               "metrics": {"auc": 0.99, "accuracy": 0.98}, "key": "k", "gate": None}]
    for content_type in ("application/x-recordio-protobuf", "text/csv"):
        presentation.show(Console(out=out, err=io.StringIO()), SageMakerBreedsResult(
            "binary_classifier", True, "bucket", 1, 2000, 2, 3.0, 2, 1, 0, "ml.m5.large", 4, breeds,
            content_type=content_type))
        assert f"channels written as {content_type}; published to s3://bucket/breeds/<breed>/" in " ".join(
            out.getvalue().split())
