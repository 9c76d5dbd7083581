"""deploy --role: a role the function could not read the model with is refused before anything is made.

The same check runs on both targets (the local target's end to end in
tests/e2e/test_e2e_role.py), with the evaluator the local target enforces the
function's calls with: the role's inline and managed policies and the bucket
policy, combined as IAM does within one account.
"""
from __future__ import annotations

import json

import boto3
from cli_helpers import MODEL_KEY

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def role(name: str, *statements: dict) -> str:
    iam = boto3.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))
    return name


def _nothing_created() -> None:
    names = [s["StackName"] for s in boto3.client("cloudformation").describe_stacks()["Stacks"]]
    assert "wildrydes-ml-mod3-4" not in names


def test_a_role_that_may_not_read_the_model_is_refused(wildrydes, with_model):
    bucket = with_model["bucket"]
    name = role("LogsOnly", {"Effect": "Allow", "Action": "logs:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/other/*"})
    result = wildrydes("deploy", "--role", name, expect=2, json_output=False)
    said = " ".join(result.stderr.split())
    assert f"Role LogsOnly may not s3:GetObject s3://{bucket}/{MODEL_KEY}" in said
    assert "no policy of the role or the bucket allows it" in said and "answer 503" in said
    assert f"Grant the role s3:GetObject on arn:aws:s3:::{bucket}/{MODEL_KEY}" in said
    _nothing_created()


def test_an_explicit_deny_in_a_managed_policy_is_named(wildrydes, with_model):
    bucket = with_model["bucket"]
    name = role("ReadsAllButModels", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    iam = boto3.client("iam")
    arn = iam.create_policy(PolicyName="NoModels", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/linear-learner-*"}]}))
    iam.attach_role_policy(RoleName=name, PolicyArn=arn["Policy"]["Arn"])
    result = wildrydes("deploy", "--role", name, expect=2, json_output=False)
    assert "managed policy arn:aws:iam::123456789012:policy/NoModels" in " ".join(result.stderr.split())
    _nothing_created()


def test_a_role_the_bucket_policy_grants_is_deployed(wildrydes, with_model):
    bucket = with_model["bucket"]
    name = role("GrantedByTheBucket")
    boto3.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::123456789012:role/{name}"},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    deployed = wildrydes.json("deploy", "--role", name)
    config = boto3.client("lambda").get_function_configuration(FunctionName=deployed["function_name"])
    assert config["Role"].endswith(f":role/{name}")


def test_a_role_with_wildcard_and_prefix_grants_is_deployed(wildrydes, with_model):
    bucket = with_model["bucket"]
    name = role("ReadsModels", {"Effect": "Allow", "Action": "s3:Get*",
                                "Resource": f"arn:aws:s3:::{bucket}/linear-learner-????-*/output/*"})
    assert wildrydes.json("deploy", "--role", name)["model_path"] == MODEL_KEY
