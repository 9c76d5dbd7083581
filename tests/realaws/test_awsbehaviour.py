"""The layer itself: each scripted behaviour shows through plain boto3, after botocore's validation."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from cli_helpers import MODEL_KEY


def test_validation_still_runs_first(real):
    with pytest.raises(ParamValidationError):
        boto3.client("cloudformation").describe_stacks(StackName=42)


def test_stack_is_in_progress_then_settles_without_outputs_meanwhile(wildrydes, real):
    wildrydes.json("bootstrap")
    cfn = boto3.client("cloudformation")
    real.stack_in_progress("wildrydes-ml-mod1-3", "CREATE_IN_PROGRESS", polls=2)
    seen = [cfn.describe_stacks(StackName="wildrydes-ml-mod1-3")["Stacks"][0] for _ in range(3)]
    assert [s["StackStatus"] for s in seen] == ["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    assert "Outputs" not in seen[0] and seen[2]["Outputs"]
    real.stack_in_progress("wildrydes-ml-mod1-3", "UPDATE_IN_PROGRESS", polls=1)
    with pytest.raises(ClientError, match="is in UPDATE_IN_PROGRESS state and can not be updated"):
        cfn.update_stack(StackName="wildrydes-ml-mod1-3", UsePreviousTemplate=True)


def test_rollback_with_failed_events(wildrydes, real):
    wildrydes.json("bootstrap")
    real.fail_next("x", "ModelInferenceFunction", "Role is not assumable")
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="x", TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')
    statuses = [cfn.describe_stacks(StackName="x")["Stacks"][0]["StackStatus"] for _ in range(3)]
    assert statuses == ["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE"]
    events = cfn.describe_stack_events(StackName="x")["StackEvents"]
    failed = [e for e in reversed(events) if e["ResourceStatus"].endswith("_FAILED")]
    assert failed[0]["LogicalResourceId"] == "ModelInferenceFunction"
    assert failed[0]["ResourceStatusReason"] == "Role is not assumable"


def test_lambda_update_in_progress_and_conflict(real):
    iam, awslambda = boto3.client("iam"), boto3.client("lambda")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(e, c): return 1\n")
    awslambda.create_function(FunctionName="f", Runtime="python3.13", Role=role, Handler="index.handler",
                              Code={"ZipFile": buffer.getvalue()})
    awslambda.update_function_configuration(FunctionName="f", MemorySize=256)
    with pytest.raises(ClientError) as caught:
        awslambda.update_function_configuration(FunctionName="f", MemorySize=512)
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    statuses = [awslambda.get_function_configuration(FunctionName="f")["LastUpdateStatus"] for _ in range(3)]
    assert statuses == ["InProgress", "InProgress", "Successful"]
    awslambda.update_function_configuration(FunctionName="f", MemorySize=512)   # settled: allowed again


def test_s3_missing_key_is_403_without_list_bucket(real):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data-bucket")
    real.deny_list_bucket("data-bucket")
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket="data-bucket", Key=MODEL_KEY)
    assert caught.value.response["Error"]["Code"] == "403"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="data-bucket", Key=MODEL_KEY)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_bucket_region(real):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data-bucket")
    real.bucket_in_region("data-bucket", "eu-west-1")
    head = s3.head_bucket(Bucket="data-bucket")
    assert head["BucketRegion"] == "eu-west-1"
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"


def test_throttling_succeeds_on_standard_retry(real, slept):
    from botocore.config import Config
    real.throttle("cloudformation", "ListStacks", times=2)
    real.throttle("lambda", "ListFunctions", times=2)
    config = Config(retries={"max_attempts": 3, "mode": "standard"})
    boto3.client("cloudformation", config=config).list_stacks()
    boto3.client("lambda", config=config).list_functions()
    assert real.throttled == [("cloudformation", "ListStacks")] * 2 + [("lambda", "ListFunctions")] * 2
    assert len(slept) == 4     # botocore backed off before each retry
    real.throttle("cloudformation", "ListStacks", times=4)   # Config max_attempts counts retries: 1 + 3
    with pytest.raises(ClientError, match="Throttling"):
        boto3.client("cloudformation", config=config).list_stacks()


def test_another_account(real):
    real.use_account("210987654321")
    assert boto3.client("sts").get_caller_identity()["Account"] == "210987654321"
