"""Helpers shared by the local-target tests and benchmarks: a daemon on a free
port that is always stopped by pid, and a deployment made with plain boto3
(bucket, model, function from S3 code, REST API with ANY on the root and an
AWS_PROXY integration, stage ``prod``), the way CloudFormation would make it.
"""
from __future__ import annotations

import io
import json
import os
import socket
import time
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "lambda"
FEATURES = ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")
WORKSHOP_BODY = '{ "distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0 }'
ACCOUNT = "123456789012"
_STATE_DIRS: dict[str, Path] = {}  # endpoint URL -> state dir of the daemons ``emulator`` started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_gone(pid: int, timeout: float = 10.0) -> bool:
    from wildrydes_cli.local.daemon_files import pid_alive

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


@contextmanager
def emulator(state_dir: Path, port: int = 0):
    """A running daemon (any free port by default); stopped by pid afterwards, workers included."""
    from wildrydes_cli.local import daemon
    from wildrydes_cli.settings import Settings

    settings = Settings(state_dir=Path(state_dir), local_port=port)
    status = daemon.start(settings)
    _STATE_DIRS[status.endpoint_url] = Path(state_dir)
    try:
        yield status
    finally:
        _STATE_DIRS.pop(status.endpoint_url, None)
        daemon.stop(settings)
        assert pid_gone(status.pid), f"emulator pid {status.pid} still alive"


def zip_files(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def function_package() -> bytes:
    """The deployed function's zip: lambda/*.py without __init__.py (as the packager makes it)."""
    return zip_files({p.name: p.read_bytes() for p in sorted(LAMBDA_DIR.glob("*.py")) if p.name != "__init__.py"})


def workshop_model(scale: float = 1.0) -> bytes:
    """A small binary-classifier linear-learner archive over the workshop's six features."""
    from wildrydes_cli.training.sagemaker_archive import write_model_archive

    weights = [0.01 * scale, 0.02, 0.0004, -0.001, 0.001, -0.5]
    return write_model_archive(weights, -1.0, "binary_classifier", 0.5, FEATURES)


def credentials(url: str, state_dir: Path | None = None):
    """The local target's credentials for the daemon at ``url`` (started by ``emulator`` or from ``state_dir``)."""
    from wildrydes_cli.local.awsapi.credentials import local_credentials

    return local_credentials(state_dir if state_dir is not None else _STATE_DIRS[url])


def clients(url: str, region: str = "us-east-1", state_dir: Path | None = None,
            services: tuple[str, ...] = ("s3", "lambda", "apigateway", "iam")) -> dict:
    """boto3 clients signed with the daemon's own credentials (its SigV4 gate admits nothing else)."""
    import boto3

    creds = credentials(url, state_dir)
    kw = {"endpoint_url": url, "region_name": region, "aws_access_key_id": creds.access_key_id,
          "aws_secret_access_key": creds.secret_access_key}
    return {name: boto3.client(name, **kw) for name in services}


@dataclass
class Deployed:
    url: str
    api_id: str
    function_name: str
    bucket: str
    invoke_url: str
    aws: dict


def deploy(url: str, code: bytes, env: dict[str, str], *, bucket: str = "wildrydes-local-data",
           function_name: str = "wildrydes-fn", timeout: int = 3, memory: int = 128,
           extra_objects: dict[str, bytes] | None = None, proxy_resource: str | None = None,
           state_dir: Path | None = None, role_policy: dict | None = None, api_key_required: bool = False) -> Deployed:
    """A function behind an API; its role may read and list ``bucket`` (or what ``role_policy`` says)."""
    aws = clients(url, state_dir=state_dir)
    s3, lam, apig, iam = aws["s3"], aws["lambda"], aws["apigateway"], aws["iam"]
    s3.create_bucket(Bucket=bucket)
    for key, data in (extra_objects or {}).items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    s3.put_object(Bucket=bucket, Key=f"code/{function_name}.zip", Body=code)
    role = iam.create_role(RoleName=f"{function_name}-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"{function_name}-role", PolicyName="data", PolicyDocument=json.dumps(
        role_policy or {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"}]}))
    arn = lam.create_function(FunctionName=function_name, Runtime="python3.13", Role=role, Handler="index.handler",
                              Code={"S3Bucket": bucket, "S3Key": f"code/{function_name}.zip"}, Timeout=timeout,
                              MemorySize=memory, Environment={"Variables": env})["FunctionArn"]
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
    api = apig.create_rest_api(name=f"{function_name}-api")["id"]
    root = apig.get_resources(restApiId=api)["items"][0]["id"]
    targets = [root]
    if proxy_resource:
        targets.append(apig.create_resource(restApiId=api, parentId=root, pathPart=proxy_resource)["id"])
    for resource in targets:
        apig.put_method(restApiId=api, resourceId=resource, httpMethod="ANY", authorizationType="NONE",
                        apiKeyRequired=api_key_required)
        apig.put_integration(restApiId=api, resourceId=resource, httpMethod="ANY", type="AWS_PROXY",
                             integrationHttpMethod="POST", uri=uri)
    apig.create_deployment(restApiId=api, stageName="prod")
    return Deployed(url, api, function_name, bucket, f"{url}/restapis/{api}/prod/_user_request_/", aws)


def http(method: str, url: str, body: bytes | str | None = None, headers: dict | None = None,
         timeout: float = 30.0) -> tuple[int, "http.client.HTTPMessage", bytes]:
    """(status, headers, body) over real HTTP; HTTP errors are answers, not exceptions."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()
