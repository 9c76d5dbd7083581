"""scratchpad, bootstrap, status and cleanup against moto, checked through boto3."""
from __future__ import annotations

import json

import boto3
import pytest
from cli_helpers import MODEL_KEY, NEWER_KEY, interactive, run_main, upload_model

from wildrydes_cli import deployment_record
from wildrydes_cli.settings import Settings


def _stack_names() -> list[str]:
    return [s["StackName"] for s in boto3.client("cloudformation").describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"]


# -- bootstrap -------------------------------------------------------------------------

def test_bootstrap_creates_bucket_and_role_then_reuses_them(wildrydes):
    first = wildrydes.json("bootstrap")
    assert first["created"] is True and first["stack"] == "wildrydes-ml-mod1-3"
    boto3.client("s3").head_bucket(Bucket=first["bucket"])
    role = boto3.client("iam").get_role(RoleName=first["role"])["Role"]
    assert "lambda.amazonaws.com" in str(role["AssumeRolePolicyDocument"])
    second = wildrydes.json("bootstrap")
    assert second["created"] is False and second["bucket"] == first["bucket"]
    assert _stack_names().count("wildrydes-ml-mod1-3") == 1
    assert len(boto3.client("s3").list_buckets()["Buckets"]) == 1


# -- scratchpad -------------------------------------------------------------------------

def test_scratchpad_without_prerequisites(wildrydes):
    result = wildrydes("scratchpad", expect=3, json_output=False)
    assert "Stack wildrydes-ml-mod1-3 does not exist" in result.stderr and "wildrydes bootstrap" in result.stderr


def test_scratchpad_records_role_and_bucket_idempotently(wildrydes, boot):
    wildrydes.scratchpad.write_text('my notes\n"SomeRole-From-The-Workshop-Command"\n')
    first = wildrydes.json("scratchpad")
    second = wildrydes.json("scratchpad")
    assert first["changed"] is True and second["changed"] is False
    lines = wildrydes.scratchpad.read_text().splitlines()
    assert lines == ["my notes", '"SomeRole-From-The-Workshop-Command"',
                     f"DataBucket: {boot['bucket']}", f"DataProcessingExecutionRole: {boot['role']}"]
    # the role is the one the workshop's describe-stack-resources command reads
    physical = boto3.client("cloudformation").describe_stack_resources(
        StackName="wildrydes-ml-mod1-3", LogicalResourceId="DataProcessingExecutionRole")["StackResources"][0]
    assert physical["PhysicalResourceId"] == boot["role"] == first["role"]


def test_scratchpad_updates_a_stale_value_in_place(wildrydes, boot):
    wildrydes.scratchpad.write_text("DataBucket: old-bucket\nnote: keep me\nDataBucket: older\n")
    wildrydes.json("scratchpad")
    assert wildrydes.scratchpad.read_text().splitlines() == [
        f"DataBucket: {boot['bucket']}", "note: keep me", f"DataProcessingExecutionRole: {boot['role']}"]


def test_scratchpad_unwritable(wildrydes, boot, tmp_path):
    wildrydes.scratchpad = tmp_path / "missing-dir" / "scratchpad.txt"
    result = wildrydes("scratchpad", expect=2, json_output=False)
    assert "Cannot write scratchpad" in result.stderr and "--scratchpad" in result.stderr


def test_deploy_reads_bucket_from_scratchpad(wildrydes, tmp_path):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="my-workshop-bucket")
    upload_model("my-workshop-bucket")
    wildrydes.scratchpad.write_text("DataBucket: my-workshop-bucket\n")
    assert wildrydes.json("deploy")["bucket"] == "my-workshop-bucket"


# -- status -----------------------------------------------------------------------------

def test_status_before_deploy(wildrydes, boot):
    result = wildrydes.json("status")
    assert result["deployed"] is False
    assert result["stacks"] == {"wildrydes-ml-mod1-3": "CREATE_COMPLETE", "wildrydes-ml-mod3-4": "absent",
                                "wildrydes-ml-mod0-4": "absent"}
    assert "Nothing deployed yet" in wildrydes("status", json_output=False).stdout


def test_status_after_deploy_and_newer_model(wildrydes, deployed, with_model):
    result = wildrydes.json("status")
    assert result["function"]["runtime"] == "python3.13" and result["function"]["memory_mb"] == 128
    assert result["function"]["engine"] == "lean" and result["function"]["model_path"] == MODEL_KEY
    assert result["api_id"] == deployed["api_id"] and result["invoke_url"] == deployed["invoke_url"]
    assert result["up_to_date"] is True
    upload_model(with_model["bucket"], NEWER_KEY)
    result = wildrydes.json("status")
    assert result["newest_model"] == NEWER_KEY and result["up_to_date"] is False
    assert "run `wildrydes deploy`" in wildrydes("status", json_output=False).stdout


# -- cleanup ----------------------------------------------------------------------------

def test_cleanup_removes_what_deploy_made_and_keeps_models(wildrydes, deployed, with_model):
    bucket = with_model["bucket"]
    result = wildrydes.json("cleanup", "--yes")
    assert result["stacks"] == ["wildrydes-ml-mod3-4"] and result["nothing_to_do"] is False
    assert result["apis"] == [deployed["api_id"]]            # moto leaves it; we remove it
    assert result["code"] == [f"s3://{bucket}/{deployed['code_key']}"]
    assert "wildrydes-ml-mod3-4" not in _stack_names()
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("apigateway").get_rest_apis()["items"] == []
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    # models stay, code is gone; the deploy history stays too (a record of what was served, like the models)
    assert [k for k in keys if not k.startswith("deploy-history/wildrydes-ml-mod3-4/")] == [MODEL_KEY]
    assert len(keys) == 2
    assert "wildrydes-ml-mod1-3" in _stack_names()            # and the prerequisites too
    assert not deployment_record.state_path(Settings(target="aws", account="123456789012")).exists()

    again = wildrydes.json("cleanup", "--yes")
    assert again["nothing_to_do"] is True
    assert "Nothing to clean up" in wildrydes("cleanup", "--yes", json_output=False).stdout


def test_cleanup_says_what_it_removed_in_one_line(wildrydes, deployed):
    text = wildrydes("cleanup", "--yes", json_output=False).stdout
    assert text.splitlines()[0] == "Cleaned up: 1 stack, 1 API, 1 code zip."
    assert f"removed API {deployed['api_id']}" in text


def test_cleanup_summary_reads_naturally():
    from wildrydes_cli.deploy.cleanup import removed_summary
    assert removed_summary({"stacks": ["a", "b"], "apis": ["x"], "code": ["c1", "c2", "c3"], "buckets": []}) == \
        "2 stacks, 1 API, 3 code zips."
    assert removed_summary({"stacks": [], "apis": ["x", "y"], "code": [], "buckets": ["b"]}) == "2 APIs, 1 bucket."


def test_cleanup_without_state_still_finds_the_stack(wildrydes, deployed):
    deployment_record.save(Settings(target="aws", account="123456789012"), {})       # state lost
    result = wildrydes.json("cleanup", "--yes")
    assert result["stacks"] == ["wildrydes-ml-mod3-4"] and result["apis"] == [deployed["api_id"]]
    assert boto3.client("apigateway").get_rest_apis()["items"] == []


def test_cleanup_delete_bucket_declined(wildrydes, deployed, with_model, monkeypatch):
    interactive(monkeypatch)
    result = wildrydes("cleanup", "--delete-bucket", input="y\nn\n", json_output=False)   # stacks yes, bucket no
    assert "Kept bucket" in result.stderr
    boto3.client("s3").head_bucket(Bucket=with_model["bucket"])


def test_cleanup_delete_bucket_confirmed(wildrydes, deployed, with_model, monkeypatch):
    interactive(monkeypatch)
    result = wildrydes("cleanup", "--delete-bucket", input="y\ny\n", json_output=False)
    assert "Delete bucket" in result.stderr
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert "wildrydes-ml-mod1-3" not in _stack_names()
    again = wildrydes.json("cleanup", "--delete-bucket", "--yes")
    assert again["nothing_to_do"] is True


def test_cleanup_delete_bucket_without_a_terminal_refuses_and_names_yes(wildrydes, deployed, with_model):
    result = wildrydes("cleanup", "--delete-bucket", expect=2, json_output=False)   # stdin is not a TTY
    assert "Delete stack" in result.stderr and "Cannot ask: stdin is not a terminal. Pass --yes" in result.stderr
    assert "Aborted" not in result.stderr
    boto3.client("s3").head_bucket(Bucket=with_model["bucket"])                  # still there


def test_cleanup_delete_bucket_without_a_terminal_json_is_one_object(wildrydes, with_model):
    code, out, err = run_main(["--target", "aws", "--output", "json", "--scratchpad", str(wildrydes.scratchpad),
                               "cleanup", "--delete-bucket"])
    assert code == 2
    error = json.loads(out)
    assert error["exit_code"] == 2 and "--yes" in error["error"]
    boto3.client("s3").head_bucket(Bucket=with_model["bucket"])


def test_cleanup_delete_bucket_yes(wildrydes, with_model):
    result = wildrydes.json("cleanup", "--delete-bucket", "--yes")
    assert result["buckets"] == [with_model["bucket"]]
    assert boto3.client("s3").list_buckets()["Buckets"] == []


def test_cleanup_complete_stack(wildrydes, with_model):
    made = wildrydes.json("deploy", "--complete")
    result = wildrydes.json("cleanup", "--yes")
    assert result["stacks"] == ["wildrydes-ml-mod0-4"] and made["api_id"] in result["apis"]
    assert boto3.client("lambda").list_functions()["Functions"] == []


# -- bad environment and files ---------------------------------------------------------

def test_corrupt_state_file_is_ignored(wildrydes, boot):
    path = deployment_record.state_path(Settings(target="aws", account="123456789012"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert wildrydes.json("status")["deployed"] is False


def test_unreadable_scratchpad(wildrydes):
    # no prerequisites stack: the scratchpad is where the bucket would come from (the stack comes first)
    wildrydes.scratchpad.write_bytes(b"\xff\xfe\x00bad")
    result = wildrydes("deploy", expect=2, json_output=False)
    assert "does not look like a scratchpad (not UTF-8 text)" in result.stderr and "--scratchpad" in result.stderr


def test_bad_target_env_value(wildrydes, monkeypatch):
    monkeypatch.setenv("WILDRYDES_TARGET", "gcp")
    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 2 and "'gcp' is not one of 'local', 'aws'" in result.stderr


def test_unknown_profile(wildrydes):
    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli
    result = CliRunner().invoke(cli, ["--target", "aws", "--profile", "nope", "status"])
    assert result.exit_code == 2 and "could not be found" in result.stderr and "--profile" in result.stderr


def test_cleanup_on_aws_asks_before_deleting_stacks(wildrydes, deployed, monkeypatch):
    result = wildrydes("cleanup", expect=2, json_output=False)           # a script without --yes: refused
    assert ("Delete stack wildrydes-ml-mod3-4 (function, API, uploaded code) on aws account 123456789012, "
            "us-east-1?") in result.stderr and "Pass --yes" in result.stderr
    assert "wildrydes-ml-mod3-4" in _stack_names()
    interactive(monkeypatch)
    declined = wildrydes("cleanup", input="n\n", json_output=False)
    assert "Nothing deleted: kept wildrydes-ml-mod3-4." in declined.stdout
    assert "wildrydes-ml-mod3-4" in _stack_names()
    assert wildrydes.json("cleanup", input="y\n")["stacks"] == ["wildrydes-ml-mod3-4"]
    assert "wildrydes-ml-mod3-4" not in _stack_names()


def _template_before_the_sagemaker_role() -> str:
    """prerequisites.yml as an earlier bootstrap created it: without SageMakerExecutionRole."""
    from cfnlint.decode import decode_str

    from wildrydes_cli import prerequisites
    template, _ = decode_str(prerequisites.template_body())
    del template["Resources"]["SageMakerExecutionRole"], template["Resources"]["TrainingKeyPolicy"]
    del template["Outputs"]["SageMakerExecutionRoleArn"]
    return json.dumps(template, default=str)


def _outputs(stack: str) -> dict[str, str]:
    import boto3
    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _role_may(arn: str, action: str, resource: str) -> bool:
    """IAM's decision on the role's own policies (the local target's evaluator; moto evaluates none)."""
    from wildrydes_cli.local.awsapi import iam_policy
    from wildrydes_cli.local.awsapi.moto_backends.iam import role_record

    role = role_record(arn)
    assert role is not None and "sagemaker.amazonaws.com" in role.trust_policy
    policies = [iam_policy.parse(text, name) for name, text in (*role.inline, *role.managed)]
    return iam_policy.evaluate(policies, iam_policy.Request(action, resource, {})).allowed


@pytest.mark.parametrize("ours", [True, False])
def test_bootstrap_adds_the_sagemaker_role_to_its_own_earlier_stack_or_beside_anothers(wildrydes, ours):
    """A stack an earlier `bootstrap` made (tagged wildrydes) gains the role by an update; a stack someone
    else made under that name (the workshop's module 1) is left as it is, and the role goes into a stack of
    its own beside it, allowed on that stack's bucket (before: no role at all, and `train --on sagemaker`
    sent the workshop's participants to write an IAM role by hand)."""
    import boto3
    cfn = boto3.client("cloudformation")
    tags = [{"Key": "wildrydes", "Value": "true"}] if ours else []
    cfn.create_stack(StackName="wildrydes-ml-mod1-3", Tags=tags, TemplateBody=_template_before_the_sagemaker_role(),
                     Capabilities=["CAPABILITY_IAM"])
    theirs = cfn.get_template(StackName="wildrydes-ml-mod1-3")["TemplateBody"]
    result = wildrydes.json("bootstrap")
    assert result["created"] is False and result["updated"] is ours
    bucket = _outputs("wildrydes-ml-mod1-3")["DataBucket"]
    if ours:
        assert result["sagemaker_role"] == _outputs("wildrydes-ml-mod1-3")["SageMakerExecutionRoleArn"]
        assert result["sagemaker_role_stack"] is None
    else:
        assert "SageMakerExecutionRoleArn" not in _outputs("wildrydes-ml-mod1-3")
        assert cfn.get_template(StackName="wildrydes-ml-mod1-3")["TemplateBody"] == theirs   # untouched
        assert result["sagemaker_role_stack"] == "wildrydes-ml-mod1-3-training"
        beside = _outputs("wildrydes-ml-mod1-3-training")
        assert beside == {"DataBucket": bucket, "SageMakerExecutionRoleArn": result["sagemaker_role"]}
        made = [r["LogicalResourceId"] for r in cfn.list_stack_resources(      # moto lists a resource whose
            StackName="wildrydes-ml-mod1-3-training")["StackResourceSummaries"]    # Condition is false as a
                if r["LogicalResourceId"]]                                           # blank entry: not made
        assert made == ["SageMakerExecutionRole"]    # no second bucket, no second data processing role
    role = result["sagemaker_role"]
    assert _role_may(role, "s3:GetObject", f"arn:aws:s3:::{bucket}/training/job/train/part-00000.pbr")
    for key in ("linear-learner-2026-12-04-18-00-00-000", "my-job", "breeds/b1/my-job"):   # any --job-name
        assert _role_may(role, "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}/output/model.tar.gz")
    assert not _role_may(role, "s3:PutObject", f"arn:aws:s3:::{bucket}/code/wildrydes-lean.zip")
    assert not _role_may(role, "s3:GetObject", "arn:aws:s3:::another-bucket/training/job/train/part-00000.pbr")
    again = wildrydes.json("bootstrap")                          # the next bootstrap has nothing to add
    assert again["updated"] is False and again["sagemaker_role"] == result["sagemaker_role"]


def test_deleting_the_workshops_bucket_deletes_the_role_stack_made_for_it(wildrydes):
    """`cleanup --delete-bucket`: the SageMaker role bootstrap made beside a module 1 stack it did not make
    serves only that bucket, so it goes with it; module 1's own stack (the workshop's outputs name no
    DataBucket) stays, as before."""
    import boto3
    workshop = json.loads(_template_before_the_sagemaker_role())
    workshop["Outputs"] = {"DataBucketName": {"Value": {"Ref": "DataBucket"}}}     # as the workshop's template
    boto3.client("cloudformation").create_stack(StackName="wildrydes-ml-mod1-3", TemplateBody=json.dumps(workshop),
                                                Capabilities=["CAPABILITY_IAM"])
    boot = wildrydes.json("bootstrap")
    assert "wildrydes-ml-mod1-3-training" in _stack_names()
    result = wildrydes.json("cleanup", "--delete-bucket", "--yes")
    assert result["buckets"] == [boot["bucket"]] and result["stacks"] == ["wildrydes-ml-mod1-3-training"]
    assert "wildrydes-ml-mod1-3-training" not in _stack_names() and "wildrydes-ml-mod1-3" in _stack_names()
