"""A job's log is whole before DescribeTrainingJob can say it ended: a client that waits for the end
and then reads the log (``wildrydes logs --training``) finds every line, the final metrics included."""
from __future__ import annotations

import boto3

from wildrydes_cli import linear_learner as ll
from wildrydes_cli.local.training.api import TrainingJobs
from wildrydes_cli.local.training.jobs import Job, JobStore
from wildrydes_cli.local.training.runner import Runner
from wildrydes_cli.training.channels import csv_bytes
from wildrydes_cli.training.synthetic import generate_rides

ACCOUNT, REGION, BUCKET = "123456789012", "us-east-1", "log-order"


def test_every_log_line_is_written_while_the_job_is_still_in_progress(aws, tmp_path):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    rides = generate_rides(600, seed=0)
    s3.put_object(Bucket=BUCKET, Key="in/train/part-0.csv", Body=csv_bytes(rides.labels[:500], rides.features[:500]))
    s3.put_object(Bucket=BUCKET, Key="in/validation/part-0.csv",
                  Body=csv_bytes(rides.labels[500:], rides.features[500:]))
    body = {
        "TrainingJobName": "log-order",
        "AlgorithmSpecification": {"TrainingImage": ll.image_uri(REGION), "TrainingInputMode": "File"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/sm",
        "HyperParameters": {"predictor_type": "binary_classifier", "feature_dim": "6", "mini_batch_size": "50"},
        "InputDataConfig": [{"ChannelName": name, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/in/{name}/",
            "S3DataDistributionType": "FullyReplicated"}}} for name in ("train", "validation")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
    }
    store = JobStore(tmp_path / "training")
    job = Job(TrainingJobs._record(body, ACCOUNT, REGION, "AKIDLOCAL"))
    store.add(job)
    seen: list[tuple[str, list]] = []   # the job's status as each batch of log lines was written

    def write_logs(account, region, group, stream, events):
        seen.append((job.record["TrainingJobStatus"], [message for _, message in events]))

    def put_object(account, region, bucket, key, data, access_key):
        s3.put_object(Bucket=bucket, Key=key, Body=data)

    runner = Runner(store, write_logs, put_object)
    try:
        runner.run(job)
    finally:
        runner.shutdown()
    assert job.record["TrainingJobStatus"] == "Completed", job.record.get("FailureReason")
    lines = [line for _, batch in seen for line in batch]
    assert any("validation roc_auc_score" in line for line in lines)
    assert {status for status, _ in seen} == {"InProgress"}
