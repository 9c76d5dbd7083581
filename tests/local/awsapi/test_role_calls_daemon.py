"""The function role enforced by a running daemon, over real HTTP: what the function may read is what its
role allows, as on AWS.

Each function is deployed with plain boto3 (tests/emulated.py) with a role and
policy of the test's choosing; a probe handler makes S3 calls from inside the
worker with the credentials the runner gave it (boto3 reads them from the
environment, as on Lambda), and the real deployed package shows what a user
sees: a model its role may not read is a 503 naming s3:GetObject.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import emulated
import pytest

pytestmark = pytest.mark.slow

PROBE = '''
import json, os
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    ask = json.loads(event["body"])
    s3 = boto3.client("s3")
    out = {"key_id": os.environ["AWS_ACCESS_KEY_ID"], "token": bool(os.environ.get("AWS_SESSION_TOKEN")),
           "caller": boto3.client("sts").get_caller_identity()["Arn"], "results": []}
    for op, bucket, key in ask:
        try:
            if op == "get":
                s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            elif op == "list":
                s3.list_objects_v2(Bucket=bucket, Prefix=key)
            elif op == "put":
                s3.put_object(Bucket=bucket, Key=key, Body=b"x")
            out["results"].append([200, "", ""])
        except ClientError as exc:
            error = exc.response["Error"]
            out["results"].append([exc.response["ResponseMetadata"]["HTTPStatusCode"], error.get("Code", ""),
                                   error.get("Message", "")])
    return {"statusCode": 200, "body": json.dumps(out)}
'''


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with emulated.emulator(tmp_path_factory.mktemp("emulator")) as status:
        yield status


def probe(daemon, policy, objects=None):
    suffix = uuid.uuid4().hex[:8]
    bucket = f"data-{suffix}"
    deployed = emulated.deploy(daemon.endpoint_url, emulated.zip_files({"index.py": PROBE}), {},
                               bucket=bucket, function_name=f"probe-{suffix}", timeout=20,
                               extra_objects=objects or {"models/m.tar.gz": b"m", "secret/s": b"s"},
                               role_policy=policy(bucket))
    return deployed


def ask(deployed, *calls):
    status, _, body = emulated.http("POST", deployed.invoke_url, json.dumps([list(c) for c in calls]),
                                    {"Content-Type": "application/json"})
    assert status == 200, body
    return json.loads(body)


def reads_models(bucket, *extra):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/models/*"}, *extra]}


def test_the_function_runs_as_its_role_and_reads_only_what_the_role_allows(daemon):
    deployed = probe(daemon, reads_models)
    out = ask(deployed, ("get", deployed.bucket, "models/m.tar.gz"), ("get", deployed.bucket, "secret/s"),
              ("put", deployed.bucket, "models/m.tar.gz"), ("list", deployed.bucket, ""))
    mine = emulated.credentials(daemon.endpoint_url)
    assert out["key_id"].startswith("ASIA") and out["key_id"] != mine.access_key_id and out["token"]
    assert out["caller"].endswith(f":assumed-role/{deployed.function_name}-role/{deployed.function_name}")
    assert out["results"][0] == [200, "", ""]
    assert out["results"][1][:2] == [403, "AccessDenied"] and "s3:GetObject" in out["results"][1][2]
    assert f'"arn:aws:s3:::{deployed.bucket}/secret/s"' in out["results"][1][2]
    assert out["results"][2][:2] == [403, "AccessDenied"] and out["results"][3][:2] == [403, "AccessDenied"]
    # the user's own credentials, as the CLI and the AWS CLI use them, are not restricted
    assert deployed.aws["s3"].get_object(Bucket=deployed.bucket, Key="secret/s")["Body"].read() == b"s"


def test_a_missing_key_is_403_unless_the_role_may_list_the_bucket(daemon):
    without_list = probe(daemon, reads_models)
    assert ask(without_list, ("get", without_list.bucket, "models/gone"))["results"][0][:2] == [403, "AccessDenied"]

    def with_list(bucket):
        return reads_models(bucket, {"Effect": "Allow", "Action": "s3:ListBucket",
                                     "Resource": f"arn:aws:s3:::{bucket}"})
    listing = probe(daemon, with_list)
    assert ask(listing, ("get", listing.bucket, "models/gone"))["results"][0][:2] == [404, "NoSuchKey"]

    def prefix_only(bucket):
        return reads_models(bucket, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
                                     "Condition": {"StringLike": {"s3:prefix": "models/*"}}})
    prefixed = probe(daemon, prefix_only)
    results = ask(prefixed, ("get", prefixed.bucket, "models/gone"), ("list", prefixed.bucket, "models/"),
                  ("list", prefixed.bucket, "secret/"))["results"]
    assert results[0][:2] == [403, "AccessDenied"]       # a GET has no s3:prefix
    assert results[1] == [200, "", ""] and results[2][:2] == [403, "AccessDenied"]


def test_an_explicit_deny_added_after_deploy_is_enforced_on_the_next_call(daemon):
    deployed = probe(daemon, reads_models)
    assert ask(deployed, ("get", deployed.bucket, "models/m.tar.gz"))["results"][0] == [200, "", ""]
    deployed.aws["iam"].put_role_policy(
        RoleName=f"{deployed.function_name}-role", PolicyName="lockdown", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))
    result = ask(deployed, ("get", deployed.bucket, "models/m.tar.gz"))["results"][0]
    assert result[:2] == [403, "AccessDenied"] and "explicit deny" in result[2] and "lockdown" in result[2]


def test_a_role_that_may_not_read_the_model_is_a_503_naming_s3_getobject(daemon):
    """The deployed package, as the user sees it: the same 503 as on AWS, not a 200 from broader credentials."""
    bucket = f"data-{uuid.uuid4().hex[:8]}"
    env = {"OUTPUT_BUCKET": bucket, "MODEL_PATH": "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"}
    deployed = emulated.deploy(daemon.endpoint_url, emulated.function_package(), env, bucket=bucket,
                               function_name=f"fn-{bucket}", timeout=20,
                               extra_objects={env["MODEL_PATH"]: emulated.workshop_model()},
                               role_policy={"Version": "2012-10-17", "Statement": [
                                   {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"}]})
    ride = json.dumps({"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0})
    status, _, body = emulated.http("POST", deployed.invoke_url, ride, {"Content-Type": "application/json"})
    assert status == 503, body
    error = json.loads(body)["error"]
    assert "s3:GetObject" in error and env["MODEL_PATH"] in error and "access denied" in error


def test_the_functions_breed_lookups_work_under_the_deploy_roles_least_privilege(daemon):
    """The template's ReadModels policy: an unknown breed is still a 404 (the function lists exactly its index
    key after S3's 403), GET /breeds lists under breeds/, and a known breed scores."""
    bucket = f"data-{uuid.uuid4().hex[:8]}"
    model = "breeds/unicorn/linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"
    index = json.dumps({"key": model}).encode()
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [
            f"arn:aws:s3:::{bucket}/linear-learner-*/output/model.tar.gz",
            f"arn:aws:s3:::{bucket}/breeds/*/linear-learner-*/output/model.tar.gz",
            f"arn:aws:s3:::{bucket}/breeds/*/latest.json"]},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": "breeds/*"}}}]}
    deployed = emulated.deploy(daemon.endpoint_url, emulated.function_package(),
                               {"OUTPUT_BUCKET": bucket, "MODEL_PATH": ""}, bucket=bucket,
                               function_name=f"fn-{bucket}", timeout=20, proxy_resource="breeds",
                               extra_objects={model: emulated.workshop_model(),
                                              "breeds/unicorn/latest.json": index},
                               role_policy=policy)
    status, _, body = emulated.http("GET", deployed.invoke_url + "breeds")
    assert status == 200 and json.loads(body)["breeds"] == ["unicorn"], body
    ride = json.dumps({"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0})
    json_type = {"Content-Type": "application/json"}
    status, _, body = emulated.http("POST", deployed.invoke_url + "?breed=unicorn", ride, json_type)
    assert status == 200 and "score" in json.loads(body), body
    status, _, body = emulated.http("POST", deployed.invoke_url + "?breed=pegasus", ride, json_type)
    assert status == 404 and "unknown breed 'pegasus'" in json.loads(body)["error"], body


def test_a_role_that_no_longer_trusts_lambda_fails_the_invocation(daemon):
    """Lambda cannot assume such a role, so the function cannot run: API Gateway's 502, never a run with
    other credentials; the daemon's log says why."""
    deployed = probe(daemon, reads_models)
    deployed.aws["iam"].update_assume_role_policy(
        RoleName=f"{deployed.function_name}-role", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    status, _, body = emulated.http("POST", deployed.invoke_url, "[]", {"Content-Type": "application/json"})
    assert status == 502 and json.loads(body) == {"message": "Internal server error"}
    assert "cannot be assumed by Lambda" in Path(daemon.log_file).read_text()
