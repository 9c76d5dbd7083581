"""deploy, cleanup and bootstrap against real AWS behaviour that moto does not show, one scenario each.

Each test failed before its fix: moto alone never shows these states."""
from __future__ import annotations

import boto3
import pytest
from cli_helpers import NEWER_KEY, upload_model

FUNCTION_STACK = "wildrydes-ml-mod3-4"
PREREQ_STACK = "wildrydes-ml-mod1-3"


def _said(result) -> str:
    return (result.stdout or "") + (result.stderr or "")


# -- stacks in progress, failed states, the deploy lock ------------------------

def test_deploy_waits_for_a_stack_found_create_in_progress(wildrydes, with_model, real):
    wildrydes.json("deploy")
    real.stack_in_progress(FUNCTION_STACK, "CREATE_IN_PROGRESS", polls=10)   # e.g. an interrupted first deploy
    result = wildrydes.json("deploy")
    assert result["function_name"] and result["stack_action"] == "unchanged"


def test_deploy_waits_for_an_update_in_progress_before_updating(wildrydes, with_model, real):
    wildrydes.json("deploy")
    upload_model(with_model["bucket"], NEWER_KEY)
    real.stack_in_progress(FUNCTION_STACK, "UPDATE_IN_PROGRESS", polls=10)   # a concurrent deploy elsewhere
    result = wildrydes.json("deploy", "--model-path", NEWER_KEY)
    assert result["model_path"] == NEWER_KEY


@pytest.mark.parametrize("status, hint", [
    ("ROLLBACK_FAILED", "delete it in the CloudFormation console"),
    ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback"),
    ("DELETE_FAILED", "retain"),
])
def test_stacks_needing_manual_action_get_a_hint(wildrydes, with_model, real, status, hint):
    wildrydes.json("deploy")
    real.set_status(FUNCTION_STACK, status, "something went wrong")
    result = wildrydes("deploy", expect=4, json_output=False)
    assert status in _said(result) and hint in _said(result)
    assert "Traceback" not in _said(result)


def test_update_rollback_complete_is_a_usable_stack(wildrydes, with_model, real):
    wildrydes.json("deploy")
    upload_model(with_model["bucket"], NEWER_KEY)
    real.fail_next(FUNCTION_STACK, "ModelInferenceFunction", "Memory size out of range")
    failed = wildrydes("deploy", "--model-path", NEWER_KEY, expect=4, json_output=False)
    assert "UPDATE_ROLLBACK_COMPLETE" in _said(failed) and "cleanup" not in _said(failed)
    assert "still serves the previous deployment" in _said(failed)
    again = wildrydes.json("deploy", "--model-path", NEWER_KEY)   # usable: deploy goes on from it
    assert again["model_path"] == NEWER_KEY


# -- the first *_FAILED event says why ---------------------------------------

def test_failed_create_names_the_resource_and_reason(wildrydes, with_model, real):
    real.fail_next(FUNCTION_STACK, "ModelInferenceFunction",
                   "The role defined for the function cannot be assumed by Lambda.")
    result = wildrydes("deploy", expect=4, json_output=False)
    said = " ".join(_said(result).split())
    assert "ModelInferenceFunction: The role defined for the function cannot be assumed by Lambda." in said
    assert "Resource creation cancelled" not in said


# -- a template change that touches the API reaches stage prod ---------------

def test_stack_update_touching_the_api_redeploys_prod(wildrydes, with_model, real, monkeypatch):
    first = wildrydes.json("deploy")
    assert real.stale_stages() == set()
    from wildrydes_cli.deploy import stacks
    original = stacks.template_body

    def changed(name: str) -> str:   # a new release of the template: one method gains an operation name
        body = original(name)
        return body.replace("      ResourceId: !Ref BreedResource\n      HttpMethod: ANY\n",
                            "      ResourceId: !Ref BreedResource\n      HttpMethod: ANY\n"
                            "      OperationName: ScoreABreed\n", 1) if name == stacks.FUNCTION else body
    monkeypatch.setattr(stacks, "template_body", changed)
    second = wildrydes.json("deploy")
    assert second["stack_action"] == "updated"
    assert real.stale_stages() == set(), "stage prod still serves the API as of the first deploy"
    assert second["api_id"] == first["api_id"]


# -- the bucket's region is checked before anything is uploaded --------------

def test_bucket_in_another_region_is_refused_in_preflight(wildrydes, with_model, real):
    real.bucket_in_region(with_model["bucket"], "eu-west-1")
    before = len(real.calls)
    result = wildrydes("deploy", expect=2, json_output=False)
    said = " ".join(_said(result).split())
    assert "eu-west-1" in said and "us-east-1" in said and with_model["bucket"] in said
    assert not {"PutObject", "CreateMultipartUpload", "CreateStack"} & {op for _, op, _ in real.calls[before:]}


# -- per-key delete errors are reported, not counted as removed -------------

def test_cleanup_reports_keys_it_could_not_delete(wildrydes, with_model, real):
    deployed = wildrydes.json("deploy")
    real.refuse_delete(deployed["code_key"])
    result = wildrydes("cleanup", "--yes", expect=4, json_output=False)
    said = " ".join(_said(result).split())
    assert deployed["code_key"] in said and "AccessDenied" in said
    s3 = boto3.client("s3")
    assert s3.head_object(Bucket=with_model["bucket"], Key=deployed["code_key"])   # it is still there


# -- state of one account is not used in another ------------------------------

def test_state_is_per_account(wildrydes, with_model, real):
    wildrydes.json("deploy")
    real.use_account("210987654321")
    # moto has one account: what the other account sees is modelled by removing the first one's stack
    # (commands now also find a deployment from the stacks, as one made by hand)
    boto3.client("cloudformation").delete_stack(StackName="wildrydes-ml-mod3-4")
    result = wildrydes("predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
                       "--tmin", "300", "--tmax", "333", "--prcp", "0", expect=3, json_output=False)
    assert "210987654321" in _said(result)
    status = wildrydes.json("status")
    assert status["deployed"] is False


# -- bootstrap does not reuse a failed prerequisites stack -----------------

def test_bootstrap_refuses_a_rolled_back_prerequisites_stack(wildrydes, real, tmp_path):
    wildrydes.json("bootstrap")
    wildrydes.scratchpad.unlink()
    real.set_status(PREREQ_STACK, "ROLLBACK_COMPLETE", "The following resource(s) failed to create: [DataBucket].")
    result = wildrydes("bootstrap", expect=4, json_output=False)
    said = " ".join(_said(result).split())
    assert "ROLLBACK_COMPLETE" in said and "delete-stack" in said
    assert not wildrydes.scratchpad.exists()


# -- a model the function role could not read (the CLI's side) ---------------------

def test_model_path_the_role_cannot_read_is_refused(wildrydes, with_model, real):
    upload_model(with_model["bucket"], "my-models/model.tar.gz")
    before = len(real.calls)
    result = wildrydes("deploy", "--model-path", "my-models/model.tar.gz", expect=2, json_output=False)
    said = " ".join(_said(result).split())
    assert "my-models/model.tar.gz" in said and "linear-learner-" in said and "breeds/" in said
    assert "CreateStack" not in {op for _, op, _ in real.calls[before:]}


# -- Lambda's update in progress and throttling on the deploy path ---------------------

def test_deploy_survives_throttling_and_a_busy_function(wildrydes, with_model, real):
    first = wildrydes.json("deploy")
    upload_model(with_model["bucket"], NEWER_KEY)
    real.function_busy(first["function_name"], polls=2)
    real.throttle("cloudformation", "DescribeStacks", times=2)
    real.throttle("lambda", "GetFunctionConfiguration", times=2)
    result = wildrydes.json("deploy", "--model-path", NEWER_KEY)
    assert result["model_path"] == NEWER_KEY
    assert ("lambda", "GetFunctionConfiguration") in real.throttled
    env = boto3.client("lambda").get_function_configuration(FunctionName=first["function_name"])["Environment"]
    assert env["Variables"]["MODEL_PATH"] == NEWER_KEY




# -- two deploys at once on one machine are serialized ------------------------

def test_deploy_waits_for_the_lock_of_another_deploy(wildrydes, with_model, real, slept, tmp_path):
    from wildrydes_cli.deploy import locks
    from wildrydes_cli.settings import default_state_dir
    path = locks.lock_path(default_state_dir(), "aws", "123456789012", "us-east-1")
    with locks.held(path):     # another deploy of this target, account and region is running
        before = len(real.calls)
        result = wildrydes("deploy", expect=4, json_output=False)
        said = " ".join(_said(result).split())
        assert "Another wildrydes deploy" in said and f"pid {__import__('os').getpid()}" in said
        assert "CreateStack" not in {op for _, op, _ in real.calls[before:]}
        assert sum(slept) >= 900
    assert wildrydes.json("deploy")["function_name"]   # released: the next deploy goes on


def test_lock_is_per_account_and_region(tmp_path):
    from wildrydes_cli.deploy import locks
    one = locks.lock_path(tmp_path, "aws", "111111111111", "us-east-1")
    with locks.held(one), locks.held(locks.lock_path(tmp_path, "aws", "222222222222", "us-east-1"), timeout=0), \
            locks.held(locks.lock_path(tmp_path, "aws", "111111111111", "eu-west-1"), timeout=0):
        with pytest.raises(Exception, match="Another wildrydes deploy"):
            with locks.held(one, timeout=0):
                pass


# -- the function's log group belongs to the stack ---------------------------

def test_cleanup_removes_the_functions_log_group(wildrydes, with_model, real):
    deployed = wildrydes.json("deploy")
    logs = boto3.client("logs")
    name = f"/aws/lambda/{deployed['function_name']}"
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [name] and groups[0]["retentionInDays"] == 14
    wildrydes.json("cleanup", "--yes")
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []


# -- S3's 403 for a missing key without s3:ListBucket ----------------------------------

def test_missing_model_under_credentials_without_list_bucket(wildrydes, with_model, real):
    real.deny_list_bucket(with_model["bucket"])
    missing = "linear-learner-2030-01-01-00-00-00-000/output/model.tar.gz"
    result = wildrydes("deploy", "--model-path", missing, expect=4, json_output=False)
    said = " ".join(_said(result).split())
    assert missing in said and "no such key" in said and "s3:ListBucket" in said


# -- --role: what the deployer may not read about the role is not held against it ----------

def test_role_read_check_is_skipped_when_iam_refuses_to_show_the_policies(wildrydes, with_model, real):
    """A deployer may pass a role (iam:PassRole) without being allowed to read its policies: the check
    cannot be made, so deploy goes on as before it existed (the function's requests tell)."""
    import json
    iam = boto3.client("iam")
    iam.create_role(RoleName="Opaque", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    refused = wildrydes("deploy", "--role", "Opaque", expect=2, json_output=False)
    assert "may not s3:GetObject" in " ".join(_said(refused).split())
    real.deny("iam", "ListRolePolicies")
    deployed = wildrydes.json("deploy", "--role", "Opaque")
    assert deployed["function_name"] and ("iam", "ListRolePolicies") in {(s, o) for s, o, _ in real.calls}
