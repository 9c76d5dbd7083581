"""CreateTrainingJob's request checked as SageMaker checks it, before a job exists.

Why here and in this order: SageMaker answers a bad request with a
``ValidationException`` (or ``ResourceInUse`` for a name already used,
``ResourceLimitExceeded`` past the account's quota) and creates nothing, and
so does the local target. What the local target cannot emulate (another
algorithm, Pipe mode, VPCs, KMS keys, ...) is refused the same way, naming the
field, never ignored. What SageMaker leaves to the algorithm (hyperparameter
values, the data itself) fails the running job instead, as on AWS
(``training/algorithm.py``).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from wildrydes_cli import linear_learner
from wildrydes_cli.local.awsapi import moto_backends

NAME = re.compile(r"\A[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z")
ROLE = re.compile(r"\Aarn:aws[a-z\-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})\Z")
S3_URI = re.compile(r"\As3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?\Z")
CHANNEL_NAME = re.compile(r"\A[A-Za-z0-9\.\-_]{1,64}\Z")
# What the local Linear Learner reads (training/algorithm.py CONTENT_TYPES; local/ may not import it)
CONTENT_TYPES = ("text/csv", "text/csv;label_size=1", "application/x-recordio-protobuf")
# Request fields whose meaning the local target cannot reproduce: refused, not ignored.
UNSUPPORTED = ("VpcConfig", "DebugHookConfig", "DebugRuleConfigurations", "TensorBoardOutputConfig",
               "ExperimentConfig", "ProfilerConfig", "ProfilerRuleConfigurations", "Environment", "RetryStrategy",
               "RemoteDebugConfig", "InfraCheckConfig", "SessionChainingConfig")
DEFAULT_QUOTA = 4   # instances of one type in running jobs (SageMaker's quotas are per instance type)


class Refused(Exception):
    """An error answer: the AWS error code and its message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> Refused:
    return Refused("ValidationException", message)


def _s3(uri: str, field: str) -> tuple[str, str]:
    match = S3_URI.match(uri or "")
    if match is None:
        raise _invalid(f"{field} {uri!r} is not an S3 URI (s3://bucket/prefix)")
    return match.group(1), unquote(match.group(2) or "")


def _bucket(account: str, region: str, bucket: str, field: str) -> None:
    found = moto_backends.s3_bucket_region(account, bucket)
    if found is None:
        raise _invalid(f"{field}: bucket {bucket} does not exist; create it, or name a bucket of this "
                       f"account in {region}")
    if found != region:
        raise _invalid(f"{field}: bucket {bucket} is in region {found}, but the training job is in {region}; "
                       f"SageMaker reads input and writes output in its own region: use a bucket in {region}")


def _role(account: str, role_arn: str) -> None:
    match = ROLE.match(role_arn or "")
    if match is None:
        raise _invalid(f"RoleArn {role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    trust = moto_backends.role_trust_policy(match.group(1), match.group(2)) if match.group(1) == account else None
    if trust is None or "sagemaker.amazonaws.com" not in unquote(trust):
        raise _invalid(f"Could not assume role {role_arn}. Please ensure that the role exists and allows "
                       "principal 'sagemaker.amazonaws.com' to assume the role.")


def _algorithm(spec: dict, region: str) -> None:
    if spec.get("AlgorithmName"):
        raise _invalid("AlgorithmSpecification.AlgorithmName: the local target runs SageMaker's built-in "
                       f"Linear Learner only; give TrainingImage {linear_learner.image_uri(region)}")
    problem = linear_learner.image_problem(str(spec.get("TrainingImage", "")), region)
    if problem:
        raise _invalid(f"AlgorithmSpecification.TrainingImage: {problem} (the local target runs SageMaker's "
                       "built-in Linear Learner only)")
    mode = spec.get("TrainingInputMode", "File")
    if mode != "File":
        raise _invalid(f"AlgorithmSpecification.TrainingInputMode {mode}: the local target supports File mode only")
    for field in ("MetricDefinitions", "ContainerEntrypoint", "ContainerArguments", "TrainingImageConfig"):
        if spec.get(field):
            raise _invalid(f"AlgorithmSpecification.{field} is not supported by the local target "
                           "(the built-in Linear Learner's own metrics are reported)")


def _channels(channels: list, account: str, region: str, instances: int) -> None:
    if not channels:
        raise _invalid("InputDataConfig must name at least one channel (train)")
    names = set()
    for index, channel in enumerate(channels, start=1):
        name = str(channel.get("ChannelName", ""))
        where = f"InputDataConfig.{index} ({name or 'unnamed'})"
        if not CHANNEL_NAME.match(name):
            raise _invalid(f"{where}: ChannelName {name!r} must be 1-64 letters, digits, '.', '-' or '_'")
        if name in names:
            raise _invalid(f"{where}: channel {name} appears twice")
        names.add(name)
        source = (channel.get("DataSource") or {}).get("S3DataSource")
        if not source:
            raise _invalid(f"{where}: the local target reads S3 channels only (DataSource.S3DataSource)")
        if source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise _invalid(f"{where}: S3DataType {source.get('S3DataType')} is not supported by the local target: "
                           "use S3Prefix")
        distribution = source.get("S3DataDistributionType", "FullyReplicated")
        if distribution not in ("FullyReplicated", "ShardedByS3Key"):
            raise _invalid(f"{where}: S3DataDistributionType {distribution!r} is not FullyReplicated or "
                           "ShardedByS3Key")
        for field in ("AttributeNames", "InstanceGroupNames", "ModelAccessConfig", "HubAccessConfig"):
            if source.get(field):
                raise _invalid(f"{where}: S3DataSource.{field} is not supported by the local target")
        bucket, _ = _s3(source.get("S3Uri", ""), f"{where} S3Uri")
        _bucket(account, region, bucket, f"{where} S3Uri")
        content = str(channel.get("ContentType", "text/csv")).replace(" ", "").lower()
        if content not in CONTENT_TYPES:
            raise _invalid(f"{where}: ContentType {channel.get('ContentType')!r} is not supported by the local "
                           "target's Linear Learner: use application/x-recordio-protobuf (one protobuf Record a "
                           "row, as the SageMaker SDK writes) or text/csv (headerless, label first)")
        if channel.get("CompressionType", "None") != "None":
            raise _invalid(f"{where}: CompressionType {channel.get('CompressionType')} is not supported by the "
                           "local target: upload the objects uncompressed")
        if channel.get("RecordWrapperType", "None") != "None":
            # SageMaker's Channel: RecordIO wraps each S3 object in one RecordIO record (for Pipe mode);
            # "In File mode, leave this field unset or set it to None."
            raise _invalid(f"{where}: RecordWrapperType {channel.get('RecordWrapperType')} applies to Pipe mode "
                           "(SageMaker wraps each whole S3 object in one RecordIO record); in File mode, the only "
                           "mode the local target runs, leave RecordWrapperType unset or None. Data already in "
                           "RecordIO (application/x-recordio-protobuf) needs no wrapper")
        if channel.get("ShuffleConfig"):
            raise _invalid(f"{where}: ShuffleConfig is not supported by the local target")
        if channel.get("InputMode", "File") != "File":
            raise _invalid(f"{where}: InputMode {channel.get('InputMode')}: the local target supports File only")


def _resources(config: dict, spot: bool, stopping: dict) -> None:
    kind = config.get("InstanceType")
    if not kind:
        raise _invalid("ResourceConfig.InstanceType is required (e.g. ml.m5.large)")
    if kind not in linear_learner.training_instance_types():
        raise _invalid(f"1 validation error detected: Value '{kind}' at 'resourceConfig.instanceType' failed to "
                       "satisfy constraint: Member must satisfy enum value set of SageMaker's training instance "
                       "types (e.g. ml.m5.large, ml.c5.xlarge)")
    if int(config.get("InstanceCount", 0)) < 1:
        raise _invalid(f"ResourceConfig.InstanceCount {config.get('InstanceCount')} must be at least 1")
    if int(config.get("VolumeSizeInGB", 0)) < 1:
        raise _invalid("ResourceConfig.VolumeSizeInGB must be at least 1")
    for field in ("InstanceGroups", "VolumeKmsKeyId", "KeepAlivePeriodInSeconds", "TrainingPlanArn",
                  "InstancePlacementConfig"):
        if config.get(field):
            raise _invalid(f"ResourceConfig.{field} is not supported by the local target")
    runtime = int(stopping.get("MaxRuntimeInSeconds", 86400))
    if runtime < 1:
        raise _invalid("StoppingCondition.MaxRuntimeInSeconds must be at least 1")
    wait = stopping.get("MaxWaitTimeInSeconds")
    if spot and (wait is None or int(wait) < runtime):
        raise _invalid("Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to "
                       "MaxRuntimeInSeconds")
    if not spot and wait is not None:
        raise _invalid("MaxWaitTimeInSeconds applies to managed spot training only: set "
                       "EnableManagedSpotTraining, or leave it out")


def check_create(body: dict[str, Any], account: str, region: str, exists: bool, in_flight: int,
                 quota: int = DEFAULT_QUOTA) -> None:
    """Raise ``Refused`` for a request SageMaker (or the local target) would refuse; None when it may start."""
    name = str(body.get("TrainingJobName", ""))
    if not NAME.match(name):
        raise _invalid(f"1 validation error detected: Value '{name}' at 'trainingJobName' failed to satisfy "
                       "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
    if exists:
        raise Refused("ResourceInUse", "Training job names must be unique within an AWS account and region, and a "
                      f"training job with this name already exists ({body.get('_arn')})")
    unsupported = [field for field in UNSUPPORTED if body.get(field)]
    if unsupported:
        raise _invalid(f"{', '.join(unsupported)}: not supported by the local target; leave "
                       f"{'them' if len(unsupported) > 1 else 'it'} out (or train on AWS: --target aws)")
    _algorithm(body.get("AlgorithmSpecification") or {}, region)
    _role(account, str(body.get("RoleArn", "")))
    resources = body.get("ResourceConfig") or {}
    spot = bool(body.get("EnableManagedSpotTraining"))
    _resources(resources, spot, body.get("StoppingCondition") or {})
    _channels(body.get("InputDataConfig") or [], account, region, int(resources.get("InstanceCount", 1)))
    output = body.get("OutputDataConfig") or {}
    if output.get("KmsKeyId") or output.get("CompressionType", "GZIP") != "GZIP":
        raise _invalid("OutputDataConfig: KmsKeyId and CompressionType NONE are not supported by the local target")
    bucket, _ = _s3(output.get("S3OutputPath", ""), "OutputDataConfig.S3OutputPath")
    _bucket(account, region, bucket, "OutputDataConfig.S3OutputPath")
    checkpoint = body.get("CheckpointConfig") or {}
    if checkpoint:
        bucket, _ = _s3(checkpoint.get("S3Uri", ""), "CheckpointConfig.S3Uri")
        _bucket(account, region, bucket, "CheckpointConfig.S3Uri")
    hyperparameters = body.get("HyperParameters") or {}
    unsupported_hp = linear_learner.unsupported_locally(hyperparameters)
    if unsupported_hp:
        raise _invalid(f"HyperParameters: {'; '.join(unsupported_hp)}: not supported by the local target's "
                       f"Linear Learner (it implements {', '.join(sorted(linear_learner.LOCAL))})")
    wanted = int(resources.get("InstanceCount", 1))
    if in_flight + wanted > quota:
        raise Refused("ResourceLimitExceeded", f"The account-level service limit '{resources.get('InstanceType')} "
                      f"for training job usage' is {quota} Instances, with current utilization of {in_flight} "
                      f"Instances and a request delta of {wanted} Instances. (The local target's quota: "
                      "WILDRYDES_LOCAL_TRAINING_QUOTA.) Wait for a job to finish and try again.")

