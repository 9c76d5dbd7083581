"""Publishing trained models where SageMaker would, on moto S3; and `wildrydes train` against it."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone

import artifact
import boto3
import pytest
from cli_helpers import aws_for
from click.testing import CliRunner
from moto import mock_aws

from wildrydes_cli.aws.client import Aws
from wildrydes_cli.cli.main import cli
from wildrydes_cli.errors import UsageError
from wildrydes_cli.layout import INLINE_MODEL_MAX_BYTES
from wildrydes_cli.settings import Settings
from wildrydes_cli.training.publish import job_name, publish_model
from wildrydes_cli.training.sagemaker_archive import write_model_archive

BUCKET = "wildrydes-data-bucket"
NOW = datetime(2026, 11, 24, 21, 5, 9, 123456, tzinfo=timezone.utc)
MODEL = write_model_archive([0.5, -0.01, -0.01, -0.008, 0.004, 0.016], -10.0, threshold=0.45)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def aws(s3) -> Aws:
    return aws_for(Settings(target="aws"))


class RecordingAws(Aws):
    """The real wrapper (on moto), remembering the order of the keys it was asked to write."""

    keys: list[str]

    def put_object(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.keys.append(key)
        super().put_object(bucket, key, body, content_type)


def keys(s3) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_default_model_goes_to_the_bucket_root_with_sagemaker_naming(s3, aws):
    key = publish_model(aws, BUCKET, MODEL, now=NOW)
    assert key == "linear-learner-2026-11-24-21-05-09-123/output/model.tar.gz"
    assert keys(s3) == [key]
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == MODEL


def test_timestamps_are_utc_with_milliseconds():
    local = NOW.astimezone(timezone(timedelta(hours=-5)))
    assert job_name(local) == "linear-learner-2026-11-24-21-05-09-123"
    assert job_name(datetime(2026, 1, 2, 3, 4, 5, 999)) == "linear-learner-2026-01-02-03-04-05-000"


def test_newest_model_is_the_one_just_published(s3, aws):
    publish_model(aws, BUCKET, MODEL, now=NOW)
    newer = publish_model(aws, BUCKET, MODEL, now=NOW + timedelta(milliseconds=1))
    publish_model(aws, BUCKET, MODEL, breed="shire", now=NOW + timedelta(days=1))
    assert aws_for(Settings(target="aws")).newest_model_key(BUCKET) == newer


def test_breed_model_then_its_index(s3, aws):
    recording = RecordingAws(aws.target)
    recording.keys = []
    key = publish_model(recording, BUCKET, MODEL, breed="shire-2", now=NOW, metrics={"auc": 0.76})
    assert key == "breeds/shire-2/linear-learner-2026-11-24-21-05-09-123/output/model.tar.gz"
    # the index never points at nothing; its move is recorded after it
    assert recording.keys[:2] == [key, "breeds/shire-2/latest.json"] and len(recording.keys) == 3
    assert recording.keys[2].startswith("breeds/shire-2/latest-moves/") and recording.keys[2].endswith("Z.json")
    move = json.loads(s3.get_object(Bucket=BUCKET, Key=recording.keys[2])["Body"].read())
    assert move["key"] == key and move["how"] == "not gated" and move["previous"] is None and move["gate"] is None
    index = json.loads(s3.get_object(Bucket=BUCKET, Key="breeds/shire-2/latest.json")["Body"].read())
    inline = base64.b64decode(index.pop("model_base64"))
    assert inline == MODEL   # a small model travels inside its index: one GET for the function
    assert index == {"key": key, "trained_at": "2026-11-24T21:05:09.123Z", "metrics": {"auc": 0.76},
                     "sha256": hashlib.sha256(MODEL).hexdigest()}


def test_a_large_model_is_not_inlined_in_its_index(s3, aws):
    import random
    rng = random.Random(7)   # random weights: gzip cannot shrink them below the inline bound
    big = write_model_archive([rng.uniform(-1, 1) for _ in range(INLINE_MODEL_MAX_BYTES // 3)], 0.0, "regressor")
    assert len(big) > INLINE_MODEL_MAX_BYTES
    key = publish_model(aws, BUCKET, big, breed="shire", now=NOW)
    index = json.loads(s3.get_object(Bucket=BUCKET, Key="breeds/shire/latest.json")["Body"].read())
    assert "model_base64" not in index and index["key"] == key
    assert index["sha256"] == hashlib.sha256(big).hexdigest()


@pytest.mark.parametrize("breed", ["", "Shire", "../x", "a/b", "-lead", "x" * 64, "s p"])
def test_bad_breed_names_write_nothing(s3, aws, breed):
    with pytest.raises(UsageError, match="invalid breed name"):
        publish_model(aws, BUCKET, MODEL, breed=breed, now=NOW)
    assert keys(s3) == []


# ------------------------------------------------------------------ the command


def train(tmp_path, *args):
    base = ["--target", "aws", "--output", "json", "--scratchpad", str(tmp_path / "scratchpad.txt"),
            "train", "--rows", "600", "--epochs", "2"]
    return CliRunner().invoke(cli, base + list(args), catch_exceptions=False)


def test_train_publishes_to_the_named_bucket(s3, tmp_path):
    result = train(tmp_path, "--bucket", BUCKET)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    key = report["model"]["key"]
    assert report["model"]["location"] == f"s3://{BUCKET}/{key}"
    # the model and, beside it, its metrics card
    assert keys(s3) == [key.replace("model.tar.gz", "metrics.json"), key]
    assert key.startswith("linear-learner-") and key.endswith("/output/model.tar.gz")
    model = artifact.read_model_archive(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert model.threshold == pytest.approx(report["threshold"])


def test_train_breed_writes_model_and_latest(s3, tmp_path):
    result = train(tmp_path, "--bucket", BUCKET, "--breed", "pegasus")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    index = json.loads(s3.get_object(Bucket=BUCKET, Key="breeds/pegasus/latest.json")["Body"].read())
    assert index["key"] == report["model"]["key"] and index["key"].startswith("breeds/pegasus/linear-learner-")
    assert index["metrics"]["auc"] == pytest.approx(report["metrics"]["auc"])
    assert report["data"] == "synthetic (seed 0, breed pegasus)"


def test_bucket_from_the_scratchpad(s3, tmp_path):
    (tmp_path / "scratchpad.txt").write_text(f'"SomeRole"\nDataBucket: {BUCKET}\n')
    result = train(tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"]["bucket"] == BUCKET


def test_bucket_from_the_prerequisites_stack(s3, tmp_path):
    template = {"Resources": {"DataBucket": {"Type": "AWS::S3::Bucket"}}}
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    cfn.create_stack(StackName="wildrydes-ml-mod1-3", TemplateBody=json.dumps(template))
    bucket = cfn.describe_stack_resource(StackName="wildrydes-ml-mod1-3",
                                         LogicalResourceId="DataBucket")["StackResourceDetail"]["PhysicalResourceId"]
    result = train(tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"]["bucket"] == bucket
    assert [o["Key"].rsplit("/", 1)[1] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "metrics.json", "model.tar.gz"]


def test_no_bucket_anywhere_says_what_to_do(s3, tmp_path):
    result = train(tmp_path)
    assert result.exit_code == 3
    assert "no data bucket to publish to" in result.stderr and "wildrydes bootstrap" in result.stderr
    assert "--save PATH" in result.stderr


def test_missing_bucket_is_reported_before_training(s3, tmp_path):
    result = train(tmp_path, "--bucket", "no-such-bucket")
    assert result.exit_code == 3
    assert "bucket no-such-bucket does not exist" in result.stderr


def test_train_several_breeds(s3, tmp_path):
    result = train(tmp_path, "--bucket", BUCKET, "--breeds", "3")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [item["breed"] for item in report["breeds"]] == ["breed-0001", "breed-0002", "breed-0003"]
    for item in report["breeds"]:
        index = json.loads(s3.get_object(Bucket=BUCKET, Key=f"breeds/{item['breed']}/latest.json")["Body"].read())
        assert index["key"] == item["key"]
        artifact.read_model_archive(s3.get_object(Bucket=BUCKET, Key=item["key"])["Body"].read())
    weights = {tuple(artifact.read_model_archive(s3.get_object(Bucket=BUCKET, Key=i["key"])["Body"].read()).weights)
               for i in report["breeds"]}
    assert len(weights) == 3   # each breed its own data and model


def test_train_several_breeds_text_report(s3, tmp_path):
    base = ["--target", "aws", "--scratchpad", str(tmp_path / "s.txt"), "train", "--rows", "300",
            "--epochs", "1", "--bucket", BUCKET, "--breeds", "2"]
    result = CliRunner().invoke(cli, base, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "breed-0002" in result.stdout and "SYNTHETIC breeds" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--breeds", "0"], "--breeds must be between 1 and 10,000 (got 0)"),
    (["--breeds", "2", "--breed", "shire"], "--breeds names the breeds itself"),
    (["--breeds", "2", "--save", "m.tar.gz"], "--breeds publishes every breed to the data bucket"),
    (["--breeds", "2", "--data", "rides.csv"], "cannot be combined with --data"),
])
def test_bad_breeds_flags(s3, tmp_path, args, message):
    result = train(tmp_path, "--bucket", BUCKET, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert keys(s3) == []
