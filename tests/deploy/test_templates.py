"""Every template passes cfn-lint; the break-glass stack has the same resources as the function stack."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "cloudformation"
ALL = sorted(TEMPLATES.glob("*.yml"))


def _cfn_lint() -> list[str]:
    exe = Path(sys.executable).with_name("cfn-lint")
    return [str(exe)] if exe.exists() else [shutil.which("cfn-lint") or "cfn-lint"]


def test_templates_exist():
    assert {p.name for p in ALL} >= {"prerequisites.yml", "function.yml"}


@pytest.mark.parametrize("template", ALL, ids=lambda p: p.name)
def test_cfn_lint_clean(template):
    done = subprocess.run(_cfn_lint() + [str(template)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _load(name: str) -> dict:
    from cfnlint.decode import decode
    template, matches = decode(str(TEMPLATES / name))
    assert not matches
    return template


def _role_statements() -> list:
    role = _load("function.yml")["Resources"]["ModelInferenceFunctionRole"]
    return role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_function_role_reads_only_models():
    statements = _role_statements()
    actions = sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == ["s3:GetObject", "s3:ListBucket"]
    resources = statements[0]["Resource"]
    # exactly the objects the function reads: model archives and breed indexes, not whole prefixes
    assert [r["Fn::Sub"] for r in resources] == [
        "arn:${AWS::Partition}:s3:::${DataBucket}/linear-learner-*/output/model.tar.gz",
        "arn:${AWS::Partition}:s3:::${DataBucket}/breeds/*/linear-learner-*/output/model.tar.gz",
        "arn:${AWS::Partition}:s3:::${DataBucket}/breeds/*/latest.json"]
    # listings of breeds, and of exactly a default model's key (to tell a deleted MODEL_PATH from a denied one)
    assert statements[1]["Condition"] == {"StringLike": {"s3:prefix": ["breeds/*", "linear-learner-*"]}}


def test_the_role_may_decrypt_with_exactly_the_keys_deploy_found():
    """SSE-KMS models: kms:Decrypt on the keys given, and no KMS policy at all without them (or with --role)."""
    template = _load("function.yml")
    policy = template["Resources"]["ModelKeyPolicy"]
    assert policy["Condition"] == "DecryptModels" and policy["Properties"]["Roles"] == [
        {"Ref": "ModelInferenceFunctionRole"}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::Split": [",", {"Ref": "ModelKmsKeyArns"}]}}]
    assert template["Conditions"]["DecryptModels"] == {"Fn::And": [
        template["Conditions"]["CreateFunctionRole"], {"Fn::Not": [{"Fn::Equals": [{"Ref": "ModelKmsKeyArns"}, ""]}]}]}
    assert all("Action" in s for s in _role_statements())   # the read policy itself has no conditional statement


def test_the_role_lets_the_function_tell_a_missing_breed_from_a_denied_one():
    """Under real IAM a GET of a missing key is 403; the function then lists exactly that key.
    IAM's StringLike '*' matches any characters, '/' included, as fnmatchcase does."""
    from fnmatch import fnmatchcase
    patterns = _role_statements()[1]["Condition"]["StringLike"]["s3:prefix"]

    def listable(prefix: str) -> bool:
        return any(fnmatchcase(prefix, pattern) for pattern in patterns)
    index_key = "breeds/no-such-breed/latest.json"          # what models.ModelStore._absent lists
    assert listable(index_key) and listable("breeds/")      # and GET /breeds
    # a deleted MODEL_PATH is told from a denied one the same way (it used to be "access denied")
    assert listable("linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz")
    assert not listable("") and not listable("code/") and not listable("raw/")   # the bucket's other contents


def test_preflight_patterns_are_the_roles():
    from wildrydes_cli.aws import checks
    role = _load("function.yml")["Resources"]["ModelInferenceFunctionRole"]
    granted = [r["Fn::Sub"].split("${DataBucket}/", 1)[1]
               for r in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"]]
    assert [g for g in granted if g.endswith("model.tar.gz")] == list(checks.READABLE_MODEL_PATTERNS)
    assert checks.role_can_read("linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz")
    assert checks.role_can_read("breeds/unicorn/linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz")
    assert not checks.role_can_read("linear-learner-2026/output/other.bin")
    assert not checks.role_can_read("my-models/model.tar.gz")


def test_function_timeout_is_under_api_gateways_29_seconds():
    function = _load("function.yml")["Resources"]["ModelInferenceFunction"]["Properties"]
    assert function["Timeout"] <= 29


def test_the_stack_owns_the_functions_log_group_with_a_retention():
    resources = _load("function.yml")["Resources"]
    groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == 1 and groups[0]["Properties"]["RetentionInDays"] > 0
    assert groups[0]["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${ModelInferenceFunction}"}
    assert groups[0].get("DeletionPolicy") == "Delete"
    # unless /aws/lambda/<function> already exists outside the stack (a taken-over workshop stack)
    assert groups[0]["Condition"] == "CreateLogGroup"
    template = _load("function.yml")
    assert template["Conditions"]["CreateLogGroup"] == {"Fn::Equals": [{"Ref": "FunctionLogGroup"}, "create"]}
    assert template["Parameters"]["FunctionLogGroup"]["AllowedValues"] == ["create", "existing"]


def test_a_failed_bootstrap_leaves_no_bucket_and_a_deleted_stack_keeps_it():
    """RetainExceptOnCreate: removed when the create rolls back, kept when the stack is deleted later."""
    bucket = _load("prerequisites.yml")["Resources"]["DataBucket"]
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate" and bucket["UpdateReplacePolicy"] == "Retain"


def test_the_function_gets_the_partitions_s3_dns_suffix():
    template = _load("function.yml")
    env = template["Resources"]["ModelInferenceFunction"]["Properties"]["Environment"]["Variables"]
    assert env["S3_DNS_SUFFIX"] == {"Ref": "S3DnsSuffix"}


def test_runtime_parameter_only_allows_current_and_mxnet_runtime():
    runtime = _load("function.yml")["Parameters"]["Runtime"]
    assert runtime["Default"] == "python3.13" and runtime["AllowedValues"] == ["python3.13", "python3.11"]
