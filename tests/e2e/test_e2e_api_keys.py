"""`deploy --auth api-key` on the local target with the real executable, over real HTTP: the printed curl (with
the command that sets $WILDRYDES_API_KEY) works and fails without the key, predict sends it, throttling and
quota answer 429, status shows today's usage (GetUsage, answered by the emulator; in a terminal at 80 columns),
rotate makes the old key stop working, a restart keeps the key, the AWS API shows the key and
plan, cleanup removes them, and back to --auth none the endpoint is open again. Each would fail with
enforcement off."""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone

import boto3
import emulated
import pytest
from clitools import WILDRYDES
from ptytools import plain, run_in_pty

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]


@pytest.fixture(scope="module")
def keyed(cli):
    cli.json("local", "start")
    cli.run("bootstrap")
    cli.json("train", "--rows", "3000", "--epochs", "3")
    text = cli.run("deploy", "--yes", "--auth", "api-key", "--rate", "1000", "--burst", "1000").stdout
    return {"text": text, "url": cli.json("status")["invoke_url"]}


def _post(url: str, key: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **({"x-api-key": key} if key is not None else {})}
    status, _, body = emulated.http("POST", url, emulated.WORKSHOP_BODY, headers)
    return status, json.loads(body)


def _apigateway(cli):
    env = cli.json("local", "env")
    return boto3.client("apigateway", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def test_the_printed_curl_works_with_its_key_and_is_refused_without(cli, keyed):
    lines = [line.strip() for line in keyed["text"].splitlines()]
    export = next(line for line in lines if line.startswith("export WILDRYDES_API_KEY="))
    curl = next(line for line in lines if line.startswith("curl "))
    assert '-H "x-api-key: $WILDRYDES_API_KEY"' in curl
    value = cli.run("keys", "show", "--value").stdout.strip()
    assert len(value) == 40 and value not in keyed["text"]            # deploy never prints the value
    with_key = subprocess.run(["bash", "-c", f"{export.replace('wildrydes ', f'{WILDRYDES} ', 1)} && {curl} -s"],
                              env=cli.env, capture_output=True, text=True, timeout=120)
    assert with_key.returncode == 0 and json.loads(with_key.stdout)["predicted_label"] == 1, with_key.stderr
    without = subprocess.run(["bash", "-c", f"{curl} -s"], env=cli.env, capture_output=True, text=True, timeout=60)
    assert json.loads(without.stdout) == {"message": "Forbidden"}
    assert _post(keyed["url"], "not-the-key-" * 4) == (403, {"message": "Forbidden"})
    assert cli.json(*PREDICT)["label"] == "heavy magic use likely"    # predict sends the key itself
    refused = cli.run(*PREDICT, "--url", keyed["url"], check=False)
    assert refused.returncode != 0 and "requires an API key" in refused.stderr
    listed = cli.run("keys", "list")
    assert value not in listed.stdout and "wildrydes-ml-mod3-4-key-1" in listed.stdout
    assert "api-key" in cli.run("status").stdout


def test_throttling_then_quota_answer_429(cli, keyed):
    cli.run("deploy", "--rate", "1", "--burst", "2")
    value = cli.run("keys", "show", "--value").stdout.strip()
    answers = [_post(keyed["url"], value) for _ in range(5)]
    assert (429, {"message": "Too Many Requests"}) in answers and answers[0][0] == 200
    used_before = cli.json("status")["usage"]["used"]
    cli.run("deploy", "--rate", "1000", "--burst", "1000", "--quota", "2/day")
    answers = [_post(keyed["url"], value)[0] for _ in range(3)]
    assert answers == [200, 200, 429]
    assert _post(keyed["url"], value)[1] == {"message": "Limit Exceeded"}
    # today's usage, read through GetUsage (moto has none: the emulator answers it from the front's counts)
    usage = cli.json("status")["usage"]
    today = datetime.now(timezone.utc).date().isoformat()
    assert usage == {"day": today, "used": used_before + 2, "remaining": 0, "counted": "exact"}
    key_id = cli.json("keys", "show")["keys"][0]["key_id"]
    gw = _apigateway(cli)
    plan = gw.get_usage_plans(keyId=key_id)["items"][0]["id"]
    assert gw.get_usage(usagePlanId=plan, keyId=key_id, startDate=today, endDate=today)["items"] == {
        key_id: [[used_before + 2, 0]]}
    with pytest.raises(gw.exceptions.BadRequestException, match="must be dates of the form YYYY-MM-DD"):
        gw.get_usage(usagePlanId=plan, startDate="today", endDate=today)
    with pytest.raises(gw.exceptions.NotFoundException, match="Invalid Usage Plan ID specified"):
        gw.get_usage(usagePlanId="nope", startDate=today, endDate=today)
    code, out = run_in_pty([str(WILDRYDES), "status"], cli.env, columns=80, cwd=str(cli.home))
    line = next(line for line in plain(out).splitlines() if line.startswith("usage today"))
    assert code == 0 and line.split(None, 2)[2] == f"{used_before + 2} requests on {today} UTC, 0 of 2/day left"
    assert len(line) <= 80          # one line at 80 columns, whole
    cli.run("deploy", "--quota", "none")
    assert _post(keyed["url"], value)[0] == 200


def test_rotate_replaces_the_key_and_a_restart_keeps_it(cli, keyed):
    old = cli.run("keys", "show", "--value").stdout.strip()
    rotated = cli.json("keys", "rotate")
    assert rotated["keys"][0]["name"] == "wildrydes-ml-mod3-4-key-2" and "value" not in rotated
    new = cli.run("keys", "show", "--value").stdout.strip()
    assert new != old
    assert _post(keyed["url"], old) == (403, {"message": "Forbidden"})
    assert _post(keyed["url"], new)[0] == 200
    cli.run("local", "stop")
    cli.run("local", "start")
    assert cli.run("keys", "show", "--value").stdout.strip() == new
    assert _post(keyed["url"], new)[0] == 200 and _post(keyed["url"], None)[0] == 403
    assert cli.json("status")["usage"]["used"] == 1      # the day's counts start again with the daemon
    gw = _apigateway(cli)
    assert [k["name"] for k in gw.get_api_keys()["items"]] == ["wildrydes-ml-mod3-4-key-2"]
    assert [p["name"] for p in gw.get_usage_plans()["items"]] == ["wildrydes-ml-mod3-4-plan"]


def test_back_to_none_opens_the_endpoint_and_cleanup_removes_keys_and_plans(cli, keyed):
    cli.run("deploy", "--auth", "none", "--yes")
    assert _post(keyed["url"], None)[0] == 200
    assert _apigateway(cli).get_api_keys()["items"] == [] and _apigateway(cli).get_usage_plans()["items"] == []
    shown = cli.run("keys", "show", check=False)
    assert shown.returncode == 3 and "has no API key" in shown.stderr
    cli.run("deploy", "--auth", "api-key", "--yes")
    assert _post(keyed["url"], None)[0] == 403
    cli.run("cleanup", "--yes")
    gw = _apigateway(cli)
    assert gw.get_api_keys()["items"] == [] and gw.get_usage_plans()["items"] == []
