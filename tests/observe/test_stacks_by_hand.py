"""The workshop's Step 2 done by hand (its own template, no deployment recorded by wildrydes):
status, predict and logs find the function, the API and the invoke URL from the stacks."""
from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
from cli_helpers import upload_model

WORKSHOP = Path(__file__).resolve().parents[1] / "fixtures" / "workshop"


def _by_hand(boot: dict, stack: str = "wildrydes-ml-mod3-4", template: str = "3_lambda_function.yml") -> dict:
    """`aws cloudformation create-stack` with the workshop's own template, as its Step 2 says."""
    import emulated
    s3 = boto3.client("s3")
    s3.put_object(Bucket=boot["bucket"], Key="code/inferencefunction.zip", Body=emulated.function_package())
    params = [{"ParameterKey": "DataBucket", "ParameterValue": boot["bucket"]},
              {"ParameterKey": "DataProcessingExecutionRoleName", "ParameterValue": boot["role"]}]
    if template == "3_inference_complete.yml":
        params.append({"ParameterKey": "TrainedModelPath", "ParameterValue": "x/model.tar.gz"})
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=(WORKSHOP / template).read_text(), Parameters=params,
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    resources = {r["LogicalResourceId"]: r.get("PhysicalResourceId")
                 for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}
    return {"function": resources["ModelInferenceFunction"], "api": resources["ApiGateway"]}


def test_status_finds_a_stack_made_by_hand(wildrydes, boot):
    made = _by_hand(boot)
    result = wildrydes.json("status")
    assert result["deployed"] is True and result["recorded"] is False
    assert result["stack"] == "wildrydes-ml-mod3-4" and result["function"]["name"] == made["function"]
    assert result["api_id"] == made["api"] and result["bucket"] == boot["bucket"]
    assert result["invoke_url"] == f"https://{made['api']}.execute-api.us-east-1.amazonaws.com/prod/"
    assert result["missing"] == ["stage prod"]          # Step 4 (wire and deploy the API) not done yet
    text = wildrydes("status", json_output=False).stdout
    assert "No deployment recorded by wildrydes: found in stack wildrydes-ml-mod3-4 (made by hand)." in text
    assert "Nothing deployed yet" not in text and "Not serving yet: stage prod missing" in text


def test_after_step_4_by_hand_status_and_predict_use_its_url(wildrydes, boot):
    made = _by_hand(boot)
    upload_model(boot["bucket"])
    apig = boto3.client("apigateway")
    root = apig.get_resources(restApiId=made["api"])["items"][0]["id"]
    apig.put_method(restApiId=made["api"], resourceId=root, httpMethod="ANY", authorizationType="NONE")
    arn = boto3.client("lambda").get_function(FunctionName=made["function"])["Configuration"]["FunctionArn"]
    apig.put_integration(restApiId=made["api"], resourceId=root, httpMethod="ANY", type="AWS_PROXY",
                         integrationHttpMethod="POST",
                         uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations")
    apig.create_deployment(restApiId=made["api"], stageName="prod")
    assert wildrydes.json("status")["missing"] == []
    from wildrydes_cli.observe.predict import deployed_url
    from wildrydes_cli.settings import Settings
    url = deployed_url(Settings(target="aws", scratchpad=wildrydes.scratchpad))   # what predict POSTs to
    assert url == f"https://{made['api']}.execute-api.us-east-1.amazonaws.com/prod/"


def test_the_break_glass_stack_made_by_hand_is_found_too(wildrydes, boot):
    made = _by_hand(boot, stack="wildrydes-ml-mod0-4", template="3_inference_complete.yml")
    result = wildrydes.json("status")
    assert result["stack"] == "wildrydes-ml-mod0-4" and result["function"]["name"] == made["function"]
    assert result["missing"] == []


def _wrote(function_name: str, lines: list[str]) -> None:
    client = boto3.client("logs")
    group = f"/aws/lambda/{function_name}"
    if not client.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    client.put_log_events(logGroupName=group, logStreamName="s",
                          logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)])


def test_logs_reads_the_function_of_a_stack_made_by_hand(wildrydes, boot):
    made = _by_hand(boot)
    _wrote(made["function"], ["START RequestId: r1 Version: $LATEST"])
    result = wildrydes.json("logs")
    assert result["log_group"] == f"/aws/lambda/{made['function']}" and len(result["events"]) == 1


def test_logs_function_reads_any_function(wildrydes):
    _wrote("someone-elses-function", ["hello from elsewhere"])
    result = wildrydes.json("logs", "--function", "someone-elses-function")
    assert result["log_group"] == "/aws/lambda/someone-elses-function"
    assert [e["message"] for e in result["events"]] == ["hello from elsewhere"]
    arn = "arn:aws:lambda:us-east-1:123456789012:function:someone-elses-function"
    assert wildrydes.json("logs", "--function", arn)["log_group"] == "/aws/lambda/someone-elses-function"
    bad = wildrydes("logs", "--function", "no spaces please", expect=2, json_output=False)
    assert "is not a Lambda function name" in bad.stderr


def test_nothing_recorded_and_no_stack_still_says_deploy(wildrydes, boot):
    result = wildrydes("predict", "--distance", "1", "--healthpoints", "1", "--magicpoints", "1", "--tmax", "1",
                       "--tmin", "1", "--prcp", "1", expect=3, json_output=False)
    assert "wildrydes deploy" in result.stderr


def test_cleanup_removes_the_api_of_a_stack_made_by_hand(wildrydes, boot):
    made = _by_hand(boot)
    result = wildrydes.json("cleanup", "--yes")
    assert result["stacks"] == ["wildrydes-ml-mod3-4"] and made["api"] in result["apis"]
    assert json.dumps(boto3.client("apigateway").get_rest_apis()["items"]) == "[]"
