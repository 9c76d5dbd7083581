"""Benchmark the function-role check of the local target: its cost per S3 call, and against a cold start.

    python benchmarks/bench_role_check.py [--repeat 2000] [--colds 9] [--warm 300]

1. In one process, interleaved (medians): the function's model GET exactly as
   botocore signs it, as the daemon runs it (``Gate.call``): signed with the
   user's own credentials (gate + moto, unchecked) and with the function role's
   session (gate + role check + moto); the role check alone (``RoleCalls.call``
   with moto's answer canned); moto alone. The role is the one deploy creates
   (cloudformation/function.yml ``ReadModels``: object patterns with wildcards
   and a ListBucket with a ``s3:prefix`` condition). Also the breed listing
   (``s3:prefix`` condition evaluated) and a missing breed index (403 after a
   second evaluation of ``s3:ListBucket``).
2. A running daemon with the deployed lean package under that role: the cold
   start (first request after a redeploy: worker start, AssumeRole, the one
   checked model GET, parse, answer), median of ``--colds``, and the warm
   request median. The function reads its model once per execution environment,
   so the check is paid once per cold start and never by a warm request.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from bench_auth import capture, interleaved_medians_us  # noqa: E402

BUCKET = "bench-data"
MODEL = "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def read_models(bucket: str) -> dict:
    """cloudformation/function.yml's ReadModels, for ``bucket``."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [
            f"arn:aws:s3:::{bucket}/linear-learner-*/output/model.tar.gz",
            f"arn:aws:s3:::{bucket}/breeds/*/linear-learner-*/output/model.tar.gz",
            f"arn:aws:s3:::{bucket}/breeds/*/latest.json"]},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": "breeds/*"}}}]}


def in_process(repeat: int) -> list[tuple[str, float, float, float, float]]:
    import emulated

    from wildrydes_cli.local.awsapi import wsgi
    from wildrydes_cli.local.awsapi.auth import Gate
    from wildrydes_cli.local.awsapi.credentials import local_credentials
    from wildrydes_cli.local.awsapi.function_credentials import Sessions
    from wildrydes_cli.local.awsapi.role_calls import RoleCalls

    rows = []
    with tempfile.TemporaryDirectory(prefix="wildrydes-bench-role-") as tmp:
        keys = local_credentials(Path(tmp))
        k, s = keys.access_key_id, keys.secret_access_key
        wsgi.moto_app()
        for setup in (lambda c: c.create_bucket(Bucket=BUCKET),
                      lambda c: c.put_object(Bucket=BUCKET, Key=MODEL, Body=emulated.workshop_model())):
            wsgi.call_moto(capture("s3", setup, k, s), 4566)
        for setup in (lambda c: c.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(TRUST)),
                      lambda c: c.put_role_policy(RoleName="fn-role", PolicyName="ReadModels",
                                                  PolicyDocument=json.dumps(read_models(BUCKET)))):
            wsgi.call_moto(capture("iam", setup, k, s), 4566)
        sessions = Sessions()
        roles = RoleCalls(sessions)
        gate = Gate(Path(tmp), keys, roles=roles)
        session = sessions.issue("arn:aws:iam::123456789012:role/fn-role", "fn", "us-east-1")

        def as_role(call):
            import boto3
            client_kw = {"aws_session_token": session.session_token}
            held = {}

            class Stop(Exception):
                pass

            def grab(request, **_):
                held["r"] = request
                raise Stop()
            client = boto3.client("s3", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                                  aws_access_key_id=session.access_key_id,
                                  aws_secret_access_key=session.secret_access_key, **client_kw)
            client.meta.events.register("before-send", grab)
            try:
                call(client)
            except Stop:
                pass
            from urllib.parse import urlsplit

            from wildrydes_cli.local.http import HttpRequest
            r = held["r"]
            parts = urlsplit(r.url)
            headers = [(h, v.decode() if isinstance(v, bytes) else v) for h, v in r.headers.items()]
            return HttpRequest(r.method, parts.path + (f"?{parts.query}" if parts.query else ""), "HTTP/1.1",
                               headers + [("Host", "127.0.0.1:4566")], b"")

        cases = [
            ("GetObject of the model (the cold start's one S3 call)", lambda c: c.get_object(Bucket=BUCKET, Key=MODEL),
             200),
            ("ListObjectsV2 Prefix=breeds/ (GET /breeds; s3:prefix condition)",
             lambda c: c.list_objects_v2(Bucket=BUCKET, Prefix="breeds/", Delimiter="/"), 200),
            ("GetObject of a missing breed index (403: ListBucket evaluated again)",
             lambda c: c.get_object(Bucket=BUCKET, Key="breeds/none/latest.json"), 403),
        ]
        for name, call, status in cases:
            mine, theirs = capture("s3", call, k, s), as_role(call)
            assert gate.call(wsgi.call_moto, theirs, 4566).status == status, name
            canned = wsgi.call_moto(mine, 4566)
            user, role, check, moto = interleaved_medians_us([
                lambda: gate.call(wsgi.call_moto, mine, 4566),
                lambda: gate.call(wsgi.call_moto, theirs, 4566),
                lambda: roles.call(session, theirs, "s3", "us-east-1", lambda: canned),
                lambda: wsgi.call_moto(mine, 4566)], repeat)
            rows.append((name, user, role, check, moto))
    return rows


def daemon_figures(colds: int, warm: int) -> dict:
    import emulated

    body = emulated.WORKSHOP_BODY
    json_type = {"Content-Type": "application/json"}
    with tempfile.TemporaryDirectory() as tmp, emulated.emulator(Path(tmp)) as status:
        deployed = emulated.deploy(status.endpoint_url, emulated.function_package(),
                                   {"OUTPUT_BUCKET": BUCKET, "MODEL_PATH": MODEL, "INFERENCE_ENGINE": "lean"},
                                   bucket=BUCKET, timeout=20, extra_objects={MODEL: emulated.workshop_model()},
                                   role_policy=read_models(BUCKET))
        lam = deployed.aws["lambda"]
        cold_ms = []
        for i in range(colds):   # a changed configuration retires the warm workers: the next request is cold
            lam.update_function_configuration(FunctionName=deployed.function_name, Environment={"Variables": {
                "OUTPUT_BUCKET": BUCKET, "MODEL_PATH": MODEL, "INFERENCE_ENGINE": "lean", "ROUND": str(i)}})
            t0 = time.perf_counter()
            code, _, answer = emulated.http("POST", deployed.invoke_url, body, json_type)
            cold_ms.append((time.perf_counter() - t0) * 1000)
            assert code == 200, answer
        warm_ms = []
        for _ in range(warm):
            t0 = time.perf_counter()
            code, _, answer = emulated.http("POST", deployed.invoke_url, body, json_type)
            warm_ms.append((time.perf_counter() - t0) * 1000)
            assert code == 200, answer
    return {"cold_ms": statistics.median(cold_ms), "warm_ms": statistics.median(warm_ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--colds", type=int, default=9)
    parser.add_argument("--warm", type=int, default=300)
    args = parser.parse_args()
    rows = in_process(args.repeat)
    print("| S3 call | user's credentials: gate + moto, µs | role session: gate + check + moto, µs "
          "| role check alone, µs | moto alone, µs | role / user |")
    print("|---|---|---|---|---|---|")
    for name, user, role, check, moto in rows:
        print(f"| {name} | {user:.1f} | {role:.1f} | {check:.1f} | {moto:.1f} | {role / user:.3f} |")
    figures = daemon_figures(args.colds, args.warm)
    added = rows[0][2] - rows[0][1]
    print(f"\ncold start (first request after a redeploy), median of {args.colds}: {figures['cold_ms']:.1f} ms; "
          f"warm request median of {args.warm}: {figures['warm_ms']:.2f} ms")
    print(f"the model GET's check adds {added:.1f} µs (gate + check + moto, role vs user) = "
          f"{added / 1000 / figures['cold_ms'] * 100:.3f} % of a cold start; warm requests make no S3 call")


if __name__ == "__main__":
    main()
