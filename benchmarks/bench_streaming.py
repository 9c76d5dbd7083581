"""Benchmark: local training in bounded memory (`train --data` streams; trainers standardise a batch at a time).

Measures, each in a fresh `wildrydes train ... --save FILE` process (peak resident memory from
wait4's ru_maxrss, the training time from the command's JSON):
  big       --data a CSV of --big-rows rides (default 10,000,000), numpy trainer: peak memory (goal <= 1 GB)
            and training rows/s
  compare   --rows 1,000,000 synthetic with each trainer, this tree against --baseline-src DIR (another
            source tree, e.g. the one before streaming), interleaved --rounds times: training rows/s and
            peak memory, as ratios (goal: rows/s within 20% of the baseline's)

Run:  python benchmarks/bench_streaming.py [--big-rows 10000000] [--rows 1000000] [--rounds 2]
                                           [--baseline-src DIR] [--trainers numpy mxnet] [--json]
DIR: e.g. `git archive 6da31c4 | tar -x -C DIR` (the tree before streaming).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# A small process that runs the command and reports its children's peak RSS: a child forked from this
# benchmark would start with (and keep, in ru_maxrss) the benchmark's own resident pages.
_MEASURE = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(done.returncode)")


def run(command: list[str], env: dict[str, str]) -> dict:
    """A fresh process: wall seconds, peak RSS (MB) and its JSON result."""
    started = time.perf_counter()
    # from a neutral directory: `python -c` puts the working directory first on sys.path, ahead of PYTHONPATH
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, env=env,
                          cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    peak_kb = int(done.stderr.decode().strip().splitlines()[-1])
    result = json.loads(done.stdout)
    return {"wall_s": round(time.perf_counter() - started, 3), "peak_mb": round(peak_kb / 1024, 1),
            "train_s": result["seconds"], "train_rows": result["rows"]["train"], "epochs": result["epochs"]}


def cli(tree: Path | None, under: Path) -> tuple[list[str], dict[str, str]]:
    """How to run `wildrydes` from this install, or from another source tree (PYTHONPATH), with a
    WILDRYDES_HOME of its own inside ``under`` (the run's temporary directory, removed at its end)."""
    env = dict(os.environ, NO_COLOR="1", WILDRYDES_HOME=tempfile.mkdtemp(prefix="home-", dir=under))
    if tree is None:
        return [str(Path(sys.executable).with_name("wildrydes"))], env
    env["PYTHONPATH"] = str(tree)
    return [sys.executable, "-c", "import sys; from wildrydes_cli.cli.main import main; sys.exit(main())"], env


def write_big_csv(path: Path, rows: int) -> None:
    """The workshop's columns (label first: columns are found by name), written a million rides at a time."""
    from wildrydes_cli.training.channels import csv_bytes
    from wildrydes_cli.training.synthetic import generate_rides

    with path.open("wb") as out:
        out.write(b"heavy_utilization,distance,healthpoints,magicpoints,TMIN,TMAX,PRCP\n")
        for start in range(0, rows, 1_000_000):
            part = generate_rides(min(1_000_000, rows - start), seed=start)
            out.write(csv_bytes(part.labels, part.features))


def rate(sample: dict) -> float:
    return sample["train_rows"] * sample["epochs"] / sample["train_s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--trainers", nargs="+", default=["numpy", "mxnet"])
    parser.add_argument("--baseline-src", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="wildrydes-bench-") as tmp:
        if args.big_rows:
            data = Path(tmp) / "rides.csv"
            write_big_csv(data, args.big_rows)
            command, env = cli(None, Path(tmp))
            big = run(command + ["--output", "json", "train", "--data", str(data), "--trainer", "numpy",
                                 "--epochs", str(args.epochs), "--save", str(Path(tmp) / "m.tar.gz")], env)
            report["big"] = {"rows": args.big_rows, "file_mb": round(data.stat().st_size / 1e6),
                             **big, "train_rows_per_s": round(rate(big))}
            data.unlink()
        if not args.rounds:
            print(json.dumps(report, indent=2))
            return 0
        trees = {"this": None} | ({"baseline": args.baseline_src} if args.baseline_src else {})
        samples: dict = {(trainer, tree): [] for trainer in args.trainers for tree in trees}
        for _ in range(args.rounds):
            for trainer in args.trainers:
                for tree, path in trees.items():    # interleaved: load falls on both alike
                    command, env = cli(path, Path(tmp))
                    samples[(trainer, tree)].append(run(command + [
                        "--output", "json", "train", "--rows", str(args.rows), "--trainer", trainer,
                        "--epochs", str(args.epochs), "--save", str(Path(tmp) / "m.tar.gz")], env))
        compare = {}
        for trainer in args.trainers:
            row = {}
            for tree in trees:
                runs = samples[(trainer, tree)]
                row[tree] = {"train_rows_per_s": round(statistics.median(rate(s) for s in runs)),
                             "peak_mb": statistics.median(s["peak_mb"] for s in runs),
                             "wall_s": statistics.median(s["wall_s"] for s in runs)}
            if "baseline" in row:
                row["rows_per_s_ratio"] = round(row["this"]["train_rows_per_s"] / row["baseline"]["train_rows_per_s"], 2)
                row["peak_mb_ratio"] = round(row["this"]["peak_mb"] / row["baseline"]["peak_mb"], 2)
            compare[trainer] = row
        report["compare"] = {"rows": args.rows, "epochs": args.epochs, "rounds": args.rounds, **compare}
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
