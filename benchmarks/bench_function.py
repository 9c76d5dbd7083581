"""Benchmark the deployed function's cold start: lean vs the boto3 floor vs bare Python vs MXNet, in one run.

What it measures, against a local S3 emulator (moto server on 127.0.0.1,
started here and stopped at the end), with the cold starts of all processes
interleaved so that load from anything else on the machine falls on all alike:

- cold start: wall time of a fresh ``python -I -S`` process, from spawn to
  the first answered request (import handler, fetch + parse the model from S3,
  answer) for ``lean`` and ``mxnet``; and three floors: ``bare`` (a Python
  process that does nothing), ``tls`` (``import ssl`` + a default context,
  what the lean path adds on real AWS, where S3 is HTTPS and the emulator is
  not), ``boto3`` (``import boto3`` + an S3 client: what the function paid
  when it read S3 with boto3);
- warm latency: per-request time of in-process invocations of ``handler``
  with the workshop's request (median, p99);
- peak RSS (VmHWM) of each process;
- whether the lean process imported boto3/botocore (it must not), and how many
  connections it opened for its requests (keep-alive reuse);
- deployment package size, zipped and unzipped.

The function's code and, for mxnet, MXNet and numpy come from the packages
``wildrydes deploy`` builds (``wildrydes_cli.deploy.packaging.build``; the first mxnet
build downloads its manylinux wheels from PyPI and is cached in
benchmarks/.work/). The lean process gets only its package on sys.path (no
boto3 to fall back on); mxnet and the boto3 floor get boto3 from this
environment, as the Lambda runtime provides it.

    python benchmarks/bench_function.py [--runs 5] [--warm 10000]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_KEY = "linear-learner-2026-11-24-12-00-00-000/output/model.tar.gz"
BUCKET = "wildrydes-bench"
LEAN_DEPS = ["boto3", "botocore", "jmespath", "s3transfer", "dateutil", "six", "urllib3"]
PACKAGE_CACHE = ROOT / "benchmarks" / ".work" / "packages"
WORKSHOP_EVENT = {
    "httpMethod": "POST", "path": "/", "headers": {"Content-Type": "application/json"},
    "body": json.dumps({"distance": 30, "healthpoints": 30, "magicpoints": 2500,
                        "TMAX": 333, "TMIN": 300, "PRCP": 0}),
    "isBase64Encoded": False,
}

CHILD = r'''
import json, os, sys, time


def peak_rss_kb():
    # VmHWM, not getrusage: ru_maxrss survives exec on Linux and would report the parent's size.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

sys.path[:0] = [p for p in os.environ["BENCH_PATH"].split(os.pathsep) if p]
mode = os.environ["BENCH_MODE"]
if mode != "handler":
    if mode == "boto3":
        import boto3
        boto3.client("s3")
    elif mode == "tls":
        import ssl
        ssl.create_default_context()
    print(json.dumps({"rss_kb": peak_rss_kb()}), flush=True)
    raise SystemExit(0)
started = time.perf_counter()
import index
imported = time.perf_counter()
event = json.loads(os.environ["BENCH_EVENT"])
first = index.handler(event, None)
answered = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": (answered - imported) * 1000}))
assert first["statusCode"] == 200, first
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "s3transfer", "urllib3"))
print(json.dumps({"first": json.loads(first["body"]), "heavy": heavy}), flush=True)
warm = int(os.environ.get("BENCH_WARM", "0"))
if warm:
    clock = time.perf_counter_ns
    handler = index.handler
    samples = []
    for _ in range(warm):
        t0 = clock()
        handler(event, None)
        samples.append(clock() - t0)
    samples.sort()
    print(json.dumps({"median_us": samples[len(samples) // 2] / 1000,
                      "p99_us": samples[int(len(samples) * 0.99)] / 1000}), flush=True)
connections = index.cache_stats().get("s3_connections")
print(json.dumps({"rss_kb": peak_rss_kb(), "connections": connections}), flush=True)
'''


def site_packages() -> Path:
    return Path(importlib.util.find_spec("boto3").origin).parents[1]


def deps_dir(names: list[str], dest: Path) -> Path:
    """A directory with only these top-level packages, linked from this environment."""
    dest.mkdir(parents=True, exist_ok=True)
    site = site_packages()
    for name in names:
        for candidate in (site / name, site / f"{name}.py"):
            if candidate.exists():
                (dest / candidate.name).symlink_to(candidate)
    return dest


def unpacked_package(engine: str, dest: Path):
    """Build (or reuse) the deployment zip for ``engine`` and unzip it into ``dest``."""
    from wildrydes_cli.deploy import packaging

    package = packaging.build(engine, PACKAGE_CACHE)
    with zipfile.ZipFile(package.path) as archive:
        archive.extractall(dest)
    return package, dest


def run_child(env: dict, runs: int) -> tuple[list[float], list[dict]]:
    times, outputs = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-I", "-S", "-c", CHILD], env=env, capture_output=True,
                              text=True, timeout=300)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"benchmark child failed:\n{proc.stderr[-3000:]}")
        times.append(elapsed)
        merged = {}
        for line in proc.stdout.splitlines():
            merged.update(json.loads(line))
        outputs.append(merged)
    return times, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts per engine (median reported)")
    parser.add_argument("--warm", type=int, default=10000, help="warm invocations per engine")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        creds = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket=BUCKET)
        weights = [0.02, -0.001, 0.0004, 0.003, -0.002, 0.01]
        s3.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=write_model_archive(weights, -1.5, "binary_classifier"))

        with tempfile.TemporaryDirectory(prefix="wildrydes-bench-") as tmp:
            tmp = Path(tmp)
            lean_deps = deps_dir(LEAN_DEPS, tmp / "boto3")
            packages = {engine: unpacked_package(engine, tmp / engine) for engine in ("lean", "mxnet")}
            base_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp), **creds,
                        "AWS_ENDPOINT_URL": endpoint, "OUTPUT_BUCKET": BUCKET, "MODEL_PATH": MODEL_KEY,
                        "BENCH_EVENT": json.dumps(WORKSHOP_EVENT), "AWS_EC2_METADATA_DISABLED": "true",
                        "OPENBLAS_NUM_THREADS": "1", "LOG_LEVEL": "WARNING"}
            for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
                if name in os.environ:  # keep the machine's OpenBLAS safety settings
                    base_env[name] = os.environ[name]
            envs = {
                "bare": dict(base_env, BENCH_MODE="bare", BENCH_PATH=""),
                "tls": dict(base_env, BENCH_MODE="tls", BENCH_PATH=""),
                "boto3": dict(base_env, BENCH_MODE="boto3", BENCH_PATH=str(lean_deps)),
                "lean": dict(base_env, BENCH_MODE="handler", INFERENCE_ENGINE="lean",
                             BENCH_PATH=str(packages["lean"][1])),
                "mxnet": dict(base_env, BENCH_MODE="handler", INFERENCE_ENGINE="mxnet",
                              BENCH_PATH=os.pathsep.join([str(packages["mxnet"][1]), str(lean_deps)])),
            }
            # Interleave the cold starts so that load from anything else on the
            # machine falls on all of them alike.
            cold: dict[str, list[float]] = {name: [] for name in envs}
            rss: dict[str, list[float]] = {name: [] for name in envs}
            phases: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.runs):
                for name, env in envs.items():
                    times, outputs = run_child(env, 1)
                    cold[name] += times
                    rss[name].append(outputs[0]["rss_kb"] / 1024)
                    for phase in ("import_ms", "first_ms"):
                        if phase in outputs[0]:
                            phases.setdefault((name, phase), []).append(outputs[0][phase])
            results = {name: {"cold_ms": statistics.median(cold[name]) * 1000, "rss_mb": max(rss[name])}
                       for name in ("bare", "tls", "boto3")}
            for engine in ("lean", "mxnet"):
                _, warm = run_child(dict(envs[engine], BENCH_WARM=str(args.warm)), 1)
                package = packages[engine][0]
                results[engine] = {
                    "cold_ms": statistics.median(cold[engine]) * 1000,
                    "warm_median_us": warm[0]["median_us"], "warm_p99_us": warm[0]["p99_us"],
                    "rss_mb": max(rss[engine]), "package_bytes": package.size,
                    "unzipped_bytes": package.unzipped_bytes,
                    "score": warm[0]["first"]["score"], "heavy_modules": warm[0]["heavy"],
                    "connections": warm[0]["connections"],
                    "import_ms": statistics.median(phases[(engine, "import_ms")]),
                    "first_request_ms": statistics.median(phases[(engine, "first_ms")]),
                }
    finally:
        server.stop()

    lean, mx, floor, bare, tls = (results[k] for k in ("lean", "mxnet", "boto3", "bare", "tls"))
    assert abs(lean["score"] - mx["score"]) <= 1e-5 * abs(mx["score"]), (lean["score"], mx["score"])
    meta = {"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine(), "runs": args.runs, "warm": args.warm}
    ratios = {"lean_over_boto3_floor": lean["cold_ms"] / floor["cold_ms"],
              "mxnet_over_lean": mx["cold_ms"] / lean["cold_ms"],
              "lean_plus_tls_over_boto3_floor": (lean["cold_ms"] + tls["cold_ms"] - bare["cold_ms"]) / floor["cold_ms"]}
    if args.json:
        print(json.dumps({"meta": meta, **results, "ratios": ratios}, indent=2))
        return
    print(f"# bench_function ({meta['date']}, {meta['cores']} cores, Python {meta['python']}, "
          f"{args.runs} interleaved cold runs each, {args.warm} warm invocations)\n")
    print("| figure | bare python | + ssl context | boto3 floor (import + S3 client) | lean | mxnet |")
    print("|---|---|---|---|---|---|")
    print(f"| cold start, ms (median) | {bare['cold_ms']:.0f} | {tls['cold_ms']:.0f} | {floor['cold_ms']:.0f} | "
          f"{lean['cold_ms']:.0f} | {mx['cold_ms']:.0f} |")
    print(f"| peak RSS, MB (max over runs) | {bare['rss_mb']:.1f} | {tls['rss_mb']:.1f} | {floor['rss_mb']:.1f} | "
          f"{lean['rss_mb']:.1f} | {mx['rss_mb']:.1f} |")
    print(f"| of which: import index, ms (median) | | | | {lean['import_ms']:.0f} | {mx['import_ms']:.0f} |")
    print(f"| of which: first request (S3 GET + parse + answer), ms | | | | {lean['first_request_ms']:.0f} | "
          f"{mx['first_request_ms']:.0f} |")
    print(f"| warm latency median, µs | | | | {lean['warm_median_us']:.1f} | {mx['warm_median_us']:.1f} |")
    print(f"| warm latency p99, µs | | | | {lean['warm_p99_us']:.1f} | {mx['warm_p99_us']:.1f} |")
    print(f"| package zip, bytes | | | | {lean['package_bytes']:,} | {mx['package_bytes']:,} |")
    print(f"| package unzipped, bytes (Lambda limit 262,144,000) | | | | {lean['unzipped_bytes']:,} | "
          f"{mx['unzipped_bytes']:,} |")
    print()
    print(f"- lean cold start / boto3 floor: {ratios['lean_over_boto3_floor']:.2f} (target ≤ 0.3)")
    print(f"- lean cold start + TLS setup (as on real AWS) / boto3 floor: "
          f"{ratios['lean_plus_tls_over_boto3_floor']:.2f}")
    print(f"- mxnet cold start / lean: {ratios['mxnet_over_lean']:.1f}× (target ≥ 5×)")
    print(f"- lean imported boto3/botocore: {lean['heavy_modules'] or 'no'}; "
          f"S3 connections opened for {args.warm + 1} requests: {lean['connections']}")

if __name__ == "__main__":
    main()
