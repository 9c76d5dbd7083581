"""CloudFormation's AlreadyExists on the local target: a stack create or update that makes a log group
which exists fails and rolls back, as on AWS, instead of moto's JSON error botocore cannot parse.

The rules' resolution of names is tested on its own; the behaviour through a running emulator, signed
with its credentials, as the AWS CLI after `eval "$(wildrydes local env)"` sends it."""
from __future__ import annotations

from pathlib import Path

import emulated
import pytest
from botocore.exceptions import ClientError

from wildrydes_cli.local.awsapi import moto_backends, stack_rules

FUNCTION_TEMPLATE = Path(__file__).resolve().parents[3] / "cloudformation" / "function.yml"

GROUP_STACK = (Path(__file__).resolve().parents[2] / "fixtures" / "log-group-stack.yml").read_text()


# -- names resolved as CloudFormation resolves them -----------------------------------------------

def _function_template() -> dict:
    return moto_backends.parse_template(FUNCTION_TEMPLATE.read_text())


def test_the_function_templates_log_group_is_named_after_the_stacks_function():
    values = {"FunctionLogGroup": "create", "ModelInferenceFunction": "wildrydes-ml-mod3-4-Fn-ABC"}
    assert stack_rules.existing_log_group(_function_template(), values, set(), lambda g: True) == (
        "ModelInferenceFunctionLogGroup", "/aws/lambda/wildrydes-ml-mod3-4-Fn-ABC")


def test_a_log_group_left_out_by_its_condition_or_already_owned_is_not_created():
    template = _function_template()
    values = {"FunctionLogGroup": "existing", "ModelInferenceFunction": "fn"}
    assert stack_rules.existing_log_group(template, values, set(), lambda g: True) is None
    values["FunctionLogGroup"] = "create"
    assert stack_rules.existing_log_group(template, values, {"ModelInferenceFunctionLogGroup"}, lambda g: True) is None


def test_a_name_that_cannot_be_resolved_before_the_create_is_not_checked():
    """On a create the function has no name yet: its log group cannot exist already."""
    assert stack_rules.existing_log_group(_function_template(), {"FunctionLogGroup": "create"}, set(),
                                          lambda g: True) is None


@pytest.mark.parametrize("value, expected", [
    ("/aws/lambda/x", "/aws/lambda/x"),
    ({"Ref": "P"}, "p"),
    ({"Fn::Sub": "/a/${P}/${AWS::Region}"}, "/a/p/us-east-1"),
    ({"Fn::Sub": ["/a/${X}", {"X": {"Ref": "P"}}]}, "/a/p"),
    ({"Fn::If": ["Yes", "y", "n"]}, "y"),
    ({"Fn::Sub": "/a/${Unknown}"}, None),
    ({"Fn::GetAtt": ["R", "Arn"]}, None),
])
def test_resolve(value, expected):
    conditions = {"Yes": {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, "q"]}]}}
    assert stack_rules.resolve(value, {"P": "p", "AWS::Region": "us-east-1"}, conditions) == expected


def test_conditions_and_or_not_and_references():
    conditions = {"A": {"Fn::Equals": [{"Ref": "P"}, "p"]}, "B": {"Fn::Not": [{"Condition": "A"}]},
                  "C": {"Fn::And": [{"Condition": "A"}, {"Fn::Or": [{"Condition": "B"}, True]}]},
                  "Loop": {"Condition": "Loop"}}
    values = {"P": "p"}
    assert stack_rules.condition(conditions, "A", values) and not stack_rules.condition(conditions, "B", values)
    assert stack_rules.condition(conditions, "C", values)
    assert stack_rules.condition(conditions, "Loop", values) is True   # bounded, never a RecursionError


# -- through the emulator ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local(tmp_path_factory):
    with emulated.emulator(tmp_path_factory.mktemp("emulator")) as status:
        yield emulated.clients(status.endpoint_url, services=("cloudformation", "logs", "iam", "s3"))


def _status(cfn, name: str) -> str:
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]


def _resources(cfn, name: str) -> dict[str, str]:
    # moto lists a resource its Condition left out as an entry without a logical id
    return {r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=name)["StackResources"] if "LogicalResourceId" in r}


def _failed(cfn, name: str) -> dict:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]   # newest first
    return next(e for e in reversed(events) if e["ResourceStatus"].endswith("_FAILED"))


def test_a_create_that_makes_an_existing_log_group_rolls_back(local):
    cfn, logs = local["cloudformation"], local["logs"]
    logs.create_log_group(logGroupName="/aws/lambda/taken")
    cfn.create_stack(StackName="create-taken", TemplateBody=GROUP_STACK,
                     Parameters=[{"ParameterKey": "Name", "ParameterValue": "taken"}])
    assert _status(cfn, "create-taken") == "ROLLBACK_COMPLETE"
    failed = _failed(cfn, "create-taken")
    assert (failed["LogicalResourceId"], failed["ResourceType"]) == ("Logs", "AWS::Logs::LogGroup")
    assert "already exists" in failed["ResourceStatusReason"]
    assert "HandlerErrorCode: AlreadyExists" in failed["ResourceStatusReason"]
    assert cfn.describe_stack_resources(StackName="create-taken")["StackResources"] == []   # nothing made
    cfn.delete_stack(StackName="create-taken")                       # a failed create can only be deleted
    assert [s["StackName"] for s in cfn.describe_stacks()["Stacks"]].count("create-taken") == 0


def test_an_update_that_makes_an_existing_log_group_rolls_back_to_what_was_there(local):
    cfn, logs = local["cloudformation"], local["logs"]
    params = [{"ParameterKey": "Name", "ParameterValue": "later"}, {"ParameterKey": "Make", "ParameterValue": "no"}]
    cfn.create_stack(StackName="update-taken", TemplateBody=GROUP_STACK, Parameters=params)
    topic = _resources(cfn, "update-taken")["Topic"]
    logs.create_log_group(logGroupName="/aws/lambda/later")           # as Lambda makes it, outside the stack
    params[1]["ParameterValue"] = "yes"
    cfn.update_stack(StackName="update-taken", TemplateBody=GROUP_STACK, Parameters=params)   # accepted, as on AWS
    assert _status(cfn, "update-taken") == "UPDATE_ROLLBACK_COMPLETE"
    assert _failed(cfn, "update-taken")["LogicalResourceId"] == "Logs"
    stack = cfn.describe_stacks(StackName="update-taken")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["Make"] == "no"
    assert _resources(cfn, "update-taken") == {"Topic": topic}       # as it was
    with pytest.raises(ClientError, match="No updates are to be performed"):   # the previous template stays
        cfn.update_stack(StackName="update-taken", UsePreviousTemplate=True, Parameters=[
            {"ParameterKey": "Name", "UsePreviousValue": True}, {"ParameterKey": "Make", "UsePreviousValue": True}])


def test_other_errors_moto_raises_inside_a_stack_operation_are_cloudformation_errors(local):
    """A function whose role does not exist: moto's Lambda raises its JSON error inside CreateStack."""
    cfn, s3 = local["cloudformation"], local["s3"]
    s3.create_bucket(Bucket="stack-rules-code")
    s3.put_object(Bucket="stack-rules-code", Key="f.zip", Body=emulated.zip_files({"index.py": "x = 1\n"}))
    template = ('{"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "index.handler", '
                '"Runtime": "python3.13", "Role": "arn:aws:iam::123456789012:role/no-such-role", '
                '"Code": {"S3Bucket": "stack-rules-code", "S3Key": "f.zip"}}}}}')
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="bad-role", TemplateBody=template)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "cannot be assumed by Lambda" in caught.value.response["Error"]["Message"]
