"""The layer itself: each scripted behaviour shows through plain boto3, after botocore's validation."""
from __future__ import annotations

from pathlib import Path

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


_LOG_GROUP_STACK = (Path(__file__).resolve().parents[1] / "fixtures" / "log-group-stack.yml").read_text()


def _failed_event(cfn, name: str) -> dict:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return next(e for e in reversed(events) if e["ResourceStatus"].endswith("_FAILED"))


def test_creating_a_log_group_that_exists_fails_and_rolls_back(real):
    cfn, logs = boto3.client("cloudformation"), boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/fn")
    cfn.create_stack(StackName="x", TemplateBody=_LOG_GROUP_STACK,
                     Parameters=[{"ParameterKey": "Name", "ParameterValue": "fn"}])
    statuses = [cfn.describe_stacks(StackName="x")["Stacks"][0]["StackStatus"] for _ in range(3)]
    assert statuses == ["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE"]
    failed = _failed_event(cfn, "x")
    assert failed["LogicalResourceId"] == "Logs" and failed["ResourceType"] == "AWS::Logs::LogGroup"
    assert "already exists" in failed["ResourceStatusReason"] and "HandlerErrorCode: AlreadyExists" in \
        failed["ResourceStatusReason"] and '"/properties/LogGroupName":"/aws/lambda/fn"' in failed["ResourceStatusReason"]


def test_an_update_that_adds_an_existing_log_group_rolls_back_to_the_previous_stack(real):
    cfn, logs = boto3.client("cloudformation"), boto3.client("logs")
    params = [{"ParameterKey": "Name", "ParameterValue": "fn"}, {"ParameterKey": "Make", "ParameterValue": "no"}]
    cfn.create_stack(StackName="x", TemplateBody=_LOG_GROUP_STACK, Parameters=params)
    assert [cfn.describe_stacks(StackName="x")["Stacks"][0]["StackStatus"] for _ in range(3)][-1] == "CREATE_COMPLETE"
    logs.create_log_group(logGroupName="/aws/lambda/fn")         # e.g. made by Lambda's first invocation
    params[1]["ParameterValue"] = "yes"
    cfn.update_stack(StackName="x", TemplateBody=_LOG_GROUP_STACK, Parameters=params)
    statuses = [cfn.describe_stacks(StackName="x")["Stacks"][0]["StackStatus"] for _ in range(3)]
    assert statuses[-1] == "UPDATE_ROLLBACK_COMPLETE"
    assert _failed_event(cfn, "x")["LogicalResourceId"] == "Logs"
    stack = cfn.describe_stacks(StackName="x")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["Make"] == "no"   # as before
    params[0]["ParameterValue"] = "other"                        # a name nobody has: no conflict
    cfn.update_stack(StackName="x", TemplateBody=_LOG_GROUP_STACK, Parameters=params)
    assert [cfn.describe_stacks(StackName="x")["Stacks"][0]["StackStatus"] for _ in range(3)][-1] == "UPDATE_COMPLETE"


def test_a_function_role_must_be_the_roles_exact_arn(real):
    iam, cfn = boto3.client("iam"), boto3.client("cloudformation")
    arn = iam.create_role(RoleName="Exec", Path="/service-role/", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="code-bucket")
    s3.put_object(Bucket="code-bucket", Key="f.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    template = ('{"Parameters": {"Role": {"Type": "String"}}, "Resources": {"F": {"Type": "AWS::Lambda::Function", '
                '"Properties": {"Handler": "index.handler", "Runtime": "python3.13", "Role": {"Ref": "Role"}, '
                '"Code": {"S3Bucket": "code-bucket", "S3Key": "f.zip"}}}}}')
    for name, role, final in (("without-path", arn.replace("/service-role/", "/"), "ROLLBACK_COMPLETE"),
                              ("with-path", arn, "CREATE_COMPLETE")):
        cfn.create_stack(StackName=name, TemplateBody=template, Parameters=[{"ParameterKey": "Role",
                                                                              "ParameterValue": role}])
        assert [cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] for _ in range(3)][-1] == final
    assert "cannot be assumed by Lambda" in _failed_event(cfn, "without-path")["ResourceStatusReason"]


def test_last_updated_time_after_an_update(wildrydes, real):
    wildrydes.json("bootstrap")
    cfn = boto3.client("cloudformation")
    assert "LastUpdatedTime" not in cfn.describe_stacks(StackName="wildrydes-ml-mod1-3")["Stacks"][0]
    cfn.update_stack(StackName="wildrydes-ml-mod1-3", UsePreviousTemplate=True)
    assert cfn.describe_stacks(StackName="wildrydes-ml-mod1-3")["Stacks"][0]["LastUpdatedTime"]


def test_a_stack_in_progress_cannot_be_deleted(wildrydes, real):
    wildrydes.json("bootstrap")
    cfn = boto3.client("cloudformation")
    real.stack_in_progress("wildrydes-ml-mod1-3", "UPDATE_IN_PROGRESS", polls=1)
    with pytest.raises(ClientError, match="cannot be deleted while in status UPDATE_IN_PROGRESS"):
        cfn.delete_stack(StackName="wildrydes-ml-mod1-3")


def test_a_region_not_enabled_rejects_the_credentials(real):
    real.region_not_enabled("ap-east-2")
    with pytest.raises(ClientError) as caught:
        boto3.client("sts", region_name="ap-east-2").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]


def test_a_published_version_is_pending_then_active_and_publishing_during_an_update_conflicts(real):
    iam, awslambda = boto3.client("iam"), boto3.client("lambda")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(e, c): return 1\n")
    awslambda.create_function(FunctionName="f", Runtime="python3.13", Role=role, Handler="index.handler",
                              Code={"ZipFile": buffer.getvalue()}, Environment={"Variables": {"MODEL_PATH": "a"}})
    published = awslambda.publish_version(FunctionName="f")
    assert published["State"] == "Pending"
    states = [awslambda.get_function_configuration(FunctionName="f", Qualifier=published["Version"])["State"]
              for _ in range(3)]
    assert states == ["Pending", "Pending", "Active"]
    awslambda.update_function_configuration(FunctionName="f", Environment={"Variables": {"MODEL_PATH": "b"}})
    with pytest.raises(ClientError) as caught:
        awslambda.publish_version(FunctionName="f")
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    assert "An update is in progress" in caught.value.response["Error"]["Message"]
