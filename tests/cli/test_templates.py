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


def test_function_role_reads_only_models():
    role = _load("function.yml")["Resources"]["ModelInferenceFunctionRole"]
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    actions = sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == ["s3:GetObject", "s3:ListBucket"]
    resources = statements[0]["Resource"]
    assert [r["Fn::Sub"] for r in resources] == ["arn:${AWS::Partition}:s3:::${DataBucket}/linear-learner-*",
                                                  "arn:${AWS::Partition}:s3:::${DataBucket}/breeds/*"]


def test_runtime_parameter_only_allows_current_and_mxnet_runtime():
    runtime = _load("function.yml")["Parameters"]["Runtime"]
    assert runtime["Default"] == "python3.13" and runtime["AllowedValues"] == ["python3.13", "python3.11"]
