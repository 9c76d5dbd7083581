"""Benchmark: `wildrydes evaluate` on 1M rows, and what the quality gate adds to `deploy`.

Measures, each the median of --repeat runs in this one process:
  score+metrics  scoring.score (numpy, checked against the lean engine on 100 rows) and the
                 figures evaluate reports (metrics, log loss, confusion, calibration): rows/s
  against        the same with a second model and the disagreements (--against)
  peak memory    tracemalloc's peak over one evaluation, against the rows' size in float32
                 (rows x 7 columns x 4 bytes: the goal is at most 2x, the rows included)
  csv read       reading the same rows from a CSV file (training/data.py's reader): rows/s, and
                 tracemalloc's peak while reading (the rows it returns included)
  process peak   a fresh process reading that CSV and evaluating it (what `evaluate --data` does):
                 its peak RSS (VmHWM: ru_maxrss would keep this parent's from before the exec) above
                 its RSS before reading, against the rows in float32
  gate           the deploy gate on moto (two 6-feature models in S3, a 20,000-row synthetic
                 sample), against a whole `deploy` of a new model in the same run (moto in-process)

  --against DIR  score + metrics and its peak, this tree against another source tree (e.g.
                 `git archive main | tar -x -C DIR`), each in a fresh process, alternating
                 --pairs times: ratios from one run

Run:  python benchmarks/bench_evaluate.py [--rows 1000000] [--repeat 3] [--json] [--against DIR [--pairs 3]]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def timed(fn, repeat: int):
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def evaluation(rows: int, repeat: int) -> dict:
    from wildrydes_cli.training import evaluate, scoring
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    from wildrydes_cli.training.synthetic import generate_rides

    dataset = generate_rides(rows, seed=evaluate.SAMPLE_SEED)
    good = scoring.load(write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0), "good")
    weak = scoring.load(write_model_archive([0.0, 0.0, 0.001, 0.0, 0.0, 0.0], -1.3), "weak")

    def one():
        return evaluate.measure(good, dataset, scoring.score(good, dataset))

    def two():
        first, second = scoring.score(good, dataset), scoring.score(weak, dataset)
        return (evaluate.measure(good, dataset, first), evaluate.measure(weak, dataset, second),
                evaluate.disagreements(good, weak, dataset, first, second))

    seconds, _ = timed(one, repeat)
    against_seconds, _ = timed(two, repeat)
    tracemalloc.start()
    one()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    float32_bytes = rows * 7 * 4

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from ride_files import write_csv

    from wildrydes_cli.training.data import read_data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rides.csv"
        write_csv(dataset, path)
        csv_seconds, _ = timed(lambda: read_data(path), 1)
        file_bytes = path.stat().st_size
        tracemalloc.start()
        read_data(path)
        _, csv_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        import subprocess
        process = json.loads(subprocess.run([sys.executable, "-c", PROCESS_PEAK, str(path)], check=True,
                                            capture_output=True, text=True).stdout)
    return {"rows": rows, "score_metrics_s": seconds, "rows_per_s": rows / seconds,
            "against_s": against_seconds, "against_rows_per_s": rows / against_seconds,
            "peak_bytes": peak, "float32_bytes": float32_bytes, "peak_ratio": peak / float32_bytes,
            "peak_with_rows_ratio": (peak + float32_bytes) / float32_bytes, "csv_peak_bytes": csv_peak,
            "csv_peak_ratio": csv_peak / float32_bytes,
            "process_peak_bytes": process["peak_above_start"], "process_peak_ratio":
            process["peak_above_start"] / float32_bytes,
            "csv_read_s": csv_seconds, "csv_rows_per_s": rows / csv_seconds, "csv_bytes": file_bytes}


PROCESS_PEAK = """
import json, os, sys
from pathlib import Path
from wildrydes_cli.training import evaluate, scoring
from wildrydes_cli.training.data import read_data
from wildrydes_cli.training.sagemaker_archive import write_model_archive
good = scoring.load(write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0), "good")
start = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
dataset = read_data(Path(sys.argv[1]))
evaluate.measure(good, dataset, scoring.score(good, dataset))
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_above_start": peak - start}))
"""


def gate(repeat: int) -> dict:
    from moto import mock_aws

    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_PROFILE", None)
    import boto3

    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from cli_helpers import Wildrydes, aws_for

    from wildrydes_cli.settings import Settings
    from wildrydes_cli.training.gate import GateOptions, deploy_gate
    models = [write_model_archive([-0.5, 0.0, 0.01 + i / 1e4, 0.0, 0.0, 0.0], 0.0) for i in range(2 * repeat + 2)]
    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        os.environ["WILDRYDES_STATE_DIR"] = tmp
        cli = Wildrydes(Path(tmp))
        bucket = cli.json("bootstrap")["bucket"]
        s3 = boto3.client("s3")
        keys = [f"linear-learner-2026-01-01-00-{i // 60:02d}-{i % 60:02d}-000/output/model.tar.gz"
                for i in range(len(models))]
        s3.put_object(Bucket=bucket, Key=keys[0], Body=models[0])
        cli.json("deploy")
        aws = aws_for(Settings(target="aws"))
        check = deploy_gate(GateOptions())
        gate_times, deploy_times = [], []
        for i in range(1, len(models)):
            s3.put_object(Bucket=bucket, Key=keys[i], Body=models[i])
            started = time.perf_counter()
            check(aws, bucket, keys[i], keys[i - 1])
            gate_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = cli.json("deploy")
            deploy_times.append(time.perf_counter() - started)
            assert result["gate"]["passed"], result["gate"]
    gate_s, deploy_s = statistics.median(gate_times), statistics.median(deploy_times)
    return {"gate_s": gate_s, "deploy_with_gate_s": deploy_s, "gate_share": gate_s / deploy_s,
            "runs": len(gate_times)}


MEASURE_ONE = """
import json, sys, time, statistics, tracemalloc
from wildrydes_cli.training import evaluate, scoring
from wildrydes_cli.training.sagemaker_archive import write_model_archive
from wildrydes_cli.training.synthetic import generate_rides
rows, repeat = int(sys.argv[1]), int(sys.argv[2])
dataset = generate_rides(rows, seed=evaluate.SAMPLE_SEED)
good = scoring.load(write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0), "good")
times = []
for _ in range(repeat):
    started = time.perf_counter()
    evaluate.measure(good, dataset, scoring.score(good, dataset))
    times.append(time.perf_counter() - started)
tracemalloc.start()
evaluate.measure(good, dataset, scoring.score(good, dataset))
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"file": evaluate.__file__, "rows_per_s": rows / statistics.median(times), "peak_bytes": peak}))
"""


def compare(other: str, rows: int, repeat: int, pairs: int) -> list[dict]:
    """Alternate fresh processes of this tree and ``other``: (ours, theirs) figures per pair."""
    import subprocess
    here = str(Path(__file__).resolve().parents[1])
    found = []
    for _ in range(pairs):
        pair = {}
        for name, tree in (("theirs", other), ("ours", here)):
            env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
            out = subprocess.run([sys.executable, "-c", MEASURE_ONE, str(rows), str(repeat)], env=env, cwd=tree,
                                 check=True, capture_output=True, text=True).stdout
            pair[name] = json.loads(out)
            assert pair[name]["file"].startswith(str(Path(tree).resolve())), pair[name]["file"]
        found.append(pair)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--against", metavar="DIR", default=None)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    if args.against:
        pairs = compare(args.against, args.rows, args.repeat, args.pairs)
        if args.json:
            print(json.dumps(pairs, indent=2))
            return 0
        print(f"load average {os.getloadavg()[0]:.1f}; score + metrics on {args.rows:,} rows, {args.against} -> this tree")
        for pair in pairs:
            theirs, ours = pair["theirs"], pair["ours"]
            print(f"rows/s {theirs['rows_per_s']:,.0f} -> {ours['rows_per_s']:,.0f} "
                  f"(x {ours['rows_per_s'] / theirs['rows_per_s']:.2f}); peak {theirs['peak_bytes'] / 1e6:.1f} -> "
                  f"{ours['peak_bytes'] / 1e6:.1f} MB")
        return 0
    found = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
             "load_average": os.getloadavg(), "evaluate": evaluation(args.rows, args.repeat),
             "gate": gate(args.repeat)}
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    e, g = found["evaluate"], found["gate"]
    print(f"{found['machine']}, load average {found['load_average'][0]:.1f}")
    print(f"evaluate, {e['rows']:,} rows: score + metrics {e['score_metrics_s']:.3f} s ({e['rows_per_s']:,.0f} rows/s); "
          f"with --against {e['against_s']:.3f} s ({e['against_rows_per_s']:,.0f} rows/s)")
    print(f"peak memory {e['peak_bytes'] / 1e6:.1f} MB = {e['peak_ratio']:.2f}x the rows in float32 "
          f"({e['float32_bytes'] / 1e6:.1f} MB), {e['peak_with_rows_ratio']:.2f}x with the rows; "
          f"CSV read {e['csv_read_s']:.2f} s ({e['csv_rows_per_s']:,.0f} rows/s, "
          f"{e['csv_bytes'] / 1e6:.1f} MB file), its peak {e['csv_peak_ratio']:.2f}x the rows")
    print(f"a fresh process reading the CSV and evaluating it: peak RSS {e['process_peak_bytes'] / 1e6:.1f} MB "
          f"above its start = {e['process_peak_ratio']:.2f}x the rows in float32")
    print(f"gate {g['gate_s'] * 1000:.0f} ms, deploy with it {g['deploy_with_gate_s']:.2f} s "
          f"({100 * g['gate_share']:.0f}% of it), median of {g['runs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
