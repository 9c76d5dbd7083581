"""Benchmark: the numpy trainer against the MXNet trainer on the same rows (Python 3.12+ has only numpy).

Measures, each the median of --repeat runs in this process (MXNet imported once, beforehand):
  train_numpy / train_mxnet   training: 90/10 split, 15 epochs, metrics, threshold
  cli_numpy / cli_mxnet       a fresh `wildrydes train --trainer T --rows N --save FILE` process, end to end
and how far apart the two models are (validation AUC, accuracy, largest score difference).
MXNet's rows are skipped, with a note, where MXNet is not installed.

Run:  .venv/bin/python benchmarks/bench_trainers.py [--rows 100000] [--repeat 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_training import timed  # the same median-of-repeats timer (this folder is on sys.path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    from wildrydes_cli.mxnet_support import mxnet_importable
    from wildrydes_cli.training import numpy_trainer
    from wildrydes_cli.training.mxnet_trainer import TrainConfig
    from wildrydes_cli.training.synthetic import generate_rides

    trainers = {"numpy": numpy_trainer.train}
    if mxnet_importable():
        from wildrydes_cli.training.mxnet_trainer import train as mxnet_train
        trainers["mxnet"] = mxnet_train
    dataset = generate_rides(args.rows, seed=0)
    config = TrainConfig(epochs=args.epochs, seed=0)
    seconds: dict[str, float] = {}
    models = {}
    for name, train in trainers.items():
        seconds[f"train_{name}"], models[name] = timed(lambda train=train: train(dataset, config), args.repeat)
    exe = Path(sys.executable).with_name("wildrydes")
    env = dict(os.environ, NO_COLOR="1")
    with tempfile.TemporaryDirectory(prefix="wildrydes-bench-") as tmp:
        for name in trainers:
            command = [str(exe), "train", "--trainer", name, "--rows", str(args.rows), "--epochs",
                       str(args.epochs), "--save", str(Path(tmp) / "model.tar.gz")]
            seconds[f"cli_{name}"], _ = timed(
                lambda command=command: subprocess.run(command, check=True, capture_output=True, env=env),
                args.repeat)
    report: dict = {
        "rows": args.rows, "epochs": args.epochs, "repeat": args.repeat,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds": {name: round(value, 3) for name, value in seconds.items()},
        "auc": {name: round(model.metrics["auc"], 6) for name, model in models.items()},
    }
    if "mxnet" in models:
        ours, theirs = models["numpy"], models["mxnet"]
        report["ratios"] = {"train_mxnet/train_numpy": round(seconds["train_mxnet"] / seconds["train_numpy"], 1),
                            "cli_mxnet/cli_numpy": round(seconds["cli_mxnet"] / seconds["cli_numpy"], 2)}
        report["difference"] = {
            "auc": abs(ours.metrics["auc"] - theirs.metrics["auc"]),
            "accuracy": abs(ours.metrics["accuracy"] - theirs.metrics["accuracy"]),
            "max_validation_score": float(abs(ours.validation_scores - theirs.validation_scores).max()),
        }
    else:
        report["note"] = "MXNet is not importable in this Python: numpy rows only"
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"trainers: {args.rows:,} rows, {args.epochs} epochs, median of {args.repeat} ({report['machine']})")
    for name, value in seconds.items():
        print(f"  {name:<14} {value:7.3f} s")
    for key in ("auc", "ratios", "difference", "note"):
        if key in report:
            print(f"  {key}: {report[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
