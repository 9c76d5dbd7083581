"""Benchmark: what ``?explain=true`` costs per request, in-process, on the lean engine (target <= 2 µs).

The deployed handler (``index.handler``) answers the workshop's request with
the default model, already loaded (moto's in-process S3 holds it, so nothing
leaves the process): once plain, once with ``?explain=true``. The two kinds
are timed in alternating blocks of --block calls (so drift on a busy machine
hits both alike), --blocks times each, and the median per-call time of each
kind is reported with their difference: the explain cost. Then, timed alone:
the engine's terms of one ride beside its score alone, the body with them
beside the body without, and (for comparison) ``repr`` of the terms, which
full precision would cost.

    python benchmarks/bench_explain.py [--blocks 60] [--block 2000] [--json]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "wildrydes-bench-explain"
MODEL_KEY = "linear-learner-2026-11-26-00-00-00-000/output/model.tar.gz"
RIDE = {"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0}
# A model shaped like `wildrydes train`'s default (the workshop's rule, learned).
WEIGHTS = [-0.2226, -1.65e-05, 0.004348, 0.001477, -0.002045, 0.000208]
BIAS = 0.3578


@contextlib.contextmanager
def moto_s3():
    """moto in server mode on a free loopback port: the function reads S3 over HTTP (lambda/s3get.py),
    which moto's in-process mock cannot intercept. The model is fetched once, before timing."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL_S3"] = f"http://{host}:{port}"   # boto3 and the function both honour it
    try:
        yield
    finally:
        server.stop()


def event(query: dict | None) -> dict:
    return {"httpMethod": "POST", "path": "/", "headers": {"Content-Type": "application/json"},
            "queryStringParameters": query, "body": json.dumps(RIDE), "isBase64Encoded": False}


def per_call_ns(fn, arg, calls: int, second=None) -> float:
    clock = time.perf_counter_ns
    started = clock()
    for _ in range(calls):
        fn(arg, second)
    return (clock() - started) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=60)
    parser.add_argument("--block", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                        "AWS_DEFAULT_REGION": "us-east-1", "OUTPUT_BUCKET": BUCKET, "MODEL_PATH": MODEL_KEY,
                        "INFERENCE_ENGINE": "lean", "LOG_LEVEL": "WARNING"}.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    sys.path.insert(0, str(ROOT / "lambda"))
    import boto3

    from wildrydes_cli.training.sagemaker_archive import write_model_archive

    with moto_s3():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=write_model_archive(
            WEIGHTS, BIAS, "binary_classifier", 0.49,
            ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")))
        import index

        plain_event, explain_event = event(None), event({"explain": "true"})
        plain_body = json.loads(index.handler(plain_event, None)["body"])
        explained_body = json.loads(index.handler(explain_event, None)["body"])
        assert "contributions" not in plain_body and explained_body["score"] == plain_body["score"]
        total = explained_body["intercept"] + sum(explained_body["contributions"].values())
        assert abs(total - math.log(explained_body["score"] / (1 - explained_body["score"]))) < 1e-9

        model = index._model_store().default()
        rows = [[float(RIDE[name]) for name in model.features.names]]
        engine, writer = model.engine, model.writer
        row = rows[0]
        score, terms, intercept, margin = engine.explain_one(row)

        def terms_too(_arg, _context):   # one pass gives the score and the terms
            engine.explain_one(row)

        def scores_only(_arg, _context):
            engine.predict_one(row)

        def body_plain(_arg, _context):
            writer.plain_one(score)

        def body_explain(_arg, _context):
            writer.explained_one(score, terms, intercept, margin)

        def repr_all(_arg, _context):   # what Python's shortest round-trip repr of the terms would cost
            for value in terms:
                repr(value)

        samples: dict[str, list[float]] = {"plain": [], "explain": [], "scores": [], "terms": [],
                                           "body_plain": [], "body_explain": [], "repr_terms": []}
        handler = index.handler
        # First the two kinds of request alone, in alternating blocks, as a function serves them
        # back to back; then the parts, so that their loops do not evict the handler's code and
        # data between its blocks (which adds ~1 µs to whichever block follows them).
        for _ in range(args.blocks):   # alternate, so a busy neighbour slows both kinds alike
            samples["plain"].append(per_call_ns(handler, plain_event, args.block))
            samples["explain"].append(per_call_ns(handler, explain_event, args.block))
        for _ in range(args.blocks):
            samples["terms"].append(per_call_ns(terms_too, None, args.block))
            samples["scores"].append(per_call_ns(scores_only, None, args.block))
            samples["body_plain"].append(per_call_ns(body_plain, None, args.block))
            samples["body_explain"].append(per_call_ns(body_explain, None, args.block))
            samples["repr_terms"].append(per_call_ns(repr_all, None, args.block))

    median = {name: statistics.median(values) / 1000.0 for name, values in samples.items()}
    # The fastest block of each kind: the least disturbed by other processes on a busy machine.
    fastest = {name: min(values) / 1000.0 for name, values in samples.items()}
    paired = [e - p for p, e in zip(samples["plain"], samples["explain"])]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"load average {os.getloadavg()[0]:.1f}",
        "blocks": args.blocks, "calls_per_block": args.block,
        "handler_us": {"plain": round(median["plain"], 2), "explain": round(median["explain"], 2)},
        "explain_cost_us": round(median["explain"] - median["plain"], 2),
        "explain_cost_us_paired_median": round(statistics.median(paired) / 1000.0, 2),
        "explain_cost_ratio": round(median["explain"] / median["plain"], 3),
        "fastest_block_us": {"plain": round(fastest["plain"], 2), "explain": round(fastest["explain"], 2),
                             "explain_cost": round(fastest["explain"] - fastest["plain"], 2)},
        "terms_us": round(median["terms"] - median["scores"], 2),
        "writing_terms_us": round(median["body_explain"] - median["body_plain"], 2),
        "repr_terms_us": round(median["repr_terms"], 2),
        "terms": len(terms),
        "response_bytes": {"plain": len(json.dumps(plain_body, separators=(",", ":"))),
                           "explain": len(json.dumps(explained_body, separators=(",", ":")))},
        "target_us": 2.0,
    }
    report["meets_target"] = report["explain_cost_us_paired_median"] <= report["target_us"]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"explain benchmark: {args.blocks} alternating blocks of {args.block} in-process handler calls, "
          f"lean engine ({report['machine']})")
    print(f"  handler, plain request            {report['handler_us']['plain']:8.2f} µs")
    print(f"  handler, ?explain=true            {report['handler_us']['explain']:8.2f} µs")
    print(f"  explain cost (paired median)      {report['explain_cost_us_paired_median']:8.2f} µs "
          f"(ratio {report['explain_cost_ratio']}; target <= 2 µs: {'met' if report['meets_target'] else 'NOT met'})")
    print(f"  computing the terms (beside score){report['terms_us']:8.2f} µs")
    print(f"  writing them (%.12g, in the body) {report['writing_terms_us']:8.2f} µs")
    print(f"  (repr() of the {report['terms']} terms instead  {report['repr_terms_us']:8.2f} µs: full precision's cost)")
    print("  fastest blocks (least disturbed): plain {plain} µs, explain {explain} µs, cost {explain_cost} µs"
          .format(**report["fastest_block_us"]))
    print(f"  response bytes plain / explain    {report['response_bytes']['plain']} / "
          f"{report['response_bytes']['explain']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
