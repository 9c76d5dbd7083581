"""docs/workshop-by-hand.md, run as written: the workshop's steps with the AWS CLI against the local
target (its bash blocks in one shell), then what wildrydes makes of stacks made that way."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import emulated
import pytest
from clitools import AWS, BIN, WILDRYDES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "workshop-by-hand.md"
MARKER = "<!-- run by tests/e2e/test_e2e_workshop_by_hand.py"
PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]


def documented_script() -> str:
    """Every ```bash block after the marker, in order."""
    text = PAGE.read_text()
    assert MARKER in text, "the page says which blocks the test runs"
    blocks = re.findall(r"```bash\n(.*?)```", text.split(MARKER, 1)[1], flags=re.S)
    assert len(blocks) == 3
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def by_hand(cli):
    if not AWS.exists():
        pytest.skip("awscli not installed in this environment")
    shutil.copytree(ROOT / "cloudformation", cli.home / "cloudformation")
    script = documented_script()
    # the last block undoes `local env`; the test checks the shell before and after it
    script += '\necho "LEFT: ${AWS_ENDPOINT_URL:-none} ${AWS_ACCESS_KEY_ID:-none}"\n'
    env = {**cli.env, "PATH": f"{BIN}{os.pathsep}{cli.env.get('PATH', '')}"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cli.home, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


def _answers(stdout: str) -> list[dict]:
    """The function's answers among everything the commands printed (curl ends its body without a newline)."""
    return [json.loads(found) for found in re.findall(r'\{"score":[^{}]*\}', stdout)]


def test_both_stacks_answer_the_workshops_curl(by_hand):
    answers = _answers(by_hand.stdout)
    assert len(answers) == 2, by_hand.stdout           # Step 5 and the break-glass stack's CurlCommand
    assert all(a["predicted_label"] == 1 and a["engine"] == "lean" for a in answers)
    assert answers[0]["model_path"] == answers[1]["model_path"]
    assert answers[0]["model_path"].startswith("linear-learner-")
    assert "LEFT: none none" in by_hand.stdout   # `local env --unset` removed the endpoint and the key


def test_status_predict_and_logs_find_the_stack_made_by_hand(cli, by_hand):
    status = cli.json("status")
    assert status["deployed"] is True and status["recorded"] is False
    assert status["stack"] == "wildrydes-ml-mod3-4" and status["missing"] == []
    assert status["invoke_url"].startswith(f"http://127.0.0.1:{cli.port}/restapis/")
    assert "found in stack wildrydes-ml-mod3-4 (made by hand)" in cli.run("status").stdout
    predicted = cli.json(*PREDICT)
    assert predicted["score"] == pytest.approx(_answers(by_hand.stdout)[0]["score"], rel=1e-9)
    compact = cli.json("logs", "--compact", "--since", "1h")
    assert [r["status"] for r in compact["requests"]][-1] == 200
    lines = cli.run("logs", "--compact", "--since", "1h").stdout.splitlines()
    assert lines and re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z  200  -\s+\d+\.\d\d ms  POST '/'$", lines[-1]), lines


def test_the_stacks_outputs_are_the_local_targets(cli, by_hand):
    env = {**cli.env, **cli.json("local", "env")}
    out = subprocess.run([str(AWS), "cloudformation", "describe-stacks", "--stack-name", "wildrydes-ml-mod0-4",
                          "--output", "json"], env=env, capture_output=True, text=True, timeout=120, check=True)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in json.loads(out.stdout)["Stacks"][0]["Outputs"]}
    assert outputs["InvokeUrl"].startswith(f"http://127.0.0.1:{cli.port}/restapis/")
    assert "amazonaws.com" not in outputs["CurlCommand"]


def test_curl_without_a_content_type_is_answered(cli, by_hand):
    """curl -d without -H sends application/x-www-form-urlencoded: a JSON body is still read as JSON."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    url = cli.json("status")["invoke_url"]
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-d", emulated.WORKSHOP_BODY, "-X", "POST", url],
                         capture_output=True, text=True, timeout=60, check=True)
    body, code = out.stdout.rsplit("\n", 1)
    assert code == "200" and json.loads(body)["predicted_label"] == 1


def test_local_env_left_in_the_shell_never_reaches_aws(cli, by_hand):
    """After eval "$(wildrydes local env)", --target aws refuses (exit 2) and says how to undo it."""
    env = {**cli.env, "PATH": f"{BIN}{os.pathsep}{cli.env.get('PATH', '')}"}
    script = ('eval "$(wildrydes local env)"\n'
              'set +e; wildrydes --target aws deploy --yes; echo "EXIT $?"; set -e\n'
              'eval "$(wildrydes local env --unset)"\n'
              'echo "AFTER ${AWS_ENDPOINT_URL:-unset}"\n')
    done = subprocess.run(["bash", "-eu", "-c", script], cwd=cli.home, env=env, capture_output=True, text=True,
                          timeout=300)
    assert "EXIT 2" in done.stdout and "AFTER unset" in done.stdout, done.stdout + done.stderr
    assert 'eval "$(wildrydes local env --unset)"' in done.stderr and "execute-api" not in done.stdout
    assert WILDRYDES.exists()
