"""The training jobs' records on disk: kept whole, a damaged one set aside, a running one failed at start."""
from __future__ import annotations

import json
import stat

from wildrydes_cli.local.training.jobs import Job, JobStore, erase, training_dir


def record(name: str, status: str = "InProgress") -> dict:
    return {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:1:training-job/{name}",
            "TrainingJobStatus": status, "SecondaryStatus": "Training", "CreationTime": 1.0,
            "LastModifiedTime": 1.0, "TrainingStartTime": 2.0, "SecondaryStatusTransitions": [],
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2},
            "_account": "123456789012", "_region": "us-east-1", "_access_key": "WRLOCALX"}


def test_records_are_private_and_reread(tmp_path):
    store = JobStore(training_dir(tmp_path))
    store.add(Job(record("done", "Completed")))
    path = training_dir(tmp_path) / "jobs" / "123456789012" / "us-east-1" / "done.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = JobStore(training_dir(tmp_path))
    assert again.load() == []
    assert again.get("123456789012", "us-east-1", "done").status == "Completed"


def test_a_job_running_at_stop_is_failed_at_start_and_stops_counting_against_the_quota(tmp_path):
    store = JobStore(training_dir(tmp_path))
    store.add(Job(record("running")))
    assert store.in_flight("123456789012", "us-east-1", "ml.m5.large") == 2
    again = JobStore(training_dir(tmp_path))
    assert again.load() == ["running"]
    job = again.get("123456789012", "us-east-1", "running")
    assert job.status == "Failed" and "local target stopped" in job.record["FailureReason"]
    assert job.record["TrainingEndTime"] >= job.record["TrainingStartTime"]
    assert again.in_flight("123456789012", "us-east-1", "ml.m5.large") == 0
    assert json.loads((training_dir(tmp_path) / "jobs" / "123456789012" / "us-east-1" / "running.json")
                      .read_text())["TrainingJobStatus"] == "Failed"


def test_a_damaged_record_is_set_aside_not_deleted(tmp_path, caplog):
    store = JobStore(training_dir(tmp_path))
    store.add(Job(record("good", "Completed")))
    bad = training_dir(tmp_path) / "jobs" / "123456789012" / "us-east-1" / "bad.json"
    bad.write_text('{"TrainingJobName": "bad", ')
    again = JobStore(training_dir(tmp_path))
    again.load()
    assert again.get("123456789012", "us-east-1", "good") is not None
    assert bad.with_suffix(".json.damaged").exists() and not bad.exists()
    assert "bad.json cannot be read" in caplog.text


def test_erase_forgets_every_job(tmp_path):
    JobStore(training_dir(tmp_path)).add(Job(record("x", "Completed")))
    assert erase(tmp_path) is True and not training_dir(tmp_path).exists()
    assert erase(tmp_path) is False


def test_without_a_directory_nothing_is_kept(tmp_path):
    store = JobStore(None)
    store.add(Job(record("x")))
    assert store.load() == [] and store.get("123456789012", "us-east-1", "x") is not None
