"""The whole workshop on one machine with the real executable: start, bootstrap,
train, deploy, the workshop's curl, predict, a newer model served without a
restart, the AWS CLI seeing the stack, cleanup, stop - and no process left."""
from __future__ import annotations

import json
import math
import subprocess

import emulated
import pytest
from clitools import AWS, WILDRYDES, curl_post

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKSHOP = emulated.WORKSHOP_BODY
PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]
TRAIN = ["train", "--rows", "3000", "--epochs", "3"]


@pytest.fixture(scope="module")
def deployed(cli):
    started = cli.json("local", "start")
    assert started["running"] and started["port"] == cli.port
    assert cli.json("local", "start")["already_running"] is True
    cli.run("bootstrap")
    trained = cli.json(*TRAIN)
    deploy = cli.json("deploy", "--yes")
    return {"pid": started["pid"], "deploy": deploy, "train": trained}


def test_train_uses_mxnet_where_installed_else_numpy(deployed):
    """`--trainer auto`: MXNet on Python 3.11 (the default install), the numpy trainer on 3.12+."""
    import importlib.util
    expected = "mxnet" if importlib.util.find_spec("mxnet") else "numpy"
    assert deployed["train"]["trainer"] == expected
    assert deployed["train"]["metrics"]["auc"] > 0.6


def test_workshop_curl_and_predict_agree(cli, deployed):
    url = deployed["deploy"]["invoke_url"]
    assert url == f"http://127.0.0.1:{cli.port}/restapis/{deployed['deploy']['api_id']}/prod/_user_request_/"
    status, body = curl_post(url, WORKSHOP)
    assert status == 200, body
    assert isinstance(body["score"], float) and body["predicted_label"] in (0, 1)
    assert body["model_path"] == deployed["deploy"]["model_path"]
    predicted = cli.json(*PREDICT)
    assert predicted["score"] == pytest.approx(body["score"], rel=1e-9)
    # The workshop's ride is the textbook positive of its rule (magicpoints >= 50 * distance).
    assert body["predicted_label"] == 1 and predicted["label"] == "heavy magic use likely"


def test_predict_explain_through_the_deployed_function(cli, deployed):
    explained = cli.json(*PREDICT, "--explain")
    total = explained["intercept"] + sum(explained["contributions"].values())
    assert total == pytest.approx(math.log(explained["score"] / (1 - explained["score"])), rel=1e-6)
    assert max(explained["contributions"], key=lambda k: abs(explained["contributions"][k])) == "magicpoints"
    assert "why this score" in cli.run(*PREDICT, "--explain").stdout


def test_newer_model_is_served_after_deploy_without_restart(cli, deployed):
    first_path = deployed["deploy"]["model_path"]
    cli.run(*TRAIN, "--seed", "7")
    again = cli.json("deploy", "--yes")
    assert again["model_path"] != first_path and again["api_id"] == deployed["deploy"]["api_id"]
    status, body = curl_post(again["invoke_url"], WORKSHOP)
    assert status == 200 and body["model_path"] == again["model_path"]
    assert cli.json("local", "status")["pid"] == deployed["pid"], "the emulator was not restarted"


def test_aws_cli_sees_the_deployed_stack_function_and_api(cli, deployed):
    """The AWS CLI gets endpoint, region and the local target's credentials from `wildrydes local env`."""
    if not AWS.exists():
        pytest.skip("awscli not installed in this environment")
    local_env = cli.json("local", "env")
    assert local_env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{cli.port}"

    def aws(*args):
        out = subprocess.run([str(AWS), *args, "--output", "json"], env={**cli.env, **local_env},
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    stacks = {s["StackName"]: s for s in aws("cloudformation", "describe-stacks")["Stacks"]}
    assert stacks["wildrydes-ml-mod3-4"]["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    assert "wildrydes-ml-mod1-3" in stacks
    function = aws("lambda", "get-function-configuration", "--function-name", deployed["deploy"]["function_name"])
    assert function["Handler"] == "index.handler"
    assert function["Environment"]["Variables"]["MODEL_PATH"].endswith("model.tar.gz")
    apis = [a["id"] for a in aws("apigateway", "get-rest-apis")["items"]]
    assert deployed["deploy"]["api_id"] in apis


def test_eval_local_env_points_the_aws_cli_at_the_local_target(cli, deployed):
    """`eval "$(wildrydes local env)"` in a shell; the CLI's old dummy keys are refused with the fix named."""
    if not AWS.exists():
        pytest.skip("awscli not installed in this environment")
    script = f'eval "$({WILDRYDES} local env)" && {AWS} sts get-caller-identity --output json'
    out = subprocess.run(["bash", "-c", script], env=cli.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Account"] == emulated.ACCOUNT
    dummy = subprocess.run([str(AWS), "sts", "get-caller-identity", "--endpoint-url", f"http://127.0.0.1:{cli.port}",
                            "--region", "us-east-1"], env=cli.env, capture_output=True, text=True, timeout=120)
    assert dummy.returncode != 0
    assert "InvalidClientTokenId" in dummy.stderr and 'eval "$(wildrydes local env)"' in dummy.stderr


def test_logs_show_lambdas_lines_and_the_functions_request_line(cli, deployed):
    """What real Lambda writes, read back by `wildrydes logs` and by `aws logs filter-log-events`."""
    import time
    cli.json(*PREDICT)
    time.sleep(0.5)   # the runner writes logs in batches (every 0.2 s), as Lambda delivers them
    events = cli.json("logs", "--since", "10m")["events"]
    messages = [e["message"] for e in events]
    report = next(m for m in reversed(messages) if m.startswith("REPORT RequestId: "))
    assert "\tBilled Duration: " in report and "\tMemory Size: 128 MB" in report and "Max Memory Used: " in report
    assert any(m.startswith("START RequestId: ") and m.endswith("Version: $LATEST") for m in messages)
    request = [e for e in events if "request POST '/' breed=- status=200" in e["message"]]
    assert request and request[-1]["requestId"] and request[-1]["message"].startswith("[INFO]\t")
    assert all("2500" not in m for m in messages)   # the body is never logged
    assert "Init Duration: " in next(m for m in messages if m.startswith("REPORT"))   # a cold start came first
    assert cli.json("logs", "--filter", "REPORT")["events"] and all(
        "REPORT" in e["message"] for e in cli.json("logs", "--filter", "REPORT")["events"])
    either = {e["message"].split(" ")[0] for e in cli.json("logs", "--filter", "?START ?END")["events"]}
    assert either == {"START", "END"}      # CloudWatch's "any of" (moto answered every line)
    refused = cli.run("logs", "--filter", "{ $.status = 503 }", check=False)
    assert refused.returncode != 0 and "the local target does not evaluate JSON" in refused.stderr
    text = cli.run("logs", "--since", "1h").stdout
    assert f"  {request[-1]['requestId']}  [INFO]" in text
    if not AWS.exists():
        pytest.skip("awscli not installed in this environment")
    local_env = cli.json("local", "env")
    out = subprocess.run([str(AWS), "logs", "filter-log-events", "--log-group-name",
                          f"/aws/lambda/{deployed['deploy']['function_name']}", "--output", "json"],
                         env={**cli.env, **local_env}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert report in [e["message"] for e in json.loads(out.stdout)["events"]]


def test_logs_refuses_bad_input_before_starting_anything(cli, deployed):
    bad = cli.run("logs", "--since", "ten minutes", check=False)
    assert bad.returncode == 2 and "such as 30s, 10m, 2h or 1d" in bad.stderr
    bad = cli.run("logs", "--breed", "Not A Breed", check=False)
    assert bad.returncode == 2 and "a breed name is 1-63 lowercase letters" in bad.stderr


def test_cleanup_then_stop_leaves_no_process(cli, deployed):
    url = deployed["deploy"]["invoke_url"]
    cli.run("cleanup", "--yes")
    status, _ = curl_post(url, WORKSHOP)
    assert status == 403, "the API is gone after cleanup"
    worker_pids = subprocess.run(["pgrep", "-P", str(deployed["pid"])], capture_output=True, text=True).stdout.split()
    stopped = cli.json("local", "stop")
    assert stopped["pid"] == deployed["pid"] and stopped["running"] is False
    assert emulated.pid_gone(deployed["pid"])
    assert all(emulated.pid_gone(int(p)) for p in worker_pids)
    assert cli.daemon_pid() is None and cli.json("local", "status", check=False)["running"] is False
