"""Benchmark a canary on the local target: throughput through a weighted alias against the function itself,
and the split the alias gives over real HTTP.

    python benchmarks/bench_canary.py [--duration 10] [--connections 8 64] [--rounds 2] [--split 10000]

* throughput: one emulator, one function of the lambda/ package (lean engine, the
  workshop's 6-feature model) with version 1 serving model A and version 2 model B, as
  ``deploy --canary 10`` leaves it, and two APIs: "plain" integrated with the function
  ($LATEST, model A), "canary" with its alias ``live`` (version 1, 10% to version 2). The
  workshop's POST for --duration seconds per (API, connection count), alternating
  plain/canary in each round (which goes first alternates too) so that load from other jobs
  falls on both alike; the figure is the ratio canary/plain of the summed requests per
  second (goal >= 0.9), and the daemon's CPU per request in each mode.
  Load: bench_local.py's (``wrk`` when installed, else its Python load generator). Errors must be 0.
* split: --split requests to the canary API from 8 keep-alive connections, each response's
  ``model_path`` counted (goal: model B within 10 +- 2 %). ``--percent 0``: the alias on
  version 1 alone (no split), to tell what resolving the alias costs from what a second
  version's own warm workers cost.
Every process started here is stopped by pid.
"""
from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
import threading
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_local  # noqa: E402
import emulated  # noqa: E402

BUCKET = "wildrydes-local-data"
MODELS = ("a/model.tar.gz", "b/model.tar.gz")
PERCENT = 10


def _env(model: str) -> dict[str, str]:
    return {"OUTPUT_BUCKET": BUCKET, "MODEL_PATH": model, "INFERENCE_ENGINE": "lean"}


def _canary(status, percent: int) -> tuple[str, str]:
    """A function with two versions (model A, model B) and alias live at ``percent`` to B; (the invoke URL of an
    API on the function itself, the invoke URL of an API on the alias)."""
    model = emulated.workshop_model()
    deployed = emulated.deploy(status.endpoint_url, emulated.function_package(), _env(MODELS[0]),
                               function_name="canary", extra_objects={key: model for key in MODELS})
    lam, gw = deployed.aws["lambda"], deployed.aws["apigateway"]
    stable = lam.publish_version(FunctionName="canary")["Version"]
    lam.update_function_configuration(FunctionName="canary", Environment={"Variables": _env(MODELS[1])})
    candidate = lam.publish_version(FunctionName="canary")["Version"]
    lam.update_function_configuration(FunctionName="canary", Environment={"Variables": _env(MODELS[0])})
    alias = lam.create_alias(FunctionName="canary", Name="live", FunctionVersion=stable,
                             RoutingConfig={"AdditionalVersionWeights": {candidate: percent / 100} if percent else {}}
                             )["AliasArn"]
    root = gw.get_resources(restApiId=deployed.api_id)["items"][0]["id"]
    gw.put_integration(restApiId=deployed.api_id, resourceId=root, httpMethod="ANY", type="AWS_PROXY",
                       integrationHttpMethod="POST",
                       uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{alias}/invocations")
    gw.create_deployment(restApiId=deployed.api_id, stageName="prod")
    function_arn = lam.get_function_configuration(FunctionName="canary")["FunctionArn"]
    plain = gw.create_rest_api(name="plain-api")["id"]
    plain_root = gw.get_resources(restApiId=plain)["items"][0]["id"]
    gw.put_method(restApiId=plain, resourceId=plain_root, httpMethod="ANY", authorizationType="NONE")
    gw.put_integration(restApiId=plain, resourceId=plain_root, httpMethod="ANY", type="AWS_PROXY",
                       integrationHttpMethod="POST",
                       uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations")
    gw.create_deployment(restApiId=plain, stageName="prod")
    return deployed.invoke_url.replace(deployed.api_id, plain), deployed.invoke_url


def _load(url: str, duration: int, connections: int) -> dict:
    if shutil.which("wrk"):
        result = bench_local.wrk_load(url, emulated.WORKSHOP_BODY, duration, connections)
    else:
        result = bench_local.python_load(url, emulated.WORKSHOP_BODY, duration, connections)
    result.pop("raw", None)
    return result


def split(url: str, requests: int, percent: int, connections: int = 8) -> dict:
    """Each answer's model_path, counted over ``requests`` POSTs."""
    parts = urllib.parse.urlsplit(url)
    seen: Counter = Counter()
    lock = threading.Lock()
    left = [requests]

    def client() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while True:
            with lock:
                if not left[0]:
                    break
                left[0] -= 1
            conn.request("POST", parts.path, emulated.WORKSHOP_BODY, {"Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
            model = json.loads(body).get("model_path") if response.status == 200 else f"HTTP {response.status}"
            with lock:
                seen[model] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    share = seen[MODELS[1]] / requests * 100
    return {"requests": requests, "answers": dict(seen), "candidate_pct": round(share, 2), "asked_pct": percent}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--split", type=int, default=10_000)
    parser.add_argument("--percent", type=int, default=PERCENT,
                        help="the new version's share; 0: the alias on version 1 alone (what the alias itself costs)")
    args = parser.parse_args()
    report: dict = {"throughput": [], "split": None}
    with tempfile.TemporaryDirectory() as tmp, emulated.emulator(Path(tmp)) as status:
        plain_url, canary_url = _canary(status, args.percent)
        for url in (plain_url, canary_url):
            code, _, body = emulated.http("POST", url, emulated.WORKSHOP_BODY, {"Content-Type": "application/json"})
            assert code == 200, (code, body)
        _load(plain_url, 2, max(args.connections))    # warm every worker of $LATEST and both versions
        _load(canary_url, 2, max(args.connections))
        for conns in args.connections:
            sums = {"plain": 0.0, "canary": 0.0}
            cpu = {"plain": [0.0, 0], "canary": [0.0, 0]}   # the daemon's CPU seconds, requests
            for round_ in range(args.rounds):
                modes = [("plain", plain_url), ("canary", canary_url)]
                for mode, url in (modes if round_ % 2 == 0 else modes[::-1]):
                    before = bench_local.cpu_seconds(status.pid)[0]
                    result = _load(url, args.duration, conns)
                    cpu[mode][0] += bench_local.cpu_seconds(status.pid)[0] - before
                    cpu[mode][1] += result["requests"]
                    assert result["errors"] == 0, result
                    sums[mode] += result["rps"]
                    print(json.dumps({"connections": conns, "mode": mode, **result}), file=sys.stderr)
            per = {mode: cpu[mode][0] / cpu[mode][1] * 1e6 for mode in cpu}
            report["throughput"].append({"connections": conns, "rps_plain": round(sums["plain"] / args.rounds, 1),
                                         "rps_canary": round(sums["canary"] / args.rounds, 1),
                                         "ratio": round(sums["canary"] / sums["plain"], 3),
                                         "daemon_cpu_us_per_request_plain": round(per["plain"], 1),
                                         "daemon_cpu_us_per_request_canary": round(per["canary"], 1)})
        report["split"] = split(canary_url, args.split, args.percent)
    print(json.dumps(report, indent=2))
    ok = all(t["ratio"] >= 0.9 for t in report["throughput"]) and \
        abs(report["split"]["candidate_pct"] - args.percent) <= 2 and \
        set(report["split"]["answers"]) == set(MODELS[:2 if args.percent else 1])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
