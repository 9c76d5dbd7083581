"""Benchmark API keys on the local target: what checking a key costs, and how exact the limiter is.

    python benchmarks/bench_usage_plans.py [--duration 10] [--connections 8 64] [--rounds 2]

* throughput: one emulator, two deployments of the lambda/ package (lean engine, the
  workshop's 6-feature model): API "none" (no key) and API "api-key" (every method
  requires a key; the key in a usage plan on stage prod with limits far above the load,
  so nothing is throttled and only the check's cost shows). The workshop's POST for
  --duration seconds per (API, connection count), alternating none/api-key in each round
  so that load from other jobs falls on both alike; the figure is the ratio api-key/none
  of the summed requests per second (goal >= 0.9), and the daemon's CPU per request in each
  mode (steadier than req/s on a shared machine). Load: ``wrk`` when installed (with the
  header), else bench_local.py's Python load generator. Errors must be 0.
* limiter: a third API whose key's plan allows rate 100 req/s, burst 20; 8 connections
  send as fast as they can for 10 s; accepted (200) requests are counted. A token bucket
  that starts full admits 20 + 100 x 10 = 1020 (goal: within +-5%). Every refusal must be
  429 {"message":"Too Many Requests"}.
* signature (``--auth iam``): what the local target's check of an AWS_IAM method costs per
  request: ``Gate.execute_api_refusal`` on a botocore-signed execute-api request, in-process,
  median of 15 batches of --sig-repeat calls (goal <= 50 us); and the same for an IAM user of
  the account (its key found among 20 users in moto's IAM, an inline and a managed policy
  evaluated, the answer then cached until IAM is written), its batches interleaved with the
  first's; ``iam_user_over_own_ratio`` compares them (goal <= 1.2). ``--signature-only`` runs
  these alone.
Every process started here is stopped by pid.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_local  # noqa: E402
import emulated  # noqa: E402

MODEL_ENV = {"OUTPUT_BUCKET": "wildrydes-local-data", "MODEL_PATH": "m/model.tar.gz", "INFERENCE_ENGINE": "lean"}


def _keyed(status, name: str, rate: float, burst: int) -> tuple[str, str]:
    """A deployment whose methods require a key; (invoke URL, key value) with a plan at rate/burst."""
    deployed = emulated.deploy(status.endpoint_url, emulated.function_package(), MODEL_ENV, function_name=name,
                               extra_objects={"m/model.tar.gz": emulated.workshop_model()}, api_key_required=True)
    gw = deployed.aws["apigateway"]
    key = gw.create_api_key(name=f"{name}-key", enabled=True)
    plan = gw.create_usage_plan(name=f"{name}-plan", apiStages=[{"apiId": deployed.api_id, "stage": "prod"}],
                                throttle={"rateLimit": rate, "burstLimit": burst})
    gw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return deployed.invoke_url, key["value"]


def _load(url: str, duration: int, connections: int, key: str | None) -> dict:
    headers = {"x-api-key": key} if key else None
    result = bench_local.python_load(url, emulated.WORKSHOP_BODY, duration, connections, headers=headers)
    result.pop("raw", None)
    return result


def limiter_count(url: str, key: str, seconds: float, connections: int) -> dict:
    """Requests as fast as ``connections`` keep-alive clients can send them; counted by answer."""
    parts = urllib.parse.urlsplit(url)
    counts = {"accepted": 0, "throttled": 0, "other": 0}
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "x-api-key": key}
    start = time.perf_counter()
    stop = start + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.perf_counter() < stop:
            conn.request("POST", parts.path, emulated.WORKSHOP_BODY, headers)
            response = conn.getresponse()
            body = response.read()
            kind = "accepted" if response.status == 200 else "throttled" if (
                response.status == 429 and json.loads(body) == {"message": "Too Many Requests"}) else "other"
            with lock:
                counts[kind] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts["seconds"] = round(time.perf_counter() - start, 3)
    return counts


def signature_cost(repeat: int) -> dict:
    """Microseconds per check of a signed execute-api request (the SigV4 verification an AWS_IAM method adds)."""
    import statistics

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from wildrydes_cli.local.awsapi.auth import Gate
    from wildrydes_cli.local.awsapi.credentials import local_credentials
    from wildrydes_cli.local.http import HttpRequest
    with tempfile.TemporaryDirectory() as tmp:
        keys = local_credentials(Path(tmp))
        gate = Gate(Path(tmp), keys)
        url = "http://127.0.0.1:4566/restapis/api1/prod/_user_request_/"
        signed = AWSRequest(method="POST", url=url, data=emulated.WORKSHOP_BODY.encode(),
                            headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(keys.access_key_id, keys.secret_access_key), "execute-api", "us-east-1").add_auth(signed)
        request = HttpRequest("POST", "/restapis/api1/prod/_user_request_/", "HTTP/1.1",
                              [*dict(signed.headers.items()).items(), ("Host", "127.0.0.1:4566")],
                              emulated.WORKSHOP_BODY.encode())
        arn = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/POST/"
        assert gate.execute_api_refusal(request, arn) is None

        def batch(check) -> float:
            start = time.perf_counter()
            for _ in range(repeat):
                check()
            return (time.perf_counter() - start) / repeat * 1e6

        own: list[float] = []
        user: list[float] = []
        with _iam_user_check(url, arn) as user_check:
            for _ in range(15):     # interleaved, so load from other jobs falls on both alike
                own.append(batch(lambda: gate.execute_api_refusal(request, arn)))
                user.append(batch(user_check))
    return {"us_per_check_median": round(statistics.median(own), 1), "us_per_check_fastest": round(min(own), 1),
            "iam_user_us_per_check_median": round(statistics.median(user), 1),
            "iam_user_us_per_check_fastest": round(min(user), 1),
            "iam_user_over_own_ratio": round(statistics.median(user) / statistics.median(own), 2), "repeat": repeat}


@contextlib.contextmanager
def _iam_user_check(url: str, arn: str):
    """The same check for an IAM user of the account (moto in-process, 20 users, the caller last): its key
    looked up in moto's IAM, its inline and managed policies evaluated on the method's ARN (then kept until
    moto's IAM is written: nothing writes it while this runs)."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from moto import mock_aws

    from wildrydes_cli.local.awsapi.auth import Gate
    from wildrydes_cli.local.awsapi.credentials import local_credentials
    from wildrydes_cli.local.awsapi.iam_users import UserCalls
    from wildrydes_cli.local.http import HttpRequest
    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        iam = boto3.client("iam", region_name="us-east-1")
        allow = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arn.rsplit("/", 2)[0] + "/POST/*"}]})
        for i in range(20):
            iam.create_user(UserName=f"user{i}")
            iam.create_access_key(UserName=f"user{i}")
        iam.put_user_policy(UserName="user19", PolicyName="invoke", PolicyDocument=allow)
        managed = iam.create_policy(PolicyName="also", PolicyDocument=allow)["Policy"]["Arn"]
        iam.attach_user_policy(UserName="user19", PolicyArn=managed)
        key = iam.create_access_key(UserName="user19")["AccessKey"]
        gate = Gate(Path(tmp), local_credentials(Path(tmp)), users=UserCalls())
        signed = AWSRequest(method="POST", url=url, data=emulated.WORKSHOP_BODY.encode(),
                            headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "execute-api",
                  "us-east-1").add_auth(signed)
        request = HttpRequest("POST", "/restapis/api1/prod/_user_request_/", "HTTP/1.1",
                              [*dict(signed.headers.items()).items(), ("Host", "127.0.0.1:4566")],
                              emulated.WORKSHOP_BODY.encode())
        assert gate.execute_api_refusal(request, arn) is None
        yield lambda: gate.execute_api_refusal(request, arn)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limiter-seconds", type=float, default=10.0)
    parser.add_argument("--sig-repeat", type=int, default=2000)
    parser.add_argument("--signature-only", action="store_true", help="only the signature checks (no emulator)")
    args = parser.parse_args()
    report: dict = {"throughput": [], "limiter": None, "signature": signature_cost(args.sig_repeat)}
    if args.signature_only:
        print(json.dumps(report, indent=2))
        sig = report["signature"]
        return 0 if sig["us_per_check_median"] <= 50 and sig["iam_user_over_own_ratio"] <= 1.2 else 1
    with tempfile.TemporaryDirectory() as tmp, emulated.emulator(Path(tmp)) as status:
        open_api = emulated.deploy(status.endpoint_url, emulated.function_package(), MODEL_ENV,
                                   extra_objects={"m/model.tar.gz": emulated.workshop_model()})
        keyed_url, keyed_key = _keyed(status, "keyed", 1e6, 1_000_000)
        limited_url, limited_key = _keyed(status, "limited", 100.0, 20)
        for url, key in ((open_api.invoke_url, None), (keyed_url, keyed_key), (limited_url, limited_key)):
            code, _, body = emulated.http("POST", url, emulated.WORKSHOP_BODY,
                                          {"Content-Type": "application/json", **({"x-api-key": key} if key else {})})
            assert code == 200, (code, body)
        _load(open_api.invoke_url, 2, max(args.connections), None)     # warm every worker of both functions
        _load(keyed_url, 2, max(args.connections), keyed_key)
        for conns in args.connections:
            sums = {"none": 0.0, "api-key": 0.0}
            cpu = {"none": [0.0, 0], "api-key": [0.0, 0]}   # the daemon's CPU seconds, requests
            for _ in range(args.rounds):
                for mode, url, key in (("none", open_api.invoke_url, None), ("api-key", keyed_url, keyed_key)):
                    before = bench_local.cpu_seconds(status.pid)[0]
                    result = _load(url, args.duration, conns, key)
                    cpu[mode][0] += bench_local.cpu_seconds(status.pid)[0] - before
                    cpu[mode][1] += result["requests"]
                    assert result["errors"] == 0, result
                    sums[mode] += result["rps"]
                    print(json.dumps({"connections": conns, "mode": mode, **result}), file=sys.stderr)
            # CPU per request moves far less than req/s when other jobs share the cores
            per = {mode: cpu[mode][0] / cpu[mode][1] * 1e6 for mode in cpu}
            report["throughput"].append({"connections": conns, "rps_none": round(sums["none"] / args.rounds, 1),
                                         "rps_api_key": round(sums["api-key"] / args.rounds, 1),
                                         "ratio": round(sums["api-key"] / sums["none"], 3),
                                         "daemon_cpu_us_per_request_none": round(per["none"], 1),
                                         "daemon_cpu_us_per_request_api_key": round(per["api-key"], 1)})
        time.sleep(1.0)   # the limited key's bucket is full again (it took one request above)
        counts = limiter_count(limited_url, limited_key, args.limiter_seconds, 8)
        expected = 20 + 100 * args.limiter_seconds
        counts.update({"expected": expected, "error_pct": round((counts["accepted"] - expected) / expected * 100, 2)})
        report["limiter"] = counts
    print(json.dumps(report, indent=2))
    ok = all(t["ratio"] >= 0.9 for t in report["throughput"]) and abs(report["limiter"]["error_pct"]) <= 5 and \
        report["limiter"]["other"] == 0 and report["signature"]["us_per_check_median"] <= 50
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
