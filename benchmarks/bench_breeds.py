"""Benchmark one function serving 1,000 breed models (per-breed routing and cache).

Publishes N breed models (default 1,000) to the local target's S3 (the
``wildrydes local`` emulator daemon on a free 127.0.0.1 port, started here and
stopped at the end) the way ``wildrydes train --breed`` does, then in a fresh process holding only the
function's code (it reads S3 with its own signed GETs, lambda/s3get.py; boto3 is not on its path):

- first-request latency per breed through ``index.handler`` (the index GET,
  which carries these small models inline, + parse + score): p50, p99;
- cache-hit latency in-process once all are cached: median, p99;
- resident memory: after serving the default model only, then with all N
  breed models cached (VmRSS); memory per cached model; peak (VmHWM).

It ends with the monthly cost the seed avoids: N always-on SageMaker
endpoints vs this one function, at the prices stated in PRICES.

    python benchmarks/bench_breeds.py [--breeds 1000] [--hits 10000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_function import unpacked_package  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "wildrydes-bench-breeds"
DEFAULT_KEY = "linear-learner-2026-11-24-12-00-00-000/output/model.tar.gz"
RIDE = {"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0}

# List prices, us-east-1, on-demand. SageMaker: the cheapest real-time instance
# (ml.t3.medium, $0.05/h as listed in a March 2026 pricing guide); Lambda x86:
# $0.20 per 1M requests + $0.0000166667 per GB-second; API Gateway REST: $3.50
# per 1M requests (first 333M). Re-check before quoting: prices change.
PRICES = {"date": "2026-03 (SageMaker), Lambda/API Gateway list prices unchanged since 2020",
          "endpoint_per_hour": 0.05, "lambda_per_million": 0.20, "lambda_per_gb_second": 0.0000166667,
          "apigw_per_million": 3.50}

CHILD = r'''
import json, os, sys, time
sys.path[:0] = os.environ["BENCH_PATH"].split(os.pathsep)


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])


import index
breeds = json.loads(os.environ["BENCH_BREEDS"])
ride = os.environ["BENCH_RIDE"]
def event(path):
    return {"httpMethod": "POST", "path": path, "headers": {"Content-Type": "application/json"}, "body": ride}
assert index.handler(event("/"), None)["statusCode"] == 200
baseline = status("VmRSS")
clock = time.perf_counter_ns
first = []
for name in breeds:
    ev = event("/breeds/" + name)
    t0 = clock()
    answer = index.handler(ev, None)
    first.append(clock() - t0)
    assert answer["statusCode"] == 200, answer
loaded = status("VmRSS")
hits = []
events = [event("/breeds/" + name) for name in breeds]
for i in range(int(os.environ["BENCH_HITS"])):
    ev = events[i % len(events)]
    t0 = clock()
    index.handler(ev, None)
    hits.append(clock() - t0)
first.sort(); hits.sort()
cache = index.cache_stats()
print(json.dumps({
    "first_p50_ms": first[len(first) // 2] / 1e6, "first_p99_ms": first[int(len(first) * 0.99)] / 1e6,
    "hit_median_us": hits[len(hits) // 2] / 1e3, "hit_p99_us": hits[int(len(hits) * 0.99)] / 1e3,
    "rss_single_mb": baseline / 1024, "rss_all_mb": loaded / 1024, "hwm_mb": status("VmHWM") / 1024,
    "cached": cache["cached_models"], "estimated_cache_bytes": cache["cached_bytes"],
    "connections": cache["s3_connections"],
    "boto3_imported": "boto3" in sys.modules or "botocore" in sys.modules,
}))
'''


def breed_name(i: int) -> str:
    return f"breed-{i:04d}"


def publish_all(s3, count: int, endpoint: str, state_dir: str) -> None:
    """Publish with the real publisher (model, then its index), 8 uploads at a time."""
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.aws.target import target_for
    from wildrydes_cli.settings import Settings
    from wildrydes_cli.training.publish import publish_model
    from wildrydes_cli.training.sagemaker_archive import write_model_archive

    aws = Aws(target_for(Settings(target="local", endpoint_url=endpoint, state_dir=Path(state_dir))))

    def one(i: int) -> None:
        rng = random.Random(i)
        weights = [rng.gauss(0, 0.01) for _ in range(6)]
        data = write_model_archive(weights, rng.gauss(-1, 0.5), "binary_classifier", threshold=0.5)
        publish_model(aws, BUCKET, data, breed=breed_name(i))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(count)))
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY,
                  Body=write_model_archive([0.001] * 6, -1.0, "binary_classifier"))


def monthly_cost(count: int, requests_per_month: float, memory_gb: float, seconds_per_request: float) -> dict:
    hours = 730
    endpoints = count * PRICES["endpoint_per_hour"] * hours
    function = (requests_per_month / 1e6 * (PRICES["lambda_per_million"] + PRICES["apigw_per_million"])
                + requests_per_month * seconds_per_request * memory_gb * PRICES["lambda_per_gb_second"])
    return {"endpoints_usd": endpoints, "function_usd": function}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--breeds", type=int, default=1000)
    parser.add_argument("--hits", type=int, default=10000)
    parser.add_argument("--requests-per-month", type=float, default=10e6,
                        help="traffic assumed for the cost comparison")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import socket

    import boto3

    with socket.socket() as probe:  # a free port for the daemon
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tempfile.mkdtemp(prefix="wildrydes-bench-home-")
    cli = [str(Path(sys.executable).with_name("wildrydes")), "local"]
    daemon_env = dict(os.environ, WILDRYDES_HOME=home, WILDRYDES_LOCAL_PORT=str(port))
    subprocess.run(cli + ["start"], env=daemon_env, check=True, capture_output=True, timeout=120)
    try:
        host = "127.0.0.1"
        endpoint = f"http://{host}:{port}"
        local_env = json.loads(subprocess.run(  # the local target's own credentials (its SigV4 gate)
            [cli[0], "--output", "json", "local", "env"], env=daemon_env, check=True, capture_output=True,
            text=True, timeout=120).stdout)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=local_env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=local_env["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket=BUCKET)
        started = time.perf_counter()
        publish_all(s3, args.breeds, endpoint, home)   # signed with the daemon's own credentials
        publish_seconds = time.perf_counter() - started
        names = [breed_name(i) for i in range(args.breeds)]
        random.Random(0).shuffle(names)
        with tempfile.TemporaryDirectory(prefix="wildrydes-bench-") as tmp:
            _, code = unpacked_package("lean", Path(tmp) / "function")
            env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "AWS_ACCESS_KEY_ID": local_env["AWS_ACCESS_KEY_ID"],
                   "AWS_SECRET_ACCESS_KEY": local_env["AWS_SECRET_ACCESS_KEY"], "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
                   "OUTPUT_BUCKET": BUCKET, "MODEL_PATH": DEFAULT_KEY, "LOG_LEVEL": "WARNING",
                   "BENCH_PATH": str(code), "BENCH_BREEDS": json.dumps(names),
                   "BENCH_RIDE": json.dumps(RIDE), "BENCH_HITS": str(args.hits)}
            proc = subprocess.run([sys.executable, "-I", "-S", "-c", CHILD], env=env, capture_output=True,
                                  text=True, timeout=900)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-3000:])
            result = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run(cli + ["stop"], env=daemon_env, capture_output=True, timeout=120)
        shutil.rmtree(home, ignore_errors=True)

    per_model_kb = (result["rss_all_mb"] - result["rss_single_mb"]) * 1024 / args.breeds
    cost = monthly_cost(args.breeds, args.requests_per_month, 0.128, 0.005)
    print(f"# bench_breeds ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {args.breeds} breeds, "
          f"{args.hits} cache hits; published in {publish_seconds:.1f} s)\n")
    print("| figure | value | target |")
    print("|---|---|---|")
    print(f"| first request per breed (fetch index with the model inline, parse, score), p50 | "
          f"{result['first_p50_ms']:.2f} ms | ≤ 5.1 ms (the boto3-based function's figure) |")
    print(f"| first request per breed, p99 | {result['first_p99_ms']:.2f} ms | |")
    print(f"| cache hit, median | {result['hit_median_us']:.1f} µs | ≤ 30 µs |")
    print(f"| cache hit, p99 | {result['hit_p99_us']:.1f} µs | |")
    print(f"| RSS, default model only | {result['rss_single_mb']:.1f} MB | |")
    print(f"| RSS, all {result['cached']} breeds cached | {result['rss_all_mb']:.1f} MB "
          f"(+{result['rss_all_mb'] - result['rss_single_mb']:.1f} MB) | ≤ +20 MB |")
    print(f"| memory per cached model | {per_model_kb:.1f} KB (cache's own estimate "
          f"{result['estimated_cache_bytes'] / args.breeds / 1024:.1f} KB) | |")
    print(f"| peak RSS (VmHWM) | {result['hwm_mb']:.1f} MB | |")
    print(f"| S3 connections opened for {args.breeds + 1} models (keep-alive) | {result['connections']} | 1 |")
    print(f"| boto3 imported | {result['boto3_imported']} | False |")
    print(f"\nCost per month for {args.breeds} breeds at {args.requests_per_month / 1e6:.0f} M requests/month "
          f"(prices: {PRICES['date']}):")
    print(f"- {args.breeds} always-on SageMaker endpoints (ml.t3.medium, ${PRICES['endpoint_per_hour']}/h, "
          f"730 h): ${cost['endpoints_usd']:,.0f}")
    print(f"- one function (Lambda 128 MB, 5 ms billed per request, + API Gateway REST): "
          f"${cost['function_usd']:,.2f}")


if __name__ == "__main__":
    main()
