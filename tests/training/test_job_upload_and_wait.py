"""`train --on sagemaker`'s channel upload (objects sent while the next is written) and its waiting (backoff)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from wildrydes_cli.training import job_watch, sagemaker_job
from wildrydes_cli.training.channels import csv_bytes
from wildrydes_cli.training.data import Dataset
from wildrydes_cli.training.recordio_protobuf import recordio_bytes, template
from wildrydes_cli.training.synthetic import generate_rides


class Bucket:
    """Just enough of ``Aws`` for the upload: objects in a dict; PutObject number ``fail_at`` refused."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.objects: dict[str, bytes] = {}
        self.types: dict[str, str] = {}
        self.fail_at = fail_at
        self.puts = 0
        self.threads: set[str] = set()

    def client(self, service: str) -> None:
        return None

    def put_object(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.puts += 1
        self.threads.add(threading.current_thread().name)
        if self.puts == self.fail_at:
            raise OSError("the disk is full")
        self.objects[key] = bytes(body)
        self.types[key] = content_type

    def delete_keys_checked(self, bucket: str, keys: list[str]) -> tuple[int, list[str]]:
        for key in keys:
            del self.objects[key]
        return len(keys), []


def place(aws: Bucket) -> sagemaker_job.Place:
    return sagemaker_job.Place(aws, "local", "us-east-1", "bucket", "role", "image")


def data(rows: int, seed: int) -> Dataset:
    rides = generate_rides(rows, seed=seed)
    return Dataset(rides.features, rides.labels, "synthetic")


@pytest.mark.parametrize("content_type, mime, suffix, write", [
    ("recordio-protobuf", "application/x-recordio-protobuf", ".pbr", recordio_bytes),   # the default
    ("csv", "text/csv", ".csv", csv_bytes),
])
def test_the_channels_arrive_whole_in_order_from_another_thread(content_type, mime, suffix, write):
    aws = Bucket()
    train, validation = data(1000, 1), data(100, 2)
    given = {} if content_type == "recordio-protobuf" else {"content_type": content_type}
    keys = sagemaker_job.upload_channels(place(aws), "job", train, validation, 4, **given)
    assert keys == [f"training/job/train/part-0000{n}{suffix}" for n in range(4)] + [
        f"training/job/validation/part-00000{suffix}"]
    assert sorted(aws.objects) == sorted(keys)
    assert b"".join(aws.objects[k] for k in keys[:4]) == write(train.labels, train.features)
    assert aws.objects[keys[4]] == write(validation.labels, validation.features)
    assert set(aws.types.values()) == {mime}
    assert aws.threads and not aws.threads & {threading.current_thread().name}


@pytest.mark.parametrize("fail_at", [1, 3, 5])
def test_a_refused_object_leaves_nothing_behind(fail_at):
    aws = Bucket(fail_at=fail_at)
    with pytest.raises(OSError, match="disk is full"):
        sagemaker_job.upload_channels(place(aws), "job", data(1000, 1), data(100, 2), 4)
    assert aws.objects == {}


class SlowBucket(Bucket):
    """Each PutObject takes a while; counts how many run at once."""

    def __init__(self, fail_at: int | None = None, seconds: float = 0.05) -> None:
        super().__init__(fail_at)
        self.seconds = seconds
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def put_object(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.puts += 1
            number = self.puts
        try:
            time.sleep(self.seconds if number != self.fail_at else 0)
            if number == self.fail_at:
                raise OSError("the disk is full")
            with self.lock:
                self.objects[key] = bytes(body)
                self.types[key] = content_type
        finally:
            with self.lock:
                self.running -= 1


def test_uploads_overlap_at_most_uploads_in_flight_at_once():
    aws = SlowBucket()
    keys = sagemaker_job.upload_channels(place(aws), "job", data(1000, 1), data(100, 2), 6)
    assert aws.most == sagemaker_job.UPLOADS_IN_FLIGHT == 2
    assert sorted(aws.objects) == sorted(keys) and len(keys) == 7


def test_a_refused_object_leaves_nothing_behind_even_what_arrived_after_it():
    """Object 2 is refused at once while object 1 is still on its way: 1 arrives, then is deleted."""
    aws = SlowBucket(fail_at=2, seconds=0.3)
    with pytest.raises(OSError, match="disk is full"):
        sagemaker_job.upload_channels(place(aws), "job", data(1000, 1), data(100, 2), 4)
    assert aws.objects == {} and aws.running == 0


def test_polls_back_off_and_start_short_again_after_a_change():
    interval = job_watch.poll_intervals(2.0, 10.0)
    seen = [interval("InProgress/Training") for _ in range(6)]
    assert seen == [2.0, 3.0, 4.5, 6.75, 10.0, 10.0]
    assert interval("InProgress/Uploading") == 2.0


def test_waiting_sees_a_short_job_end_soon_and_never_polls_faster_than_the_first_interval():
    states = ["Starting"] * 2 + ["Training"] * 8 + ["Completed"]
    descriptions = iter({"TrainingJobStatus": "Completed" if s == "Completed" else "InProgress",
                         "SecondaryStatus": s} for s in states)

    class Jobs:
        def describe_training_job(self, name: str) -> dict:
            return next(descriptions)
    slept: list[float] = []
    shown: list[str] = []
    found = job_watch.wait(sagemaker_job.Place(Jobs(), "local", "r", "b", "role", "i"), "job", 0.25,
                           lambda d: shown.append(d["SecondaryStatus"]), None, sleep=slept.append, first_poll=0.05)
    assert found["TrainingJobStatus"] == "Completed" and shown == states
    assert slept[0] == 0.05 and slept[2] == 0.05          # short again when Training starts
    assert min(slept) == 0.05 and max(slept) == 0.25 and len(slept) == len(states) - 1
    assert np.all(np.diff(slept[2:]) >= 0)


@pytest.mark.parametrize("rows, instances, objects", [(450, 1, 5), (450, 8, 8), (50, 1, 1)])
def test_the_train_channel_is_cut_into_objects_of_at_most_rows_per_shard(monkeypatch, rows, instances, objects):
    # 450 rides: 405 train rows, 100 a shard -> 5 objects; at least one per instance; small data: one
    monkeypatch.setattr(sagemaker_job, "ROWS_PER_SHARD", 100)

    class Jobs(Bucket):
        def create_training_job(self, request: dict) -> str:
            self.request = request
            return "arn"
    aws = Jobs()
    options = sagemaker_job.SageMakerOptions(instance_count=instances)
    started = sagemaker_job.start_job(place(aws), "job", options, data(rows, 3), 0, 2, "binary_classifier", None)
    train = sorted(k for k in aws.objects if "/train/" in k)
    assert len(train) == objects
    record = template(6).size                 # the default format: one fixed-size record a ride
    assert all(len(aws.objects[k]) % record == 0 for k in train)
    assert max(len(aws.objects[k]) // record for k in train) <= 100
    assert sum(len(aws.objects[k]) // record for k in train) == started["rows"]["train"]
    assert {c["ContentType"] for c in aws.request["InputDataConfig"]} == {"application/x-recordio-protobuf"}


def test_the_guide_states_the_object_size_and_the_poll_intervals_in_use():
    from pathlib import Path

    from wildrydes_cli.aws.target import AwsTarget, LocalTarget

    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text().split())
    assert f"objects of at most {sagemaker_job.ROWS_PER_SHARD:,} rows" in text
    assert f"{sagemaker_job.UPLOADS_IN_FLIGHT} uploads at a time" in text
    assert (f"after {AwsTarget.job_poll_first_s:g} s (the local target: {LocalTarget.job_poll_first_s:g} s), then "
            f"{job_watch.BACKOFF:g}× longer each time up to every {AwsTarget.job_poll_s:g} s "
            f"({LocalTarget.job_poll_s:g} s)") in text


def test_an_unknown_content_type_is_refused_before_anything_is_made():
    from wildrydes_cli.errors import UsageError
    with pytest.raises(UsageError, match="--content-type 'json': one of recordio-protobuf, csv"):
        sagemaker_job.check_options(sagemaker_job.SageMakerOptions(content_type="json"), 2, "binary_classifier")
    sagemaker_job.check_options(sagemaker_job.SageMakerOptions(), 2, "binary_classifier")   # the default passes


def test_rows_at_gathers_the_same_rows_in_the_same_order_as_indexing():
    from wildrydes_cli.training.mxnet_trainer import split
    dataset = data(1000, 4)
    for indices in split(dataset.rows, 0):
        taken = sagemaker_job.rows_at(dataset, indices)
        assert np.array_equal(taken.features, dataset.features[indices])
        assert np.array_equal(taken.labels, dataset.labels[indices])
        assert taken.features.dtype == dataset.features.dtype and taken.source == dataset.source
