"""The local target runs SageMaker training jobs for real: over HTTP with boto3, as a SageMaker client would."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from emulated import clients, emulator

from wildrydes_cli import linear_learner as ll
from wildrydes_cli.training.channels import csv_bytes
from wildrydes_cli.training.recordio_protobuf import recordio_bytes
from wildrydes_cli.training.synthetic import generate_rides

BUCKET = "training-data-bucket"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                  "Principal": {"Service": "sagemaker.amazonaws.com"}}]}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    with emulator(state) as status:
        aws = clients(status.endpoint_url, state_dir=state, services=("s3", "iam", "sagemaker", "logs"))
        aws["s3"].create_bucket(Bucket=BUCKET)
        role = aws["iam"].create_role(RoleName="sm-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        lambda_only = json.dumps({**TRUST, "Statement": [{**TRUST["Statement"][0],
                                                          "Principal": {"Service": "lambda.amazonaws.com"}}]})
        other = aws["iam"].create_role(RoleName="lambda-role", AssumeRolePolicyDocument=lambda_only)["Role"]["Arn"]
        rides = generate_rides(4000, seed=0)
        put = aws["s3"].put_object
        for part in range(3):
            rows = slice(part * 1200, (part + 1) * 1200)
            put(Bucket=BUCKET, Key=f"in/train/part-{part}.csv", Body=csv_bytes(rides.labels[rows], rides.features[rows]))
        put(Bucket=BUCKET, Key="in/validation/part-0.csv", Body=csv_bytes(rides.labels[3600:], rides.features[3600:]))
        for name, rows in (("train", slice(0, 3600)), ("validation", slice(3600, None))):
            put(Bucket=BUCKET, Key=f"rio/{name}/part-0.pbr", ContentType="application/x-recordio-protobuf",
                Body=recordio_bytes(rides.labels[rows], rides.features[rows]))
        big = generate_rides(200_000, seed=1)
        put(Bucket=BUCKET, Key="big/train/part-0.csv", Body=csv_bytes(big.labels, big.features))
        yield {"aws": aws, "role": role, "lambda_role": other, "state": state, "status": status}


def request(local, name: str, **changes) -> dict:
    body = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": ll.image_uri("us-east-1"), "TrainingInputMode": "File"},
        "RoleArn": local["role"],
        "HyperParameters": {"predictor_type": "binary_classifier", "feature_dim": "6", "mini_batch_size": "100"},
        "InputDataConfig": [channel("train", "in/train/"), channel("validation", "in/validation/")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    body.update(changes)
    return body


def channel(name: str, prefix: str, sharded: bool = False, content_type: str = "text/csv") -> dict:
    return {"ChannelName": name, "ContentType": content_type, "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}",
        "S3DataDistributionType": "ShardedByS3Key" if sharded else "FullyReplicated"}}}


def wait(sm, name: str, until=("Completed", "Failed", "Stopped"), timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = sm.describe_training_job(TrainingJobName=name)
        if found["TrainingJobStatus"] in until or found["SecondaryStatus"] in until:
            return found
        assert time.monotonic() < deadline, f"{name} still {found['TrainingJobStatus']}/{found['SecondaryStatus']}"
        time.sleep(0.1)


def test_a_job_runs_through_sagemakers_states_to_a_model(local):
    sm, s3 = local["aws"]["sagemaker"], local["aws"]["s3"]
    sm.create_training_job(**request(local, "job-completes"))
    assert sm.describe_training_job(TrainingJobName="job-completes")["TrainingJobStatus"] == "InProgress"
    done = wait(sm, "job-completes")
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
    assert [t["Status"] for t in done["SecondaryStatusTransitions"]] == [
        "Starting", "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert done["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{BUCKET}/out/job-completes/output/model.tar.gz"
    head = s3.head_object(Bucket=BUCKET, Key="out/job-completes/output/model.tar.gz")
    assert head["ContentLength"] > 500
    metrics = {m["MetricName"]: m["Value"] for m in done["FinalMetricDataList"]}
    assert metrics["validation:binary_classification_accuracy"] > 0.95 and "validation:roc_auc_score" in metrics
    assert done["TrainingTimeInSeconds"] >= 1 and done["BillableTimeInSeconds"] == done["TrainingTimeInSeconds"]
    assert done["TrainingStartTime"] <= done["TrainingEndTime"]
    events = local["aws"]["logs"].filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                    logStreamNamePrefix="job-completes/")["events"]
    assert {e["logStreamName"].rsplit("-", 1)[0] for e in events} == {"job-completes/algo-1"}
    assert any("#quality_metric: host=algo-1, validation roc_auc_score" in e["message"] for e in events)
    listed = sm.list_training_jobs(NameContains="job-completes")["TrainingJobSummaries"]
    assert [j["TrainingJobStatus"] for j in listed] == ["Completed"]


def test_a_recordio_protobuf_job_trains_the_same_model_as_a_csv_job_of_the_same_rows(local):
    sm = local["aws"]["sagemaker"]
    rio = "application/x-recordio-protobuf"
    sm.create_training_job(**request(local, "job-rio", InputDataConfig=[
        channel("train", "rio/train/", content_type=rio), channel("validation", "rio/validation/", content_type=rio)]))
    sm.create_training_job(**request(local, "job-csv-twin"))
    done = {name: wait(sm, name) for name in ("job-rio", "job-csv-twin")}
    assert all(d["TrainingJobStatus"] == "Completed" for d in done.values()), done
    metrics = {name: {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]} for name, d in done.items()}
    assert metrics["job-rio"] == metrics["job-csv-twin"] and metrics["job-rio"]
    events = local["aws"]["logs"].filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                    logStreamNamePrefix="job-rio/")["events"]
    assert any(f"Reading the train channel ({rio})" in e["message"] for e in events)


def test_sharded_channels_give_each_instance_its_objects(local):
    sm = local["aws"]["sagemaker"]
    sm.create_training_job(**request(local, "job-sharded", InputDataConfig=[
        channel("train", "in/train/", sharded=True), channel("validation", "in/validation/")],
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 3, "VolumeSizeInGB": 10}))
    assert wait(sm, "job-sharded")["TrainingJobStatus"] == "Completed"
    events = local["aws"]["logs"].filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                    logStreamNamePrefix="job-sharded/")["events"]
    shards = {e["logStreamName"].split("/")[1].rsplit("-", 1)[0]: e["message"] for e in events
              if "train channel (ShardedByS3Key)" in e["message"]}
    assert set(shards) == {"algo-1", "algo-2", "algo-3"}
    assert "part-1.csv" in shards["algo-2"] and "part-0.csv" not in shards["algo-2"]


def test_fewer_objects_than_instances_fails_the_job(local):
    sm = local["aws"]["sagemaker"]
    sm.create_training_job(**request(local, "job-too-few-shards", InputDataConfig=[
        channel("train", "in/train/", sharded=True)],
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 4, "VolumeSizeInGB": 10}))
    done = wait(sm, "job-too-few-shards")
    assert done["TrainingJobStatus"] == "Failed"
    assert "ShardedByS3Key over 4 instances but" in done["FailureReason"] and "holds 3 objects" in done["FailureReason"]
    assert "ModelArtifacts" not in done


def test_what_linear_learner_refuses_fails_the_job_with_its_reason(local):
    sm = local["aws"]["sagemaker"]
    sm.create_training_job(**request(local, "job-big-batch", HyperParameters={
        "predictor_type": "binary_classifier", "mini_batch_size": "100000"}))
    done = wait(sm, "job-big-batch")
    assert done["TrainingJobStatus"] == "Failed"
    assert done["FailureReason"].startswith("ClientError: mini_batch_size 100000 is larger than the 3,600 rows")


@pytest.mark.parametrize("changes, code, message", [
    ({"TrainingJobName": "job-completes"}, "ResourceInUse", "Training job names must be unique"),
    ({"TrainingJobName": "bad_name"}, "ValidationException", "Member must satisfy regular expression pattern"),
    ({"AlgorithmSpecification": {"TrainingImage": ll.image_uri("eu-west-1"), "TrainingInputMode": "File"}},
     "ValidationException", "is not the Linear Learner image of us-east-1"),
    ({"AlgorithmSpecification": {"TrainingImage": ll.image_uri("us-east-1"), "TrainingInputMode": "Pipe"}},
     "ValidationException", "supports File mode only"),
    ({"RoleArn": "arn:aws:iam::123456789012:role/nobody"}, "ValidationException",
     "allows principal 'sagemaker.amazonaws.com' to assume the role"),
    ({"ResourceConfig": {"InstanceType": "ml.m5.huge", "InstanceCount": 1, "VolumeSizeInGB": 10}},
     "ValidationException", "'ml.m5.huge' at 'resourceConfig.instanceType'"),
    ({"ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 0, "VolumeSizeInGB": 10}},
     "ValidationException", "InstanceCount 0 must be at least 1"),
    ({"OutputDataConfig": {"S3OutputPath": "s3://no-such-bucket-here/"}}, "ValidationException",
     "bucket no-such-bucket-here does not exist"),
    ({"EnableManagedSpotTraining": True}, "ValidationException", "Invalid MaxWaitTimeInSeconds"),
    ({"VpcConfig": {"SecurityGroupIds": ["sg-12345678"], "Subnets": ["subnet-12345678"]}}, "ValidationException",
     "VpcConfig: not supported by the local target"),
    ({"HyperParameters": {"predictor_type": "multiclass_classifier", "num_classes": "3"}}, "ValidationException",
     "multiclass_classifier"),
    ({"InputDataConfig": [{**channel("train", "rio/train/", content_type="application/x-recordio-protobuf"),
                           "RecordWrapperType": "RecordIO"}]}, "ValidationException",
     "InputDataConfig.1 (train): RecordWrapperType RecordIO applies to Pipe mode (SageMaker wraps each whole S3 "
     "object in one RecordIO record); in File mode, the only mode the local target runs, leave RecordWrapperType "
     "unset or None"),
    ({"InputDataConfig": [channel("train", "in/train/", content_type="application/jsonlines")]},
     "ValidationException", "ContentType 'application/jsonlines' is not supported by the local target's Linear "
     "Learner: use application/x-recordio-protobuf (one protobuf Record a row, as the SageMaker SDK writes) or "
     "text/csv"),
])
def test_create_refuses_as_sagemaker_does_and_makes_nothing(local, changes, code, message):
    sm = local["aws"]["sagemaker"]
    before = len(sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])
    with pytest.raises(ClientError) as refused:
        sm.create_training_job(**request(local, "job-refused", **changes))
    assert refused.value.response["Error"]["Code"] == code
    assert message in refused.value.response["Error"]["Message"]
    assert len(sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]) == before


def test_a_role_that_trusts_only_lambda_is_refused(local):
    with pytest.raises(ClientError, match="Could not assume role"):
        local["aws"]["sagemaker"].create_training_job(**request(local, "job-lambda-role", RoleArn=local["lambda_role"]))


def test_a_bucket_in_another_region_is_refused(local):
    s3 = local["aws"]["s3"]
    s3.create_bucket(Bucket="eu-data-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(ClientError, match="bucket eu-data-bucket is in region eu-west-1, but the training job is in"):
        local["aws"]["sagemaker"].create_training_job(**request(
            local, "job-other-region", OutputDataConfig={"S3OutputPath": "s3://eu-data-bucket/"}))


def slow(local, name: str, **changes) -> dict:
    return request(local, name, InputDataConfig=[channel("train", "big/train/")],
                   HyperParameters={"predictor_type": "binary_classifier", "epochs": "1000", "mini_batch_size": "100"},
                   **changes)


def test_stop_training_job_stops_it_without_a_model(local):
    sm = local["aws"]["sagemaker"]
    sm.create_training_job(**slow(local, "job-stopped"))
    wait(sm, "job-stopped", until=("Training",))
    sm.stop_training_job(TrainingJobName="job-stopped")
    assert sm.describe_training_job(TrainingJobName="job-stopped")["TrainingJobStatus"] in ("Stopping", "Stopped")
    done = wait(sm, "job-stopped", until=("Stopped",), timeout=30)
    assert done["TrainingJobStatus"] == "Stopped" and done["SecondaryStatus"] == "Stopped"
    assert "ModelArtifacts" not in done
    with pytest.raises(ClientError, match="the training job is in status Stopped"):
        sm.stop_training_job(TrainingJobName="job-stopped")


def test_max_runtime_stops_the_job(local):
    sm = local["aws"]["sagemaker"]
    sm.create_training_job(**slow(local, "job-max-runtime", StoppingCondition={"MaxRuntimeInSeconds": 2}))
    done = wait(sm, "job-max-runtime", until=("Stopped", "Completed", "Failed"), timeout=60)
    assert (done["TrainingJobStatus"], done["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


def test_an_unknown_job_is_not_found(local):
    with pytest.raises(ClientError, match="Requested resource not found"):
        local["aws"]["sagemaker"].describe_training_job(TrainingJobName="no-such-job")


def test_jobs_survive_a_restart_and_a_finished_one_is_not_run_again(tmp_path):
    state = tmp_path / "state"
    with emulator(state) as status:
        aws = clients(status.endpoint_url, state_dir=state, services=("s3", "iam", "sagemaker"))
        aws["s3"].create_bucket(Bucket=BUCKET)
        role = aws["iam"].create_role(RoleName="sm-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        rides = generate_rides(2000, seed=0)
        aws["s3"].put_object(Bucket=BUCKET, Key="in/train/part-0.csv", Body=csv_bytes(rides.labels, rides.features))
        big = generate_rides(200_000, seed=1)
        aws["s3"].put_object(Bucket=BUCKET, Key="big/train/part-0.csv", Body=csv_bytes(big.labels, big.features))
        local = {"role": role}
        sm = aws["sagemaker"]
        sm.create_training_job(**request(local, "job-done", InputDataConfig=[channel("train", "in/train/")]))
        first = wait(sm, "job-done")
        sm.create_training_job(**slow(local, "job-running"))
        wait(sm, "job-running", until=("Training",))
    with emulator(state) as status:
        aws = clients(status.endpoint_url, state_dir=state, services=("s3", "sagemaker"))
        again = aws["sagemaker"].describe_training_job(TrainingJobName="job-done")
        assert again["TrainingJobStatus"] == "Completed" and again["LastModifiedTime"] == first["LastModifiedTime"]
        assert again["SecondaryStatusTransitions"] == first["SecondaryStatusTransitions"]
        assert aws["s3"].head_object(Bucket=BUCKET, Key="out/job-done/output/model.tar.gz")["ContentLength"] > 500
        interrupted = aws["sagemaker"].describe_training_job(TrainingJobName="job-running")
        assert interrupted["TrainingJobStatus"] == "Failed"
        assert "the local target stopped (wildrydes local stop) while this job was running" in \
            interrupted["FailureReason"]
        assert not list(Path(state, "local", "training", "work").rglob("*.csv"))
