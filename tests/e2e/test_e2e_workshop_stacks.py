"""A workshop participant's account on the local target, with the real executable: the stacks made
from the workshop's own templates (tests/workshop_account.py) with the AWS CLI and boto3 after
`wildrydes local env`, then deploy takes them over: it succeeds, predict answers with the
participant's model, status says up to date, and cleanup removes what deploy made while the bucket,
its models, the participant's own code zip and module 1's stack stay."""
from __future__ import annotations

import subprocess

import boto3
import pytest
import workshop_account
from clitools import AWS
from workshop_account import CODE_KEY, MODEL_KEY, MODULE1_STACK

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RIDE = {"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0}
PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]

# The workshop's own commands (its Step 1 and Step 2), then Lambda's first invocation making the
# function's log group, with the AWS CLI pointed at the local target.
WORKSHOP_COMMANDS = """
set -e
eval "$({wildrydes} local env)"
aws() {{ {aws} "$@"; }}
aws cloudformation describe-stacks --stack-name wildrydes-ml-mod1-3 >/dev/null 2>&1 || \
  aws cloudformation create-stack --stack-name wildrydes-ml-mod1-3 --capabilities CAPABILITY_NAMED_IAM \
    --template-body file://{workshop}/1_data_processing_complete.yml >/dev/null
BUCKET=$(aws cloudformation describe-stack-resources --stack-name wildrydes-ml-mod1-3 \
  --logical-resource-id DataBucket --query "StackResources[0].PhysicalResourceId" --output text)
ROLE=$(aws cloudformation describe-stack-resources --stack-name wildrydes-ml-mod1-3 \
  --logical-resource-id DataProcessingExecutionRole --query "StackResources[0].PhysicalResourceId" --output text)
aws s3 cp model.tar.gz s3://$BUCKET/{model_key} >/dev/null
aws s3 cp inferencefunction.zip s3://$BUCKET/{code_key} >/dev/null
aws cloudformation create-stack --stack-name wildrydes-ml-mod3-4 --capabilities CAPABILITY_NAMED_IAM \
  --parameters ParameterKey=DataBucket,ParameterValue=$BUCKET \
  ParameterKey=DataProcessingExecutionRoleName,ParameterValue=$ROLE \
  --template-body file://{workshop}/3_lambda_function.yml >/dev/null
FUNCTION=$(aws cloudformation describe-stack-resources --stack-name wildrydes-ml-mod3-4 \
  --logical-resource-id ModelInferenceFunction --query "StackResources[0].PhysicalResourceId" --output text)
aws logs create-log-group --log-group-name /aws/lambda/$FUNCTION
echo "$BUCKET $ROLE $FUNCTION"
"""


@pytest.fixture(scope="module")
def local(cli):
    cli.run("local", "start")
    env = cli.json("local", "env")
    session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    region_name=env.get("AWS_REGION") or "us-east-1")
    yield lambda service: session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"])
    cli.run("cleanup", check=False)
    cli.run("local", "stop", check=False)


def _with_the_aws_cli(cli) -> workshop_account.Account:
    """State 'invoked', made with the workshop's own AWS CLI commands."""
    from clitools import WILDRYDES
    (cli.home / "model.tar.gz").write_bytes(workshop_account.participant_model())
    (cli.home / "inferencefunction.zip").write_bytes(workshop_account.participant_code())
    script = WORKSHOP_COMMANDS.format(wildrydes=WILDRYDES, aws=AWS, workshop=workshop_account.WORKSHOP,
                                      model_key=MODEL_KEY, code_key=CODE_KEY)
    done = subprocess.run(["bash", "-c", script], cwd=cli.home, env=cli.env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    bucket, role, function = done.stdout.split()[-3:]
    return workshop_account.Account("invoked", "wildrydes-ml-mod3-4", bucket, role, function,
                                    f"/aws/lambda/{function}")


def _log_group_exists(local, name: str) -> bool:
    groups = local("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return any(g["logGroupName"] == name for g in groups)


@pytest.mark.parametrize("state", workshop_account.STATES)
def test_deploy_takes_over_the_participants_stacks_on_the_local_target(cli, local, state):
    if state == "invoked":
        if not AWS.exists():
            pytest.skip("awscli not installed in this environment")
        account = _with_the_aws_cli(cli)
    else:
        account = workshop_account.build(local, state)
    complete = ["--complete"] if state == "break-glass" else []

    deployed = cli.json("deploy", "--yes", *complete)   # exit 70 (ResponseParserError) before, for 'invoked'
    assert deployed["stack"] == account.stack and deployed["function_name"] == account.function
    assert deployed["bucket"] == account.bucket and deployed["model_path"] == MODEL_KEY
    assert cli.json("deploy", "--yes", *complete)["stack_action"] == "unchanged"

    predicted = cli.json(*PREDICT)
    assert predicted["model_path"] == MODEL_KEY
    assert predicted["score"] == pytest.approx(workshop_account.expected_score(RIDE), rel=1e-6)
    logged = cli.json("logs", "--since", "10m")                      # the function writes where it did
    assert logged["log_group"] == f"/aws/lambda/{account.function}"
    assert any(str(e).find("REPORT RequestId") >= 0 for e in logged["events"])
    status = cli.json("status")
    assert status["up_to_date"] is True and status["stack"] == account.stack and status["missing"] == []

    cleaned = cli.json("cleanup")
    assert cleaned["stacks"] == [account.stack] and cleaned["buckets"] == []
    s3, cfn = local("s3"), local("cloudformation")
    for key in (MODEL_KEY, CODE_KEY):
        s3.head_object(Bucket=account.bucket, Key=key)
    stacks = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
    assert stacks == {MODULE1_STACK: "CREATE_COMPLETE"}
    group = f"/aws/lambda/{account.function}"
    assert _log_group_exists(local, group) is (state == "invoked")   # Lambda's own stays, the stack's went


def test_the_workshop_stack_update_that_would_remake_the_log_group_fails_as_on_aws(cli, local):
    """What deploy used to do, done by hand: the update is accepted, fails on the log group with
    AlreadyExists and rolls back; the stack is left as it was."""
    account = workshop_account.build(local, "invoked")
    cfn = local("cloudformation")
    template = cfn.get_template(StackName=account.stack)["TemplateBody"]
    remade = template.replace("Outputs:", "  Group:\n    Type: AWS::Logs::LogGroup\n    Properties:\n"
                                          "      LogGroupName: !Sub /aws/lambda/${ModelInferenceFunction}\nOutputs:", 1)
    params = [{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
              for p in cfn.describe_stacks(StackName=account.stack)["Stacks"][0]["Parameters"]]
    cfn.update_stack(StackName=account.stack, TemplateBody=remade, Parameters=params,
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    assert cfn.describe_stacks(StackName=account.stack)["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName=account.stack)["StackEvents"]
    failed = next(e for e in events if e["ResourceStatus"] == "CREATE_FAILED")
    assert failed["LogicalResourceId"] == "Group" and "HandlerErrorCode: AlreadyExists" in failed["ResourceStatusReason"]
    assert cfn.get_template(StackName=account.stack)["TemplateBody"] == template
    cfn.delete_stack(StackName=account.stack)


def test_a_participant_trains_on_sagemaker_with_the_role_bootstrap_puts_beside_module_1(cli, local):
    """Module 1's stack has no SageMaker role and is not wildrydes' to change: `bootstrap` makes the role
    in a stack of its own, and the participant's first `train --on sagemaker` runs, its model is deployed
    into their own stack and answers the workshop's ride."""
    account = workshop_account.build(local, "never-invoked")
    cfn = local("cloudformation")
    module1 = cfn.get_template(StackName=MODULE1_STACK)["TemplateBody"]
    boot = cli.json("bootstrap")
    assert boot["stack"] == MODULE1_STACK and boot["bucket"] == account.bucket and boot["created"] is False
    assert boot["sagemaker_role_stack"] == "wildrydes-ml-mod1-3-training"
    assert cfn.get_template(StackName=MODULE1_STACK)["TemplateBody"] == module1      # left as it was
    trained = cli.json("train", "--on", "sagemaker", "--rows", "4000")
    assert trained["status"] == "Completed"
    job = local("sagemaker").describe_training_job(TrainingJobName=trained["job_name"])
    assert job["RoleArn"] == boot["sagemaker_role"]
    deployed = cli.json("deploy", "--yes")
    assert deployed["stack"] == account.stack and deployed["model_path"] == f"{trained['job_name']}/output/model.tar.gz"
    predicted = cli.json(*PREDICT)
    assert predicted["label"] == "heavy magic use likely" and predicted["model_path"] == deployed["model_path"]
    assert cli.json("cleanup")["stacks"] == [account.stack]
