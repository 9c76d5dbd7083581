"""`train --on sagemaker --target aws` against SageMaker as it behaves (moto + the scripted layer).

botocore validates every request's shape before the layer or moto sees it, so a
CreateTrainingJob the CLI builds wrongly fails here as it would against AWS.
"""
from __future__ import annotations

import json
import time

import boto3
import pytest
from cli_helpers import interactive, kms_bucket

from wildrydes_cli import linear_learner as ll

SMALL = ("--rows", "2000", "--epochs", "2")


@pytest.fixture
def boot(wildrydes) -> dict:
    return wildrydes.json("bootstrap")


def channel_keys(bucket: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="training/").get("Contents", [])]


def test_a_job_is_created_waited_for_and_its_model_checked(wildrydes, boot, real):
    result = wildrydes.json("train", "--on", "sagemaker", *SMALL)
    assert result["status"] == "Completed" and result["secondary_status"] == "Completed"
    assert result["transitions"] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert result["metrics"] == {"accuracy": 0.998, "auc": 0.9999, "objective_loss": 0.04}
    assert result["billable_seconds"] == result["training_seconds"] == 300
    name = result["job_name"]
    assert result["model"]["key"] == f"{name}/output/model.tar.gz"
    create = next(p for s, op, p in real.calls if op == "CreateTrainingJob")
    assert create["AlgorithmSpecification"]["TrainingImage"] == ll.image_uri("us-east-1")
    assert create["RoleArn"] == boot["sagemaker_role"]
    assert create["OutputDataConfig"] == {"S3OutputPath": f"s3://{boot['bucket']}/"}
    assert create["HyperParameters"]["predictor_type"] == "binary_classifier"
    assert create["HyperParameters"]["feature_dim"] == "6"
    uris = [c["DataSource"]["S3DataSource"]["S3Uri"] for c in create["InputDataConfig"]]
    assert uris == [f"s3://{boot['bucket']}/training/{name}/train/", f"s3://{boot['bucket']}/training/{name}/validation/"]
    # the default channels: recordio-protobuf, as the SageMaker SDK sends Linear Learner
    assert {c["ContentType"] for c in create["InputDataConfig"]} == {"application/x-recordio-protobuf"}
    assert result["content_type"] == "application/x-recordio-protobuf"
    keys = sorted(channel_keys(boot["bucket"]))
    assert keys == [f"training/{name}/train/part-00000.pbr", f"training/{name}/validation/part-00000.pbr"]
    assert {boto3.client("s3").head_object(Bucket=boot["bucket"], Key=k)["ContentType"] for k in keys} == {
        "application/x-recordio-protobuf"}
    # the job's model is what deploy serves: the newest linear-learner-* at the root
    assert wildrydes.json("deploy")["model_path"] == f"{name}/output/model.tar.gz"


def test_content_type_csv_writes_the_workshops_channels(wildrydes, boot, real):
    result = wildrydes.json("train", "--on", "sagemaker", "--content-type", "csv", *SMALL)
    name = result["job_name"]
    create = next(p for s, op, p in real.calls if op == "CreateTrainingJob")
    assert {c["ContentType"] for c in create["InputDataConfig"]} == {"text/csv"} and result["content_type"] == "text/csv"
    keys = sorted(channel_keys(boot["bucket"]))
    assert keys == [f"training/{name}/train/part-00000.csv", f"training/{name}/validation/part-00000.csv"]
    assert {boto3.client("s3").head_object(Bucket=boot["bucket"], Key=k)["ContentType"] for k in keys} == {"text/csv"}


def test_a_breed_job_writes_its_index_after_success(wildrydes, boot):
    result = wildrydes.json("train", "--on", "sagemaker", "--breed", "pegasus", *SMALL)
    key = f"breeds/pegasus/{result['job_name']}/output/model.tar.gz"
    assert result["model"]["key"] == key
    index = json.loads(boto3.client("s3").get_object(Bucket=boot["bucket"], Key="breeds/pegasus/latest.json")
                       ["Body"].read())
    assert index["key"] == key and index["metrics"]["accuracy"] == 0.998


def test_a_failed_job_shows_its_reason(wildrydes, boot, real):
    real.fail_job("AlgorithmError: out of memory")
    result = wildrydes("train", "--on", "sagemaker", *SMALL, expect=4, json_output=False)
    assert "failed: AlgorithmError: out of memory" in result.stderr
    assert "wildrydes logs --training linear-learner-" in result.stderr


def test_a_spot_job_is_interrupted_and_bills_less(wildrydes, boot, real):
    real.interrupt_spot()
    result = wildrydes.json("train", "--on", "sagemaker", "--spot", "--max-runtime", "600", *SMALL)
    assert "Interrupted" in result["transitions"] and result["status"] == "Completed"
    assert result["spot"] and result["billable_seconds"] < result["training_seconds"]
    create = next(p for s, op, p in real.calls if op == "CreateTrainingJob")
    assert create["EnableManagedSpotTraining"] is True
    assert create["StoppingCondition"] == {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200}
    assert create["CheckpointConfig"]["S3Uri"].startswith(f"s3://{boot['bucket']}/checkpoints/")


def test_ctrl_c_offers_to_stop_the_job(wildrydes, boot, real, monkeypatch):
    interactive(monkeypatch)
    interrupted = []

    def sleep(seconds: float) -> None:
        if not interrupted:
            interrupted.append(seconds)
            raise KeyboardInterrupt
    monkeypatch.setattr(time, "sleep", sleep)
    result = wildrydes.json("train", "--on", "sagemaker", *SMALL, input="y\n")
    assert result["status"] == "Stopped" and "model" not in result["model"]
    assert "StopTrainingJob" in real.operations("sagemaker")


def test_ctrl_c_can_leave_the_job_running(wildrydes, boot, real, monkeypatch):
    interactive(monkeypatch)
    monkeypatch.setattr(time, "sleep", lambda seconds: (_ for _ in ()).throw(KeyboardInterrupt))
    result = wildrydes.json("train", "--on", "sagemaker", *SMALL, input="n\n")
    assert result["status"] == "InProgress"
    assert "StopTrainingJob" not in real.operations("sagemaker")


def test_no_wait_returns_the_job_name(wildrydes, boot, real):
    result = wildrydes.json("train", "--on", "sagemaker", "--no-wait", *SMALL)
    assert result["status"] == "InProgress" and result["job_name"].startswith("linear-learner-")
    assert real.operations("sagemaker") == ["DescribeTrainingJob", "CreateTrainingJob"]
    listed = wildrydes.json("jobs")["jobs"]
    assert [j["name"] for j in listed] == [result["job_name"]]


def test_a_missing_pass_role_is_explained_and_nothing_is_left_in_s3(wildrydes, boot, real):
    real.deny_pass_role()
    result = wildrydes("train", "--on", "sagemaker", *SMALL, expect=4, json_output=False)
    assert "may not pass the execution role to SageMaker" in result.stderr
    assert "iam:PassRole on" in result.stderr and "iam:PassedToService" in result.stderr
    assert channel_keys(boot["bucket"]) == []


def test_breeds_are_queued_under_the_quota(wildrydes, boot, real):
    real.quota(2)
    result = wildrydes.json("train", "--on", "sagemaker", "--breeds", "5", "--concurrent-jobs", "3", *SMALL)
    assert result["count"] == 5 and result["failed"] == 0
    assert result["most_in_flight"] == 2       # the third was refused by the quota and waited its turn
    assert len({b["job"] for b in result["breeds"]}) == 5
    assert len(real.training_jobs) == 5
    assert result["content_type"] == "application/x-recordio-protobuf"
    creates = [p for s, op, p in real.calls if op == "CreateTrainingJob"]
    assert {c["ContentType"] for p in creates for c in p["InputDataConfig"]} == {"application/x-recordio-protobuf"}
    assert all(k.endswith(".pbr") for k in channel_keys(boot["bucket"]))


def test_a_data_files_rows_are_sharded_as_records_over_the_instances(wildrydes, boot, real, tmp_path):
    from ride_files import write_csv

    from wildrydes_cli.training.data import read_data
    from wildrydes_cli.training.recordio_protobuf import read_recordio_channel
    from wildrydes_cli.training.synthetic import generate_rides

    write_csv(generate_rides(3000, seed=5), tmp_path / "rides.csv")
    result = wildrydes.json("train", "--on", "sagemaker", "--data", str(tmp_path / "rides.csv"),
                            "--instance-count", "3", "--epochs", "2")
    create = next(p for s, op, p in real.calls if op == "CreateTrainingJob")
    assert create["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "ShardedByS3Key"
    s3 = boto3.client("s3")
    for channel, objects in (("train", 3), ("validation", 1)):
        keys = sorted(k for k in channel_keys(boot["bucket"]) if f"/{channel}/" in k)
        assert len(keys) == objects and all(k.endswith(".pbr") for k in keys)
        folder = tmp_path / channel
        folder.mkdir()
        for key in keys:
            (folder / key.rsplit("/", 1)[1]).write_bytes(s3.get_object(Bucket=boot["bucket"], Key=key)["Body"].read())
        assert read_recordio_channel(folder, channel, 10_000).rows == result["rows"][channel]
    assert result["rows"]["train"] + result["rows"]["validation"] == read_data(tmp_path / "rides.csv").rows == 3000


def test_breeds_move_latest_only_through_the_quality_gate(wildrydes, boot, real):
    """Each breed's job, once Completed, is gated before its latest.json moves (the layer's jobs write
    emulated.workshop_model, AUC about 0.49 on breed-0001's rides; the workshop's rule scores 0.99 there)."""
    from cli_helpers import aws_for

    from wildrydes_cli.settings import Settings
    from wildrydes_cli.training.publish import publish_model
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    bucket = boot["bucket"]
    served = publish_model(aws_for(Settings(target="aws")), bucket,
                           write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0), breed="breed-0001")
    breeds = ("train", "--on", "sagemaker", "--breeds", "2", *SMALL)
    refused = wildrydes.json(*breeds, expect=3)
    assert [item["breed"] for item in refused["refused"]] == ["breed-0001"]
    item = refused["refused"][0]
    job_key = f"breeds/breed-0001/{item['job']}/output/model.tar.gz"
    assert item["key"] == job_key and item["metrics"]["auc"] == 0.9999
    assert item["gate"]["served"] == served and item["gate"]["served_value"] > 0.99
    assert item["gate"]["data"].startswith("SYNTHETIC rides") and item["gate"]["rows"] == 20000
    assert item["gate"]["candidate_value"] < item["gate"]["served_value"] - 0.01
    assert f"The job's model stays at s3://{bucket}/{job_key}" in " ".join(item["reason"].split())
    assert [b["status"] for b in refused["breeds"]] == ["Completed", "Completed"]
    assert refused["breeds"][1]["gate"] is None                  # breed-0002's first model: nothing to compare
    history = wildrydes.json("models", "--breed", "breed-0001")
    assert history["latest"] == served and [m["how"] for m in history["moves"]] == ["not gated"]
    kept = next(m for m in history["models"] if m["model_path"] == job_key)   # published under its job key
    assert kept["latest"] is False and kept["card"]["trainer"] == "sagemaker"
    second = wildrydes.json("models", "--breed", "breed-0002")
    assert second["latest"] == refused["breeds"][1]["key"] and [m["how"] for m in second["moves"]] == ["not gated"]

    text = " ".join(wildrydes(*breeds, expect=3, json_output=False).stdout.split())
    assert "quality gate REFUSED 1 of 2 breeds (each model stays under its job key, latest.json stays" in text
    assert "breed-0001: auc 0.4" in text and "against 0.99" in text and "--force" in text
    passed = wildrydes.json("models", "--breed", "breed-0002")["moves"][0]   # the same model again: not worse
    assert passed["how"] == "gate passed" and passed["gate"]["candidate_value"] == passed["gate"]["served_value"]

    forced = wildrydes.json(*breeds, "--force")
    assert forced["refused"] == [] and forced["breeds"][0]["gate"]["forced"] is True
    history = wildrydes.json("models", "--breed", "breed-0001")
    assert history["latest"] == forced["breeds"][0]["key"] and history["moves"][0]["how"] == "forced"
    assert history["moves"][0]["previous"] == served


@pytest.mark.parametrize("args, message", [
    (("--instance-type", "ml.m5.huge"), "--instance-type 'ml.m5.huge' is not a SageMaker training instance type"),
    (("--instance-count", "0"), "--instance-count must be at least 1 (got 0)"),
    (("--mini-batch-size", "5000"), "--mini-batch-size 5000 is larger than the 1,800 training rows"),
    (("--feature-dim", "7"), "--feature-dim 7 does not match the data: each ride has 6 features"),
    (("--max-wait", "100"), "--max-wait applies to spot training"),
    (("--spot", "--max-runtime", "600", "--max-wait", "100"), "--max-wait (100 s) must be at least --max-runtime"),
    (("--learning-rate", "0"), "learning_rate '0.0' is not valid"),
    (("--job-name", "bad_name"), "--job-name 'bad_name': 1-63 letters"),
    (("--save", "m.tar.gz"), "--save keeps a model on this machine"),
    (("--trainer", "numpy"), "--trainer numpy chooses this machine's trainer"),
])
def test_bad_options_are_refused_before_anything_is_made(wildrydes, boot, real, args, message):
    result = wildrydes("train", "--on", "sagemaker", *SMALL, *args, expect=2, json_output=False)
    assert message in result.stderr
    assert "CreateTrainingJob" not in real.operations("sagemaker")
    assert channel_keys(boot["bucket"]) == []


def test_a_job_name_in_use_is_refused_before_uploading(wildrydes, boot, real):
    wildrydes.json("train", "--on", "sagemaker", "--job-name", "my-job", *SMALL)
    result = wildrydes("train", "--on", "sagemaker", "--job-name", "my-job", *SMALL, expect=2, json_output=False)
    assert "training job my-job already exists" in result.stderr
    assert real.operations("sagemaker").count("CreateTrainingJob") == 1


def test_a_bucket_in_another_region_is_refused(wildrydes, boot, real):
    real.bucket_in_region(boot["bucket"], "eu-west-1")
    result = wildrydes("train", "--on", "sagemaker", *SMALL, expect=2, json_output=False)
    assert "is in eu-west-1, but the training job would run in us-east-1" in result.stderr
    assert "CreateTrainingJob" not in real.operations("sagemaker")


def test_a_region_without_the_image_is_refused(wildrydes, real):
    result = wildrydes("--region", "mx-central-1", "train", "--on", "sagemaker", *SMALL, expect=2, json_output=False)
    assert "SageMaker's Linear Learner has no image registry in mx-central-1" in result.stderr


def test_sagemaker_options_are_refused_with_on_local(wildrydes, tmp_path):
    result = wildrydes("train", "--instance-count", "2", "--save", str(tmp_path / "m.tar.gz"), expect=2,
                       json_output=False)
    assert "--instance-count applies to a SageMaker training job: add --on sagemaker" in result.stderr


def test_content_type_is_refused_with_on_local(wildrydes, tmp_path):
    result = wildrydes("train", "--content-type", "csv", "--save", str(tmp_path / "m.tar.gz"), expect=2,
                       json_output=False)
    assert "--content-type applies to a SageMaker training job: add --on sagemaker" in result.stderr
    result = wildrydes("train", "--on", "sagemaker", "--content-type", "json", *SMALL, expect=2, json_output=False)
    assert "'json' is not one of 'recordio-protobuf', 'csv'" in result.stderr


def test_without_the_role_in_the_stack_the_fix_is_named(wildrydes, real):
    boto3.client("s3").create_bucket(Bucket="my-own-bucket")
    result = wildrydes("train", "--on", "sagemaker", "--bucket", "my-own-bucket", *SMALL, expect=3, json_output=False)
    assert "no SageMaker execution role" in result.stderr and "wildrydes bootstrap" in result.stderr


def test_a_jobs_flags_are_shown_as_a_local_runs_are(wildrydes, boot):
    """The card's flags (model_card.flags) under the metrics: 800 rides leave 720 to train on."""
    result = wildrydes.json("train", "--on", "sagemaker", "--rows", "800", "--epochs", "2")
    assert result["flags"] == ["trained on only 720 rows (under 1,000): its metrics are noisy"]
    assert "flags" not in result["model"]
    text = " ".join(wildrydes("train", "--on", "sagemaker", "--rows", "800", "--epochs", "2",
                              json_output=False).stdout.split())
    assert "flagged: trained on only 720 rows (under 1,000): its metrics are noisy data: " in text


def test_a_jobs_model_has_its_metrics_card_beside_it(wildrydes, boot):
    result = wildrydes.json("train", "--on", "sagemaker", *SMALL)
    key = result["model"]["key"]
    assert result["model"]["metrics_key"] == key.replace("model.tar.gz", "metrics.json")
    card = json.loads(boto3.client("s3").get_object(Bucket=boot["bucket"], Key=result["model"]["metrics_key"])
                      ["Body"].read())
    assert card["trainer"] == "sagemaker" and card["metrics"] == result["metrics"] and card["epochs"] == 2
    assert card["data"]["source"] == "synthetic" and card["data"]["rows"] == 2000
    # the channels' rows, as a local run's card gives its split: the metrics are the validation rows'
    assert (card["data"]["train_rows"], card["data"]["validation_rows"]) == (1800, 200) == (
        result["rows"]["train"], result["rows"]["validation"])
    listed = {m["model_path"]: m for m in wildrydes.json("models")["default_models"]}
    assert listed[key]["card"]["metrics"]["auc"] == 0.9999
    assert "on 200 validation rows (of 2,000 synthetic)" in " ".join(
        wildrydes("models", json_output=False).stdout.split())


# -- the execution role: where it lives, and what it may do (behaviour 6 of sagemaker_behaviour.py) --------

def test_a_workshop_participants_account_trains_with_the_role_bootstrap_puts_beside_its_stack(wildrydes, real,
                                                                                                slept):
    """Module 1's stack as the workshop made it has no SageMaker role, and wildrydes does not change it:
    `bootstrap` makes the role in stack wildrydes-ml-mod1-3-training, allowed on the workshop's bucket, and
    `train --on sagemaker` finds it there. Before, it refused and sent the participant to write a role."""
    import workshop_account
    account = workshop_account.build(boto3.client, "invoked", sleep=slept.append)
    refused = wildrydes("train", "--on", "sagemaker", *SMALL, expect=3, json_output=False)
    assert "Run `wildrydes bootstrap`" in refused.stderr and "wildrydes-ml-mod1-3-training" in refused.stderr
    boot = wildrydes.json("bootstrap")
    assert boot["sagemaker_role_stack"] == "wildrydes-ml-mod1-3-training" and boot["bucket"] == account.bucket
    result = wildrydes.json("train", "--on", "sagemaker", *SMALL)
    assert result["status"] == "Completed"        # the layer fails a job whose role may not read or write
    create = next(p for s, op, p in real.calls if op == "CreateTrainingJob")
    assert create["RoleArn"] == boot["sagemaker_role"]
    assert create["OutputDataConfig"] == {"S3OutputPath": f"s3://{account.bucket}/"}


def test_a_bucket_the_stacks_role_may_not_use_is_refused_before_anything_is_made(wildrydes, boot, real):
    boto3.client("s3").create_bucket(Bucket="my-own-bucket")
    result = wildrydes("train", "--on", "sagemaker", "--bucket", "my-own-bucket", *SMALL, expect=2,
                       json_output=False)
    said = " ".join(result.stderr.split())
    assert (f"the SageMaker execution role of stack wildrydes-ml-mod1-3 may only read and write bucket "
            f"{boot['bucket']}, so SageMaker would fail a job on bucket my-own-bucket with AccessDenied") in said
    assert "--role ARN" in said
    assert "CreateTrainingJob" not in real.operations("sagemaker")
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket="my-own-bucket")


def test_what_the_check_prevents_a_job_whose_role_may_not_read_its_channels_fails_at_downloading(wildrydes, boot,
                                                                                                real):
    """The same job with the role given by hand (--role: not checked, it may be any role): SageMaker takes
    it, and it fails once the instances read the channels, as the layer plays it."""
    boto3.client("s3").create_bucket(Bucket="my-own-bucket")
    result = wildrydes("train", "--on", "sagemaker", "--bucket", "my-own-bucket", "--role", boot["sagemaker_role"],
                       *SMALL, expect=4, json_output=False)
    said = " ".join(result.stderr.split())
    assert "Failed" in said and "ClientError: Data download failed:Unable to list s3://my-own-bucket/training/" in said


def _template_of_an_earlier_version() -> str:
    """prerequisites.yml as wildrydes made it before --job-name's models were allowed: output under
    linear-learner-*/ only, no ExistingDataBucket."""
    from cfnlint.decode import decode_str

    from wildrydes_cli import prerequisites
    template, _ = decode_str(prerequisites.template_body())
    del template["Parameters"], template["Conditions"], template["Resources"]["TrainingKeyPolicy"]
    for resource in template["Resources"].values():
        resource.pop("Condition", None)
    bucket = {"Fn::GetAtt": ["DataBucket", "Arn"]}
    statements = template["Resources"]["SageMakerExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"]
    for statement in statements:
        if statement["Sid"] == "ListChannelsAndCheckpoints":
            statement["Resource"] = bucket
        elif statement["Sid"] in ("ReadChannelsAndCheckpoints", "WriteModelsAndCheckpoints"):
            suffixes = (["/training/*", "/checkpoints/*"] if statement["Sid"].startswith("Read")
                        else ["/linear-learner-*/output/*", "/breeds/*/linear-learner-*/output/*", "/checkpoints/*"])
            statement["Resource"] = [{"Fn::Sub": ["${B}" + s, {"B": bucket}]} for s in suffixes]
    template["Outputs"]["DataBucket"]["Value"] = {"Ref": "DataBucket"}
    for name in ("DataProcessingExecutionRoleName", "DataProcessingExecutionRoleArn"):
        template["Outputs"][name].pop("Condition")
    return json.dumps(template, default=str)


def test_a_job_name_an_earlier_stacks_role_cannot_write_is_refused_until_bootstrap_updates_it(wildrydes, real):
    boto3.client("cloudformation").create_stack(
        StackName="wildrydes-ml-mod1-3", TemplateBody=_template_of_an_earlier_version(),
        Capabilities=["CAPABILITY_IAM"], Tags=[{"Key": "wildrydes", "Value": "true"}])
    assert wildrydes.json("train", "--on", "sagemaker", *SMALL)["status"] == "Completed"   # linear-learner-*
    refused = wildrydes("train", "--on", "sagemaker", "--job-name", "my-job", *SMALL, expect=2, json_output=False)
    said = " ".join(refused.stderr.split())
    assert "SageMaker would fail job my-job at Uploading with AccessDenied" in said
    assert "Run `wildrydes bootstrap`" in said
    assert real.operations("sagemaker").count("CreateTrainingJob") == 1
    assert wildrydes.json("bootstrap")["updated"] is True
    assert wildrydes.json("train", "--on", "sagemaker", "--job-name", "my-job", *SMALL)["status"] == "Completed"


def test_an_sse_kms_bucket_is_refused_until_bootstrap_lets_the_role_use_its_key(wildrydes, boot, real):
    """A bucket whose default encryption became a customer managed KMS key after bootstrap (a company's
    rule): the job would fail at Downloading (the channels cannot be decrypted by its role), so it is
    refused before anything is made; the next bootstrap grants the role that key, and the job runs."""
    key = kms_bucket(boot["bucket"])
    refused = wildrydes("train", "--on", "sagemaker", *SMALL, expect=2, json_output=False)
    said = " ".join(refused.stderr.split())
    assert f"bucket {boot['bucket']} encrypts new objects with KMS key {key}" in said
    assert "Run `wildrydes bootstrap`" in said and "CreateTrainingJob" not in real.operations("sagemaker")
    updated = wildrydes.json("bootstrap")
    assert updated["updated"] is True
    role = updated["sagemaker_role"].rsplit("/", 1)[1]
    granted = boto3.client("iam").get_role_policy(RoleName=role, PolicyName="TrainingDataKeys")["PolicyDocument"]
    assert granted["Statement"] == [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                     "Resource": [key]}]
    assert wildrydes.json("train", "--on", "sagemaker", *SMALL)["status"] == "Completed"
    assert wildrydes.json("bootstrap")["updated"] is False          # nothing more to grant


def test_a_role_given_by_hand_that_may_not_use_the_buckets_key_fails_the_job_at_downloading(wildrydes, boot, real):
    kms_bucket(boot["bucket"])
    result = wildrydes("train", "--on", "sagemaker", "--role", boot["sagemaker_role"], *SMALL, expect=4,
                       json_output=False)
    assert "ClientError: Data download failed:Unable to download object" in " ".join(result.stderr.split())
