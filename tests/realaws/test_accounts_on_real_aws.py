"""The accounts wildrydes meets on real AWS, against the behaviour moto does not show (awsbehaviour.py):
a workshop participant's stacks, a role with an IAM path, a KMS-encrypted bucket, a scratchpad
written by the local target, a failed bootstrap, an opt-in region, an old state file.

Each test failed before its fix."""
from __future__ import annotations

import json

import boto3
import pytest
import workshop_account
from cli_helpers import MODEL_KEY, kms_bucket, upload_model

from wildrydes_cli.settings import default_state_dir

FUNCTION_STACK = "wildrydes-ml-mod3-4"
PREREQ_STACK = "wildrydes-ml-mod1-3"


def _said(result) -> str:
    return " ".join(((result.stdout or "") + (result.stderr or "")).split())


# -- a participant's stacks: Lambda's own log group is not made again ----------------------

@pytest.mark.parametrize("state", ["invoked", "never-invoked"])
def test_deploy_takes_over_the_workshops_stack_without_an_already_exists_rollback(wildrydes, real, slept, state):
    account = workshop_account.build(boto3.client, state, sleep=slept.append)
    deployed = wildrydes.json("deploy")
    assert deployed["function_name"] == account.function and deployed["stack_action"] == "updated"
    stack = boto3.client("cloudformation").describe_stacks(StackName=FUNCTION_STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    again = wildrydes.json("deploy", "--model-path", workshop_account.MODEL_KEY)
    assert again["stack_action"] == "unchanged"


# -- 1. a role with an IAM path ---------------------------------------------------------------

_LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.mark.parametrize("given", ["AmazonSageMaker-ExecutionRole-2026", "service-role/AmazonSageMaker-ExecutionRole-2026",
                                   "/service-role/AmazonSageMaker-ExecutionRole-2026"])
def test_a_role_with_an_iam_path(wildrydes, with_model, real, given):
    iam = boto3.client("iam")
    arn = iam.create_role(RoleName="AmazonSageMaker-ExecutionRole-2026", Path="/service-role/",
                          AssumeRolePolicyDocument=_LAMBDA_TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="AmazonSageMaker-ExecutionRole-2026", PolicyName="ReadModels",  # preflight checks it
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject",
                             "Resource": f"arn:aws:s3:::{with_model['bucket']}/*"}]}))
    deployed = wildrydes.json("deploy", "--role", given)
    role = boto3.client("lambda").get_function_configuration(FunctionName=deployed["function_name"])["Role"]
    assert role == arn


def test_a_role_path_that_is_not_the_roles_is_refused(wildrydes, with_model, real):
    boto3.client("iam").create_role(RoleName="Exec", Path="/service-role/", AssumeRolePolicyDocument=_LAMBDA_TRUST)
    result = wildrydes("deploy", "--role", "other-path/Exec", expect=2, json_output=False)
    assert "/service-role/" in _said(result) and "service-role/Exec" in _said(result)


# -- 2. models encrypted with a customer-managed KMS key ---------------------------------------

def test_the_function_role_may_decrypt_a_kms_encrypted_model(wildrydes, boot, real):
    key_arn = kms_bucket(boot["bucket"])
    upload_model(boot["bucket"])                        # encrypted with the bucket's default key
    deployed = wildrydes.json("deploy")
    iam = boto3.client("iam")
    role = boto3.client("lambda").get_function_configuration(FunctionName=deployed["function_name"])["Role"]
    policy = iam.get_role_policy(RoleName=role.rsplit("/", 1)[1], PolicyName="DecryptModels")["PolicyDocument"]
    statements = policy["Statement"] if isinstance(policy, dict) else json.loads(policy)["Statement"]
    assert statements == [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": [key_arn]}]


def test_a_given_role_and_a_kms_encrypted_model_are_named_together(wildrydes, boot, real):
    key_arn = kms_bucket(boot["bucket"])
    upload_model(boot["bucket"])
    result = wildrydes("deploy", "--role", boot["role"], json_output=False)
    assert key_arn in _said(result) and "kms:Decrypt" in _said(result) and boot["role"] in _said(result)


# -- 4 and 9. a stack in progress: cleanup waits as deploy does, and both say so meanwhile ----

def test_cleanup_waits_for_a_stack_in_progress_and_says_so(wildrydes, with_model, real):
    wildrydes.json("deploy")
    real.stack_in_progress(FUNCTION_STACK, "UPDATE_IN_PROGRESS", polls=6)   # Ctrl-C during a deploy
    result = wildrydes("cleanup", "--yes", json_output=False)
    assert f"Stack {FUNCTION_STACK} is still UPDATE_IN_PROGRESS: waiting" in _said(result)
    assert boto3.client("cloudformation").describe_stacks()["Stacks"][0]["StackName"] == PREREQ_STACK


def test_deploy_says_which_stack_it_waits_for(wildrydes, with_model, real):
    wildrydes.json("deploy")
    real.stack_in_progress(FUNCTION_STACK, "UPDATE_IN_PROGRESS", polls=3)
    result = wildrydes("deploy", json_output=False)
    said = _said(result)
    assert f"Stack {FUNCTION_STACK} is still UPDATE_IN_PROGRESS: waiting (0 s so far, at most 1800 s)" in said
    assert result.stdout.count("waiting") == 0   # progress is on stderr, never in the result


# -- 5. the scratchpad written on another target -------------------------------------------------

def test_a_scratchpad_bucket_from_the_local_target_is_not_used_on_aws(wildrydes, with_model, real):
    wildrydes.scratchpad.write_text("DataBucket: wildrydes-ml-mod1-3-databucket-made-on-local\n")
    assert wildrydes.json("deploy")["bucket"] == with_model["bucket"]     # this target's prerequisites stack


def test_a_scratchpad_bucket_of_another_account_is_refused_naming_it(wildrydes, real):
    upload_model_bucket = "someone-elses-bucket"
    real.foreign_bucket(upload_model_bucket)
    wildrydes.scratchpad.write_text(f"DataBucket: {upload_model_bucket}\n")
    before = len(real.calls)
    result = wildrydes("deploy", expect=4, json_output=False)
    assert upload_model_bucket in _said(result) and "another target" in _said(result)
    assert not {"PutObject", "CreateStack"} & {op for _, op, _ in real.calls[before:]}


# -- 6. a failed prerequisites stack is refused by every command that reads it -----------------

@pytest.mark.parametrize("command", [("deploy",), ("models",), ("scratchpad",),
                                     ("train", "--rows", "200", "--epochs", "1")])
def test_a_rolled_back_prerequisites_stack_is_refused_everywhere(wildrydes, with_model, real, command):
    wildrydes.scratchpad.unlink()
    real.set_status(PREREQ_STACK, "ROLLBACK_COMPLETE", "The following resource(s) failed to create: [DataBucket].")
    result = wildrydes(*command, expect=4, json_output=False)
    assert "ROLLBACK_COMPLETE" in _said(result) and "delete-stack" in _said(result)


# -- 8. an opt-in region the account has not enabled --------------------------------------------

def test_an_opt_in_region_that_is_not_enabled_is_named(wildrydes, real):
    real.region_not_enabled("ap-east-2")
    result = wildrydes("--region", "ap-east-2", "deploy", expect=4, json_output=False)
    said = _said(result)
    assert "InvalidClientTokenId" in said and "ap-east-2 is an opt-in region not enabled" in said
    assert "enable-region --region-name ap-east-2" in said


def test_rejected_credentials_in_a_default_region_say_nothing_of_regions(wildrydes, real):
    real.region_not_enabled("eu-west-1")    # scripted the same way: a region enabled in every account
    result = wildrydes("--region", "eu-west-1", "deploy", expect=4, json_output=False)
    assert "credentials were rejected" in _said(result) and "opt-in" not in _said(result)


# -- 10. cleanup --delete-bucket names the keys S3 refused -----------------------------------

def test_delete_bucket_names_refused_keys_and_does_not_count_them(wildrydes, with_model, real):
    real.refuse_delete(MODEL_KEY)
    result = wildrydes("cleanup", "--delete-bucket", "--yes", expect=4, json_output=False)
    said = _said(result)
    assert f"Bucket {with_model['bucket']} was not deleted" in said
    assert f"{MODEL_KEY}: AccessDenied: Access Denied" in said and "0 others were removed" in said
    assert "BucketNotEmpty" not in said
    boto3.client("s3").head_object(Bucket=with_model["bucket"], Key=MODEL_KEY)


# -- 11. a state file from before state was kept per account ---------------------------------

def test_an_old_state_file_is_migrated(wildrydes, with_model, real):
    deployed = wildrydes.json("deploy")
    folder = default_state_dir() / "deployed"
    (folder / "aws-123456789012-us-east-1.json").rename(folder / "aws-us-east-1.json")   # as written before
    status = wildrydes.json("status")
    assert status["deployed"] is True and status["stack"] == FUNCTION_STACK
    assert not (folder / "aws-us-east-1.json").exists()
    cleaned = wildrydes.json("cleanup", "--yes")
    assert cleaned["code"] == [f"s3://{with_model['bucket']}/{deployed['code_key']}"]


def test_an_old_state_file_of_another_account_stays_where_it_is(wildrydes, with_model, real):
    wildrydes.json("deploy")
    folder = default_state_dir() / "deployed"
    (folder / "aws-123456789012-us-east-1.json").rename(folder / "aws-us-east-1.json")
    real.use_account("210987654321")     # the stack is not in this account, nor its bucket reachable
    real.raw("cloudformation").delete_stack(StackName=FUNCTION_STACK)
    real.foreign_bucket(with_model["bucket"])
    assert wildrydes.json("status")["deployed"] is False
    assert (folder / "aws-us-east-1.json").exists()


# -- residual: a deploy interrupted between the stack update and the new deployment of prod ----

def test_a_deploy_interrupted_before_prod_was_redeployed_is_finished_by_the_next(wildrydes, with_model, real,
                                                                                  monkeypatch):
    wildrydes.json("deploy")
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.deploy import stacks
    original = stacks.template_body
    monkeypatch.setattr(stacks, "template_body", lambda name: original(name).replace(
        "      ResourceId: !Ref BreedResource\n      HttpMethod: ANY\n",
        "      ResourceId: !Ref BreedResource\n      HttpMethod: ANY\n      OperationName: ScoreABreed\n", 1))

    def interrupted(self, api_id, stage):
        raise KeyboardInterrupt
    with monkeypatch.context() as patch:
        patch.setattr(Aws, "create_deployment", interrupted)
        wildrydes("deploy", expect=1, json_output=False)        # Ctrl-C after the stack was updated
    assert real.stale_stages(), "the interrupted deploy left prod serving the old API"
    again = wildrydes.json("deploy")
    assert again["stack_action"] == "unchanged" and "deployment to stage prod" in again["repaired"]
    assert real.stale_stages() == set()
