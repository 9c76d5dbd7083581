"""``wildrydes train --on sagemaker``: the rides as Linear Learner channels, a SageMaker training job, its model.

Why in this order: everything that can be refused is refused before anything is
made (options, the region's image, the bucket and its region, the role, the data,
the hyperparameters against the data, a job name in use), because a job SageMaker
fails minutes later costs money and leaves objects behind. Then the channels are
written (headerless CSV, label first, ``channels.py``) and uploaded under
``training/<job>/{train,validation}/``, the job is created, and a refused
CreateTrainingJob deletes what was uploaded: nothing is left behind in S3 by a
refused job. The same rows and split as ``--on local`` go into the channels (the
validation channel is the 10% a local run holds out), so both paths train the
same model from the same data.

The model lands where SageMaker puts it, ``<S3OutputPath>/<job>/output/model.tar.gz``,
with S3OutputPath the bucket's root (so ``deploy`` picks the newest
``linear-learner-*`` as it always did) or ``breeds/<breed>/``, whose ``latest.json``
is written once the job has succeeded and its model passed the function's reader.
Waiting (and the queue of ``--breeds``) is ``job_watch.py``.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from wildrydes_cli import linear_learner as ll
from wildrydes_cli.errors import NotFoundError, UsageError
from wildrydes_cli.settings import Settings
from wildrydes_cli.training import publish
from wildrydes_cli.training.data import Dataset

if TYPE_CHECKING:
    from wildrydes_cli.aws.client import Aws

LOG = logging.getLogger(__name__)

TRAINING_PREFIX = "training/"
UPLOADS_IN_FLIGHT = 2      # channel objects sent at once (upload_channels)
ROWS_PER_SHARD = 250_000     # a channel object (17 MB of records, 7 MB of CSV): sent while the next is written
# --content-type: (the channel's ContentType, the objects' suffix); recordio-protobuf is the SDK's choice
CONTENT_TYPES = {"recordio-protobuf": ("application/x-recordio-protobuf", ".pbr"), "csv": ("text/csv", ".csv")}


@dataclass(frozen=True)
class SageMakerOptions:
    """What ``train --on sagemaker`` adds to a training: where and how the job runs, and its hyperparameters."""

    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    spot: bool = False
    max_runtime: int = 3600
    max_wait: int | None = None
    mini_batch_size: int | None = None
    learning_rate: float | None = None
    wd: float | None = None
    l1: float | None = None
    normalize_data: bool = True
    selection: str = "accuracy"
    feature_dim: int | None = None
    role: str | None = None
    job_name: str | None = None
    wait: bool = True
    concurrent_jobs: int = 2       # --breeds: jobs in flight at once (SageMaker's quotas are small)
    content_type: str = "recordio-protobuf"   # the channels' format, a key of CONTENT_TYPES


def check_options(options: SageMakerOptions, epochs: int, predictor_type: str) -> None:
    """Refuse what SageMaker would refuse, before anything is read, made or uploaded (the instance type:
    ``check_instance_type``, from the SageMaker client's model, when the target is known)."""
    if options.instance_count < 1:
        raise UsageError(f"--instance-count must be at least 1 (got {options.instance_count})")
    if options.instance_count > 100:
        raise UsageError(f"--instance-count {options.instance_count}: at most 100 instances in one job")
    if options.max_runtime < 1:
        raise UsageError(f"--max-runtime must be at least 1 second (got {options.max_runtime})")
    if options.max_wait is not None and not options.spot:
        raise UsageError("--max-wait applies to spot training: add --spot, or drop --max-wait")
    if options.spot and options.max_wait is not None and options.max_wait < options.max_runtime:
        raise UsageError(f"--max-wait ({options.max_wait} s) must be at least --max-runtime "
                         f"({options.max_runtime} s): it includes the time spent waiting for spot capacity")
    if options.job_name is not None and not ll.JOB_NAME.match(options.job_name):
        raise UsageError(f"--job-name {options.job_name!r}: {ll.JOB_NAME_RULE}")
    if options.content_type not in CONTENT_TYPES:
        raise UsageError(f"--content-type {options.content_type!r}: one of {', '.join(CONTENT_TYPES)}")
    if not 1 <= options.concurrent_jobs <= 100:
        raise UsageError(f"--concurrent-jobs must be between 1 and 100 (got {options.concurrent_jobs})")
    problems = ll.problems(hyperparameters(options, epochs, predictor_type, None))
    if problems:
        raise UsageError("; ".join(problems))


def hyperparameters(options: SageMakerOptions, epochs: int, predictor_type: str,
                    mini_batch_size: int | None) -> dict[str, str]:
    """The job's HyperParameters (strings, as SageMaker passes them to the algorithm)."""
    hp = {"predictor_type": predictor_type, "epochs": str(epochs),
          "feature_dim": str(options.feature_dim) if options.feature_dim is not None else str(len(ll_features())),
          "normalize_data": "true" if options.normalize_data else "false"}
    batch = options.mini_batch_size or mini_batch_size
    if batch is not None:
        hp["mini_batch_size"] = str(batch)
    for name in ("learning_rate", "wd", "l1"):
        value = getattr(options, name)
        if value is not None:
            hp[name] = repr(float(value))
    if predictor_type == "binary_classifier":
        hp["binary_classifier_model_selection_criteria"] = options.selection
    return hp


def check_instance_type(instance_type: str, types: tuple[str, ...]) -> None:
    if instance_type not in types:
        near = [t for t in types if t.startswith(instance_type.rsplit(".", 1)[0])][:6]
        raise UsageError(f"--instance-type {instance_type!r} is not a SageMaker training instance type"
                         + (f" (e.g. {', '.join(near)})" if near else " (e.g. ml.m5.large, ml.c5.xlarge)"))


def ll_features() -> tuple[str, ...]:
    from wildrydes_cli.layout import FEATURES
    return FEATURES


def check_data(options: SageMakerOptions, dataset: Dataset, train_rows: int, predictor_type: str) -> None:
    """What Linear Learner would fail the job for, found in the data before the job exists."""
    from wildrydes_cli.training.mxnet_trainer import check_labels

    width = dataset.features.shape[1]
    if options.feature_dim is not None and options.feature_dim != width:
        raise UsageError(f"--feature-dim {options.feature_dim} does not match the data: each ride has {width} "
                         f"features ({', '.join(dataset.feature_names)}); leave --feature-dim out")
    if options.mini_batch_size is not None and options.mini_batch_size > train_rows:
        raise UsageError(f"--mini-batch-size {options.mini_batch_size} is larger than the {train_rows:,} training "
                         "rows: Linear Learner fails such a job; use at most the number of training rows")
    check_labels(dataset.labels, predictor_type, dataset.source)


@dataclass
class Place:
    """Where a job runs and writes: resolved and checked once (for one job or a thousand breeds)."""

    aws: Any
    target: str
    region: str
    bucket: str
    role: str
    image: str


def prepare(settings: Settings, bucket: str | None, role: str | None, instance_type: str,
            job_name: str | None = None) -> Place:
    """The target, the instance type, the region's image, the bucket (in the job's region) and the execution
    role, checked."""
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.aws.data_bucket import require_data_bucket
    from wildrydes_cli.aws.target import resolve

    target = resolve(settings)
    region = target.settings.region
    image = ll.image_uri(region)
    if image is None:
        raise UsageError(f"SageMaker's Linear Learner has no image registry in {region} (the SageMaker SDK's "
                         f"table names {len(ll.REGISTRIES)} regions, e.g. us-east-1, eu-west-1): pass --region")
    aws = Aws(target)
    check_instance_type(instance_type, aws.training_instance_types())
    bucket = bucket or require_data_bucket(target.settings, aws, "train into")
    if not aws.bucket_exists(bucket):
        raise NotFoundError(f"bucket {bucket} does not exist on target {target.name}: run `wildrydes bootstrap` "
                            "or pass an existing --bucket")
    where = aws.bucket_region(bucket) or region
    if where != region:
        raise UsageError(f"bucket {bucket} is in {where}, but the training job would run in {region}: SageMaker "
                         f"reads channels and writes models in its own region; pass --region {where}")
    if role is None:
        role = _stack_role(target.settings, aws, bucket, job_name)
    return Place(aws, target.name, region, bucket, role, image)


def _stack_role(settings: Settings, aws: Aws, bucket: str, job_name: str | None) -> str:
    """The execution role ``bootstrap`` made (in its stack, or beside the workshop's module 1 stack), checked to
    be allowed what the job will do: a job its role may not do fails on SageMaker only at Downloading or
    Uploading (AccessDenied, its instance time billed). The local target does not check a job's role, so
    these checks are what keeps a job that works there from failing on AWS."""
    from wildrydes_cli import prerequisites
    from wildrydes_cli.aws.stacks import outputs_of

    for stack in (settings.prereq_stack, prerequisites.role_stack_name(settings.prereq_stack)):
        found = aws.stack(stack)        # one DescribeStacks: its outputs and parameters are all the checks need
        role = outputs_of(found).get(prerequisites.SAGEMAKER_ROLE_OUTPUT)
        if found is not None and role:
            beside = stack != settings.prereq_stack
            _check_role_stack(aws, stack, found, bucket, job_name,
                              {prerequisites.EXISTING_BUCKET_PARAMETER: bucket} if beside else {})
            return role
    raise NotFoundError(f"no SageMaker execution role: stack {settings.prereq_stack} has no "
                        f"{prerequisites.SAGEMAKER_ROLE_OUTPUT} output. Run `wildrydes bootstrap` (it adds "
                        "SageMakerExecutionRole: to a stack it made, or in stack "
                        f"{prerequisites.role_stack_name(settings.prereq_stack)} beside one it did not), or pass "
                        "--role ARN of a role that trusts sagemaker.amazonaws.com")


def _check_role_stack(aws: Aws, stack: str, found: dict, bucket: str, job_name: str | None,
                      parameters: dict[str, str]) -> None:
    """What the role of ``stack`` (described as ``found``) may not do for this job: another bucket, the bucket's
    KMS key, or (a stack from an earlier wildrydes) the output of a job not named linear-learner-*."""
    from wildrydes_cli import prerequisites
    from wildrydes_cli.aws import checks
    from wildrydes_cli.aws.stacks import outputs_of, parameters_of

    allowed_bucket = outputs_of(found).get("DataBucket")

    if allowed_bucket not in (None, bucket):
        raise UsageError(f"the SageMaker execution role of stack {stack} may only read and write bucket "
                         f"{allowed_bucket}, so SageMaker would fail a job on bucket {bucket} with AccessDenied: "
                         f"leave --bucket out to train into {allowed_bucket}, or pass --role ARN of a role that may "
                         f"read s3://{bucket}/training/ and write its models")
    key = checks.bucket_kms_key(aws, bucket)
    if key and key not in parameters_of(found).get(prerequisites.TRAINING_KMS_PARAMETER, "").split(","):
        raise UsageError(f"bucket {bucket} encrypts new objects with KMS key {key}, which the SageMaker execution "
                         f"role of stack {stack} may not use: SageMaker would fail the job at Downloading with "
                         "AccessDenied. Run `wildrydes bootstrap` (it lets the role use the bucket's key: "
                         "kms:Decrypt and kms:GenerateDataKey), or pass --role ARN of a role allowed to use it")
    if (job_name and not job_name.startswith("linear-learner-")
            and not aws.stack_is_current(stack, prerequisites.template_body(), parameters)):
        raise UsageError(f"stack {stack} was made by an earlier wildrydes, whose SageMaker execution role may write "
                         f"models only under linear-learner-*/: SageMaker would fail job {job_name} at Uploading "
                         "with AccessDenied, after billing its training. Run `wildrydes bootstrap` (it brings the "
                         "stack up to date), or leave --job-name out")


def new_job_name(now: datetime | None = None) -> str:
    return publish.job_name(now or datetime.now(timezone.utc))


def check_name_free(aws: Aws, name: str) -> None:
    if aws.describe_training_job(name) is not None:
        raise UsageError(f"training job {name} already exists in this account and region: SageMaker job names "
                         "are unique; pass another --job-name (or leave it out for a new one)")


def channel_body(content_type: str, labels: Any, features: Any) -> bytes | bytearray:
    """Rows as one channel object in the format of ``--content-type`` (a key of CONTENT_TYPES)."""
    if content_type == "csv":
        from wildrydes_cli.training.channels import csv_bytes
        return csv_bytes(labels, features)
    from wildrydes_cli.training.recordio_protobuf import recordio_bytes
    return recordio_bytes(labels, features)


def upload_channels(place: Place, name: str, train: Dataset, validation: Dataset, shards: int,
                    content_type: str = "recordio-protobuf") -> list[str]:
    """Write and upload the two channels; returns the keys uploaded (to delete if the job is refused).

    Each object is formatted in memory and sent by an upload thread while the next one is formatted,
    ``UPLOADS_IN_FLIGHT`` at a time (the emulator's S3 reads one body while it stores and fsyncs the one
    before, as S3 takes parallel PUTs): at most ``UPLOADS_IN_FLIGHT + 1`` objects of ``ROWS_PER_SHARD``
    rows are held at once, and no temporary file is written and read back. If one fails, every object
    that did arrive is deleted, after the others in flight have ended.
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    from wildrydes_cli.training.channels import shard_bounds

    mime, suffix = CONTENT_TYPES[content_type]
    submitted: list[Future] = []
    in_flight: deque[Future] = deque()
    place.aws.client("s3")          # made here, once: the upload threads only use it
    try:
        with ThreadPoolExecutor(max_workers=UPLOADS_IN_FLIGHT, thread_name_prefix="channel-upload") as pool:
            for channel, data, count in (("train", train, shards), ("validation", validation, 1)):
                for number, (low, high) in enumerate(shard_bounds(data.rows, count)):
                    body = channel_body(content_type, data.labels[low:high], data.features[low:high])
                    while len(in_flight) >= UPLOADS_IN_FLIGHT:
                        in_flight.popleft().result()
                    future = pool.submit(_put_channel_object, place,
                                         f"{TRAINING_PREFIX}{name}/{channel}/part-{number:05d}{suffix}", body, mime)
                    submitted.append(future)
                    in_flight.append(future)
                    del body
            while in_flight:
                in_flight.popleft().result()
    except BaseException:
        # The pool has waited for every upload in flight: what arrived is known, and is deleted.
        delete_channels(place, [f.result() for f in submitted if f.done() and f.exception() is None])
        raise
    return [f.result() for f in submitted]


def _put_channel_object(place: Place, key: str, body: bytes | bytearray, content_type: str) -> str:
    place.aws.put_object(place.bucket, key, body, content_type)
    return key


def delete_channels(place: Place, keys: list[str]) -> None:
    if keys:
        _, failed = place.aws.delete_keys_checked(place.bucket, keys)
        if failed:
            LOG.warning("could not delete %d channel objects of a refused job: %s", len(failed), failed)


def job_request(place: Place, name: str, options: SageMakerOptions, hp: dict[str, str],
                breed: str | None) -> dict[str, Any]:
    """The CreateTrainingJob request (botocore checks its shape before it is sent)."""
    channel = f"s3://{place.bucket}/{TRAINING_PREFIX}{name}"
    mime = CONTENT_TYPES[options.content_type][0]
    output = f"s3://{place.bucket}/" + (f"breeds/{breed}/" if breed else "")
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": place.image, "TrainingInputMode": "File"},
        "RoleArn": place.role,
        "HyperParameters": hp,
        "InputDataConfig": [
            {"ChannelName": "train", "ContentType": mime, "InputMode": "File",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{channel}/train/",
                                             "S3DataDistributionType": "ShardedByS3Key"
                                             if options.instance_count > 1 else "FullyReplicated"}}},
            {"ChannelName": "validation", "ContentType": mime, "InputMode": "File",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{channel}/validation/",
                                             "S3DataDistributionType": "FullyReplicated"}}},
        ],
        "OutputDataConfig": {"S3OutputPath": output},
        "ResourceConfig": {"InstanceType": options.instance_type, "InstanceCount": options.instance_count,
                           "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": options.max_runtime},
        "Tags": [{"Key": "wildrydes", "Value": "true"}] + ([{"Key": "breed", "Value": breed}] if breed else []),
    }
    if options.spot:
        request["EnableManagedSpotTraining"] = True
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = options.max_wait or options.max_runtime * 2
        request["CheckpointConfig"] = {"S3Uri": f"s3://{place.bucket}/checkpoints/{name}/"}
    return request


def rows_at(dataset: Dataset, indices: Any) -> Dataset:
    """The rows at ``indices``, in that order: ``np.take`` gathers a million shuffled rows in a third of the
    time of ``features[indices]`` (numpy 1.23's fancy indexing of a 2-D array; the same values)."""
    import numpy as np
    return Dataset(np.take(dataset.features, indices, axis=0), np.take(dataset.labels, indices), dataset.source)


def start_job(place: Place, name: str, options: SageMakerOptions, dataset: Dataset, seed: int, epochs: int,
              predictor_type: str, breed: str | None) -> dict[str, Any]:
    """Split, check, upload and create one job; its request (with ``rows``). Refused: nothing left in S3."""
    from wildrydes_cli.training.mxnet_trainer import _batch_size, split

    train, validation = (rows_at(dataset, indices) for indices in split(dataset.rows, seed))
    check_data(options, dataset, train.rows, predictor_type)
    # Linear Learner's own default batch is 1000; the local trainer's rule gives small data more steps.
    hp = hyperparameters(options, epochs, predictor_type, _batch_size(train.rows))
    shards = max(options.instance_count, math.ceil(train.rows / ROWS_PER_SHARD))
    request = job_request(place, name, options, hp, breed)
    keys = upload_channels(place, name, train, validation, shards, options.content_type)
    try:
        place.aws.create_training_job(request)
    except BaseException:
        delete_channels(place, keys)
        raise
    LOG.info("created training job %s (%d + %d rows, %d shards)", name, train.rows, validation.rows, shards)
    return {**request, "rows": {"train": train.rows, "validation": validation.rows}}
