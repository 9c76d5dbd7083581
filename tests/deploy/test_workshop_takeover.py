"""deploy takes over the stacks a workshop participant made with the workshop's own templates
(tests/workshop_account.py builds them), through ``--target aws`` on moto: deploy succeeds, predict
answers with the participant's model, status says up to date, and cleanup removes what deploy made
while the bucket, its models, the participant's own code zip and module 1's stack stay."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import workshop_account
from workshop_account import CODE_KEY, MODEL_KEY, MODULE1_STACK

RIDE = {"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0}
PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]
LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"


class _MotoS3:
    """The deployed function's S3 reader (lambda/s3get.py's two calls) over moto in-process."""

    def get_object(self, bucket: str, key: str, limit: int) -> bytes | None:
        try:
            return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read(limit + 1)
        except boto3.client("s3").exceptions.NoSuchKey:
            return None

    def list_objects(self, bucket: str, prefix: str, delimiter=None, max_keys: int = 1000, start_after=None) -> dict:
        page = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=max_keys,
                                                  **({"Delimiter": delimiter} if delimiter else {}))
        return {"keys": [o["Key"] for o in page.get("Contents", [])],
                "prefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])], "truncated": page["IsTruncated"]}


@pytest.fixture
def deployed_function(monkeypatch):
    """``serve(function_name)``: an HTTP endpoint running index.handler with that function's deployed
    environment (as moto holds it), as API Gateway and Lambda would; its URL is given to predict."""
    monkeypatch.syspath_prepend(str(LAMBDA_DIR))
    import config
    import index
    import models
    servers = []

    def serve(function_name: str) -> str:
        env = boto3.client("lambda").get_function_configuration(FunctionName=function_name)["Environment"]
        monkeypatch.setattr(index, "_store", models.ModelStore(config.load_config(env["Variables"]), _MotoS3()))

        class Proxy(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                response = index.handler({"resource": "/", "path": "/", "httpMethod": "POST",
                                          "headers": dict(self.headers), "body": body, "isBase64Encoded": False,
                                          "queryStringParameters": None, "pathParameters": None}, None)
                payload = response["body"].encode()
                self.send_response(response["statusCode"])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _stack_resources(name: str) -> dict[str, str]:
    resources = boto3.client("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources if "LogicalResourceId" in r}


def _log_groups(name: str) -> list[dict]:
    return [g for g in boto3.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
            if g["logGroupName"] == name]


@pytest.mark.parametrize("state", workshop_account.STATES)
def test_deploy_takes_over_the_participants_stacks(wildrydes, deployed_function, state):
    account = workshop_account.build(boto3.client, state)
    complete = ["--complete"] if state == "break-glass" else []
    deployed = wildrydes.json("deploy", *complete)
    assert deployed["stack"] == account.stack and deployed["stack_action"] == "updated"
    assert deployed["bucket"] == account.bucket and deployed["model_path"] == MODEL_KEY
    assert deployed["function_name"] == account.function            # the participant's function, taken over
    owned = _stack_resources(account.stack)
    group = f"/aws/lambda/{account.function}"
    if state == "invoked":   # Lambda's own log group: left in place and used, not made again
        assert "ModelInferenceFunctionLogGroup" not in owned and len(_log_groups(group)) == 1
        assert "retentionInDays" not in _log_groups(group)[0]       # as Lambda made it
    else:                    # none yet: the stack makes it, with a retention
        assert owned["ModelInferenceFunctionLogGroup"] == group and _log_groups(group)[0]["retentionInDays"] == 14
    assert wildrydes.json("deploy", *complete)["stack_action"] == "unchanged"   # and every later deploy too

    predicted = wildrydes.json(*PREDICT, "--url", deployed_function(account.function))
    assert predicted["model_path"] == MODEL_KEY
    assert predicted["score"] == pytest.approx(workshop_account.expected_score(RIDE), rel=1e-6)   # float32 weights
    status = wildrydes.json("status")
    assert status["up_to_date"] is True and status["stack"] == account.stack and status["missing"] == []

    cleaned = wildrydes.json("cleanup", "--yes")
    assert cleaned["stacks"] == [account.stack] and cleaned["buckets"] == []
    assert all(f"s3://{account.bucket}/code/wildrydes-" in c for c in cleaned["code"])
    s3 = boto3.client("s3")
    for key in (MODEL_KEY, CODE_KEY):                                # the participant's model and own code zip
        s3.head_object(Bucket=account.bucket, Key=key)
    module1 = boto3.client("cloudformation").describe_stacks(StackName=MODULE1_STACK)["Stacks"][0]
    assert module1["StackStatus"] == "CREATE_COMPLETE"
    assert len(_log_groups(group)) == (1 if state == "invoked" else 0)   # Lambda's stays; the stack's went
    assert wildrydes.json("cleanup", "--yes")["nothing_to_do"] is True

