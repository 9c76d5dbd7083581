"""deploy against moto: the stack, the function, the API wiring, convergence, preflight failures."""
from __future__ import annotations

import io
import json
import zipfile

import boto3
from cli_helpers import MODEL_KEY, NEWER_KEY, function_stack_resources, upload_model


def _api_root(api_id: str) -> dict:
    items = boto3.client("apigateway").get_resources(restApiId=api_id)["items"]
    return next(r for r in items if r["path"] == "/")


def test_deploy_creates_function_api_and_records_state(wildrydes, deployed, with_model):
    bucket = with_model["bucket"]
    assert deployed["model_path"] == MODEL_KEY
    assert deployed["invoke_url"] == f"https://{deployed['api_id']}.execute-api.us-east-1.amazonaws.com/prod/"
    assert deployed["invoke_url"] in deployed["curl"] and '"TMAX": 333' in deployed["curl"]

    stack = boto3.client("cloudformation").describe_stacks(StackName="wildrydes-ml-mod3-4")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = function_stack_resources()
    assert {"ModelInferenceFunction", "ModelInferenceApi", "RootMethod", "ApiInvokePermission",
            "ProdDeployment", "ModelInferenceFunctionRole"} <= set(resources)

    lam = boto3.client("lambda")
    config = lam.get_function_configuration(FunctionName=deployed["function_name"])
    assert config["Environment"]["Variables"] == {
        "OUTPUT_BUCKET": bucket, "MODEL_PATH": MODEL_KEY, "INFERENCE_ENGINE": "lean",
        "S3_DNS_SUFFIX": "amazonaws.com"}   # the partition's, from botocore's data (the function's S3 endpoint)
    assert config["Runtime"] == "python3.13" and config["MemorySize"] == 128
    assert config["Handler"] == "index.handler"
    # the function runs with its own role, not the workshop's broad one
    assert with_model["role"] not in config["Role"]

    gw = boto3.client("apigateway")
    root = _api_root(deployed["api_id"])
    integration = gw.get_integration(restApiId=deployed["api_id"], resourceId=root["id"], httpMethod="ANY")
    assert integration["type"] == "AWS_PROXY"
    assert config["FunctionArn"] in integration["uri"]
    assert gw.get_stage(restApiId=deployed["api_id"], stageName="prod")["stageName"] == "prod"
    policy = json.loads(lam.get_policy(FunctionName=deployed["function_name"])["Policy"])
    arns = [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]]
    assert arns == [f"arn:aws:execute-api:us-east-1:123456789012:{deployed['api_id']}/*"]

    # the code zip uploaded under code/ is what the function was created from
    code = boto3.client("s3").get_object(Bucket=bucket, Key=deployed["code_key"])["Body"].read()
    assert deployed["code_key"].startswith("code/")
    assert "index.py" in zipfile.ZipFile(io.BytesIO(code)).namelist()


def test_deploy_text_output_prints_invoke_url_and_curl(wildrydes, with_model):
    result = wildrydes("deploy", json_output=False)
    assert "Invoke URL: https://" in result.stdout
    assert "curl -d '{ \"distance\": 30" in result.stdout
    assert "Preflight" in result.stderr and "done" in result.stderr  # progress goes to stderr


def test_deploy_twice_converges(wildrydes, deployed):
    again = wildrydes.json("deploy")
    assert again["stack_action"] == "unchanged"
    assert again["api_id"] == deployed["api_id"] and again["repaired"] == []
    assert len(boto3.client("lambda").list_functions()["Functions"]) == 1
    apis = boto3.client("apigateway").get_rest_apis()["items"]
    assert [a["id"] for a in apis] == [deployed["api_id"]]
    assert len(boto3.client("apigateway").get_stages(restApiId=deployed["api_id"])["item"]) == 1


def test_redeploy_rolls_out_newer_model_and_keeps_other_env(wildrydes, deployed, with_model):
    lam = boto3.client("lambda")
    name = deployed["function_name"]
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {**env, "LOG_LEVEL": "DEBUG"}})
    upload_model(with_model["bucket"], NEWER_KEY)

    again = wildrydes.json("deploy")
    assert again["model_path"] == NEWER_KEY and again["stack_action"] == "updated"
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    assert env["MODEL_PATH"] == NEWER_KEY and env["LOG_LEVEL"] == "DEBUG"
    assert len(lam.list_functions()["Functions"]) == 1
    assert len(boto3.client("apigateway").get_rest_apis()["items"]) == 1


def test_deploy_with_model_path_and_role(wildrydes, with_model):
    upload_model(with_model["bucket"], NEWER_KEY)
    result = wildrydes.json("deploy", "--model-path", f"s3://{with_model['bucket']}/{MODEL_KEY}",
                            "--role", with_model["role"])
    assert result["model_path"] == MODEL_KEY   # not the newest: the one asked for
    config = boto3.client("lambda").get_function_configuration(FunctionName=result["function_name"])
    assert config["Role"].endswith(f":role/{with_model['role']}")
    assert "ModelInferenceFunctionRole" not in function_stack_resources()


def test_a_permission_for_another_api_does_not_count(wildrydes, deployed):
    """Only a permission scoped to this API lets API Gateway call the function: one for another API is repaired."""
    lam = boto3.client("lambda")
    name = deployed["function_name"]
    for statement in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]:
        lam.remove_permission(FunctionName=name, StatementId=statement["Sid"])
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    account = arn.split(":")[4]
    other = f"arn:aws:execute-api:us-east-1:{account}:otherapi/*"
    lam.add_permission(FunctionName=name, StatementId="other", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com", SourceArn=other)
    again = wildrydes.json("deploy")
    ours = f"arn:aws:execute-api:us-east-1:{account}:{deployed['api_id']}/*"
    assert f"permission for {ours}" in again["repaired"]
    conditions = [s.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
                  for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]]
    assert sorted(conditions) == sorted([other, ours])


def test_deploy_repairs_a_missing_stage(wildrydes, deployed):
    gw = boto3.client("apigateway")
    gw.delete_stage(restApiId=deployed["api_id"], stageName="prod")
    again = wildrydes.json("deploy")
    assert "deployment to stage prod" in again["repaired"]
    assert gw.get_stage(restApiId=deployed["api_id"], stageName="prod")["stageName"] == "prod"


def test_deploy_complete_one_stack(wildrydes, with_model):
    result = wildrydes.json("deploy", "--complete")
    assert result["stack"] == "wildrydes-ml-mod0-4"
    cfn = boto3.client("cloudformation")
    assert cfn.describe_stacks(StackName="wildrydes-ml-mod0-4")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    env = boto3.client("lambda").get_function_configuration(FunctionName=result["function_name"])["Environment"]
    assert env["Variables"]["MODEL_PATH"] == MODEL_KEY   # set by CloudFormation, not by hand
    assert result["repaired"] == []                      # everything wired by the template
    assert "wildrydes-ml-mod0-4" in result["function_name"]


def test_the_newest_deploy_is_the_current_one(wildrydes, deployed):
    """deploy, then deploy --complete: status and predict talk to the newer stack's API."""
    from wildrydes_cli import deployment_record
    from wildrydes_cli.aws import target
    from wildrydes_cli.settings import Settings
    complete = wildrydes.json("deploy", "--complete")
    assert complete["api_id"] != deployed["api_id"]
    shown = wildrydes.json("status")
    assert shown["stack"] == "wildrydes-ml-mod0-4" and shown["api_id"] == complete["api_id"]
    current = deployment_record.current(Settings(target="aws", account="123456789012"))
    assert target.resolve(Settings(target="aws", account="123456789012")).deployment_url(current) == complete["invoke_url"]  # predict's URL
    again = wildrydes.json("deploy")   # and back: the function stack is current again
    assert wildrydes.json("status")["api_id"] == again["api_id"] == deployed["api_id"]


# -- preflight: nothing is created when a check fails --------------------------------

def _nothing_created() -> None:
    names = [s["StackName"] for s in boto3.client("cloudformation").describe_stacks()["Stacks"]]
    assert "wildrydes-ml-mod3-4" not in names
    assert boto3.client("lambda").list_functions()["Functions"] == []


def test_preflight_no_bucket_known(wildrydes):
    result = wildrydes("deploy", expect=3, json_output=False)
    assert "No data bucket is known" in result.stderr and "wildrydes bootstrap" in result.stderr
    _nothing_created()


def test_preflight_bucket_does_not_exist(wildrydes):
    result = wildrydes("deploy", "--bucket", "no-such-bucket-xyz", expect=3, json_output=False)
    assert "Bucket no-such-bucket-xyz does not exist" in result.stderr
    _nothing_created()


def test_preflight_no_model_says_train(wildrydes, boot):
    result = wildrydes("deploy", expect=3, json_output=False)
    assert "No model in s3://" in result.stderr and "wildrydes train" in result.stderr
    _nothing_created()


def test_preflight_model_path_missing(wildrydes, with_model):
    result = wildrydes("deploy", "--model-path", "linear-learner-x/output/model.tar.gz", expect=3, json_output=False)
    assert "No model at s3://" in result.stderr and "--model-path" in result.stderr
    _nothing_created()


def test_preflight_model_path_in_other_bucket(wildrydes, with_model):
    result = wildrydes("deploy", "--model-path", f"s3://elsewhere/{MODEL_KEY}", expect=2, json_output=False)
    assert "not the data bucket" in result.stderr


def test_preflight_role_missing(wildrydes, with_model):
    result = wildrydes("deploy", "--role", "NoSuchRole", expect=3, json_output=False)
    assert "Role NoSuchRole does not exist" in result.stderr
    _nothing_created()


def test_preflight_role_arn_refused(wildrydes, with_model):
    result = wildrydes("deploy", "--role", "arn:aws:iam::123456789012:role/x", expect=2, json_output=False)
    assert "takes a role name (or path/NAME, e.g. service-role/NAME), not an ARN" in result.stderr


def test_preflight_bad_engine(wildrydes, with_model):
    result = wildrydes("deploy", "--engine", "tensorflow", expect=2, json_output=False)
    assert "'tensorflow' is not one of 'lean', 'mxnet'" in result.stderr


def test_preflight_no_credentials(wildrydes, with_model, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = wildrydes("deploy", expect=4, json_output=False)
    assert "no AWS credentials found" in result.stderr and "aws configure" in result.stderr


def test_json_error_is_one_object(with_model, tmp_path):
    import contextlib

    from wildrydes_cli.cli.main import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--target", "aws", "--output", "json", "--scratchpad", str(tmp_path / "s.txt"),
                     "deploy", "--role", "NoSuchRole"])
    assert code == 3
    payload = json.loads(out.getvalue())
    assert payload["exit_code"] == 3 and "NoSuchRole" in payload["error"]


def test_redeploy_with_another_engine_rolls_it_out(wildrydes, deployed, monkeypatch):
    from cli_helpers import _fake_downloader

    from wildrydes_cli.deploy import packaging
    monkeypatch.setattr(packaging, "pip_download", _fake_downloader())   # no PyPI in tests
    lam = boto3.client("lambda")
    mx = wildrydes.json("deploy", "--engine", "mxnet")
    assert mx["stack_action"] == "updated" and mx["code_key"].startswith("code/wildrydes-mxnet-")
    config = lam.get_function_configuration(FunctionName=deployed["function_name"])
    assert (config["Runtime"], config["MemorySize"]) == ("python3.11", 1024)
    assert config["Environment"]["Variables"]["INFERENCE_ENGINE"] == "mxnet"
    again = wildrydes.json("deploy")   # a plain deploy keeps the engine chosen last time
    assert again["engine"] == "mxnet" and again["kept"] == ["engine mxnet"] and again["stack_action"] == "unchanged"
    config = lam.get_function_configuration(FunctionName=deployed["function_name"])
    assert (config["Runtime"], config["MemorySize"]) == ("python3.11", 1024)
    lean = wildrydes.json("deploy", "--engine", "lean")
    config = lam.get_function_configuration(FunctionName=deployed["function_name"])
    assert (config["Runtime"], config["MemorySize"]) == ("python3.13", 128) and lean["engine"] == "lean"
    assert wildrydes.json("deploy")["engine"] == "lean"
    assert len(lam.list_functions()["Functions"]) == 1


def test_deploy_repairs_missing_method_and_permission(wildrydes, deployed):
    gw, lam = boto3.client("apigateway"), boto3.client("lambda")
    api, name = deployed["api_id"], deployed["function_name"]
    root = _api_root(api)
    gw.delete_method(restApiId=api, resourceId=root["id"], httpMethod="ANY")
    for statement in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]:
        lam.remove_permission(FunctionName=name, StatementId=statement["Sid"])

    again = wildrydes.json("deploy")
    assert any(item.startswith("ANY / ->") for item in again["repaired"])
    assert any(item.startswith("permission for") for item in again["repaired"])
    integration = gw.get_integration(restApiId=api, resourceId=root["id"], httpMethod="ANY")
    assert integration["type"] == "AWS_PROXY" and name in integration["uri"]
    arns = [s["Condition"]["ArnLike"]["AWS:SourceArn"]
            for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]]
    assert arns == [f"arn:aws:execute-api:us-east-1:123456789012:{api}/*"]
    assert wildrydes.json("deploy")["repaired"] == []   # and then it stays put


def test_a_deployment_record_that_cannot_be_written_names_what_was_made_exit_2(wildrydes, with_model):
    """The stack, function and API exist; the record cannot be written (here: a file where its directory
    goes; a full disk is tests/e2e/test_e2e_faults.py): exit 2 naming what was made and both ways on."""
    import os
    from pathlib import Path
    deployed_dir = Path(os.environ["WILDRYDES_HOME"]) / "deployed"
    deployed_dir.mkdir(parents=True, exist_ok=True)
    for child in deployed_dir.iterdir():
        child.unlink()
    deployed_dir.rmdir()
    deployed_dir.write_text("not a directory")
    result = wildrydes("deploy", expect=2, json_output=False)
    api_id = boto3.client("apigateway").get_rest_apis()["items"][0]["id"]
    for named in ("Deployed stack wildrydes-ml-mod3-4", f"API {api_id}", "Cannot write the deployment record",
                  "`wildrydes deploy` again", "`wildrydes cleanup`"):
        assert named in result.stderr, named


def test_a_role_given_once_is_kept_until_new_role(wildrydes, with_model):
    lam = boto3.client("lambda")
    first = wildrydes.json("deploy", "--role", with_model["role"])
    again = wildrydes.json("deploy")
    assert again["role"] == with_model["role"] and again["kept"] == [f"role {with_model['role']}"]
    config = lam.get_function_configuration(FunctionName=first["function_name"])
    assert config["Role"].endswith(f":role/{with_model['role']}")
    fresh = wildrydes.json("deploy", "--new-role")
    assert fresh["role"] is None and "ModelInferenceFunctionRole" in function_stack_resources()
    both = wildrydes("deploy", "--role", with_model["role"], "--new-role", expect=2, json_output=False)
    assert "choose one" in both.stderr


def test_the_workshops_role_parameter_set_by_hand_is_kept(wildrydes, with_model):
    """DataProcessingExecutionRoleName given once (by hand on the stack) is not reset to empty."""
    wildrydes.json("deploy")
    cfn = boto3.client("cloudformation")
    params = [{"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
              for p in cfn.describe_stacks(StackName="wildrydes-ml-mod3-4")["Stacks"][0]["Parameters"]
              if p["ParameterKey"] != "DataProcessingExecutionRoleName"]
    cfn.update_stack(StackName="wildrydes-ml-mod3-4", UsePreviousTemplate=True, Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=params + [{"ParameterKey": "DataProcessingExecutionRoleName",
                                           "ParameterValue": with_model["role"]}])
    assert wildrydes.json("deploy")["role"] == with_model["role"]


def test_memory_is_kept_until_changed(wildrydes, with_model):
    lam = boto3.client("lambda")
    first = wildrydes.json("deploy", "--memory", "512")
    assert first["memory_mb"] == 512
    again = wildrydes.json("deploy")
    assert again["memory_mb"] == 512 and again["kept"] == ["memory 512 MB"]
    text = wildrydes("deploy", json_output=False).stdout
    assert "(lean, python3.13, 512 MB)" in text and "Kept from the last deploy: memory 512 MB" in text
    assert lam.get_function_configuration(FunctionName=first["function_name"])["MemorySize"] == 512
    assert wildrydes.json("deploy", "--memory", "128")["memory_mb"] == 128
    assert wildrydes.json("deploy")["kept"] == []          # 128 is lean's default: nothing chosen to keep
    bad = wildrydes("deploy", "--memory", "64", expect=2, json_output=False)
    assert "--memory must be from 128 to 10240 MB" in bad.stderr


def test_a_rollback_stays_pinned_until_newest(wildrydes, with_model):
    upload_model(with_model["bucket"], NEWER_KEY)
    rolled_back = wildrydes.json("deploy", "--model-path", MODEL_KEY)
    assert rolled_back["model_path"] == MODEL_KEY and rolled_back["pinned"] is True
    status = wildrydes.json("status")
    assert status["pinned"] is True and status["newest_model"] == NEWER_KEY
    text = wildrydes("status", json_output=False).stdout
    assert f"pinned to {MODEL_KEY}" in text and "--model-path newest" in text and "roll it out" not in text
    again = wildrydes.json("deploy")                         # following the advice does not roll forward
    assert again["model_path"] == MODEL_KEY and again["pinned"] is True
    assert again["kept"] == [f"model {MODEL_KEY} (pinned)"]
    newest = wildrydes.json("deploy", "--model-path", "newest")
    assert newest["model_path"] == NEWER_KEY and newest["pinned"] is False
    assert wildrydes.json("status")["pinned"] is False
    assert "up to date     yes" in wildrydes("status", json_output=False).stdout
