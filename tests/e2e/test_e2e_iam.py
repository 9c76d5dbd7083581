"""`deploy --auth iam` on the local target with the real executable, over real HTTP: unsigned requests get API
Gateway's 403s, a bad signature or another service's scope too, predict signs with the caller's credentials,
the printed `curl --aws-sigv4` line works after the command it prints, the account's IAM users are allowed or
refused by their policies (every row of tests/execute_api_rules.py), a policy detached or a key deactivated
counts on the very next request (and a restart keeps it), and back to --auth none it is open."""
from __future__ import annotations

import json
import subprocess

import emulated
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from clitools import WILDRYDES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]


@pytest.fixture(scope="module")
def signed_only(cli):
    cli.json("local", "start")
    cli.run("bootstrap")
    cli.json("train", "--rows", "3000", "--epochs", "3")
    text = cli.run("deploy", "--yes", "--auth", "iam").stdout
    return {"text": text, "url": cli.json("status")["invoke_url"], "env": cli.json("local", "env")}


def _post(url: str, secret: str | None, env: dict, service: str = "execute-api") -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        request = AWSRequest(method="POST", url=url, data=emulated.WORKSHOP_BODY.encode(), headers=headers)
        SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"], secret), service, env["AWS_DEFAULT_REGION"]).add_auth(request)
        headers = dict(request.headers.items())
    status, _, body = emulated.http("POST", url, emulated.WORKSHOP_BODY, headers)
    return status, json.loads(body)


def test_unsigned_or_badly_signed_requests_get_api_gateways_403s(signed_only):
    url, env = signed_only["url"], signed_only["env"]
    assert _post(url, None, env) == (403, {"message": "Missing Authentication Token"})
    status, body = _post(url, "not-the-secret", env)
    assert status == 403 and body["message"].startswith("The request signature we calculated does not match")
    status, body = _post(url, env["AWS_SECRET_ACCESS_KEY"], env, service="s3")
    assert status == 403 and "execute-api" in body["message"]
    status, body = _post(url, env["AWS_SECRET_ACCESS_KEY"], env)
    assert status == 200 and body["predicted_label"] == 1


def test_predict_signs_and_the_printed_curl_works_after_its_command(cli, signed_only):
    assert cli.json(*PREDICT)["label"] == "heavy magic use likely"
    lines = [line.strip() for line in signed_only["text"].splitlines()]
    export = next(line for line in lines if line.startswith('eval "$(wildrydes local env)"'))
    curl = next(line for line in lines if line.startswith("curl "))
    assert '--aws-sigv4 "aws:amz:us-east-1:execute-api"' in curl
    script = f"{export.replace('wildrydes ', f'{WILDRYDES} ', 1)} && {curl} -s"
    out = subprocess.run(["bash", "-c", script], env=cli.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)["predicted_label"] == 1, out.stderr
    refused = cli.run(*PREDICT, "--url", signed_only["url"], check=False)
    assert refused.returncode != 0 and "takes signed requests only" in refused.stderr
    assert "iam" in cli.json("status")["auth"]


def test_the_accounts_iam_users_and_every_rule_of_the_shared_table_over_real_http(cli, signed_only):
    """Users made with `iam create-user`/`create-access-key` through the emulator's own AWS API, with inline,
    attached managed and group policies, an explicit Deny and a resource wildcard; each row of
    tests/execute_api_rules.py (the table the real-AWS layer scripts AWS by) sent over real HTTP."""
    import boto3
    import execute_api_rules as rules

    url, env = signed_only["url"], signed_only["env"]
    kw = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": env["AWS_DEFAULT_REGION"],
          "aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
    account = boto3.client("sts", **kw).get_caller_identity()["Account"]
    api_id = url.split("/restapis/", 1)[1].split("/", 1)[0]
    keys = rules.make_callers(boto3.client("iam", **kw), f"arn:aws:execute-api:{env['AWS_DEFAULT_REGION']}:"
                                                         f"{account}:{api_id}")
    body = emulated.WORKSHOP_BODY.encode()
    for rule in rules.RULES:
        headers = rules.signed_headers(url, body, rules.credentials_for(rule, keys), env["AWS_DEFAULT_REGION"],
                                       rule.skew)
        status, answer_headers, raw = emulated.http("POST", url, body, headers)
        answer = json.loads(raw)
        assert rules.holds(rule, status, answer_headers.get("x-amzn-ErrorType"), answer), (rule.name, status, answer)
        if status == 200:
            assert answer["predicted_label"] == 1      # the function ran for an allowed caller


def test_a_detached_policy_refuses_the_very_next_request_and_a_restart_keeps_it(cli, signed_only):
    """The users' answers are cached between IAM writes: an IAM write through the emulator's own API counts on
    the next request over real HTTP, and after a restart (the journal's replay) the state is the same."""
    import boto3
    import execute_api_rules as rules

    url, env = signed_only["url"], signed_only["env"]
    kw = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": env["AWS_DEFAULT_REGION"],
          "aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
    iam = boto3.client("iam", **kw)
    iam.create_user(UserName="detached")
    policy = iam.create_policy(PolicyName="detached-invoke", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                                                 "Resource": "arn:aws:execute-api:*:*:*/prod/POST/*"}]}))
    arn = policy["Policy"]["Arn"]
    iam.attach_user_policy(UserName="detached", PolicyArn=arn)
    made = iam.create_access_key(UserName="detached")["AccessKey"]
    body = emulated.WORKSHOP_BODY.encode()

    def status() -> tuple[int, str | None]:
        headers = rules.signed_headers(url, body, (made["AccessKeyId"], made["SecretAccessKey"]),
                                       env["AWS_DEFAULT_REGION"])
        code, answer_headers, _ = emulated.http("POST", url, body, headers)
        return code, answer_headers.get("x-amzn-ErrorType")

    assert [status(), status()] == [(200, None), (200, None)]
    iam.detach_user_policy(UserName="detached", PolicyArn=arn)
    assert status() == (403, "AccessDeniedException")
    iam.attach_user_policy(UserName="detached", PolicyArn=arn)
    assert status() == (200, None)
    iam.update_access_key(UserName="detached", AccessKeyId=made["AccessKeyId"], Status="Inactive")
    assert status() == (403, "UnrecognizedClientException")
    iam.update_access_key(UserName="detached", AccessKeyId=made["AccessKeyId"], Status="Active")
    iam.detach_user_policy(UserName="detached", PolicyArn=arn)
    cli.run("local", "stop")
    cli.run("local", "start")
    assert status() == (403, "AccessDeniedException")
    iam.attach_user_policy(UserName="detached", PolicyArn=arn)
    assert status() == (200, None)


def test_back_to_none_the_endpoint_is_open(cli, signed_only):
    cli.run("deploy", "--auth", "none", "--yes")
    assert _post(signed_only["url"], None, signed_only["env"])[0] == 200
