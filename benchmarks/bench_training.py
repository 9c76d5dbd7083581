"""Benchmark: how long `wildrydes train` takes on 100,000 rows (target <= 10 s).

Measures, each as the median of --repeat runs on this machine:
  generate   synthetic rides (numpy)
  csv_read   reading the same rows from a CSV file (--data path)
  train      MXNet training, 15 epochs, 90/10 split, metrics, threshold (MXNet already imported)
  write      packaging the model.tar.gz with MXNet
  cli        a fresh `wildrydes train --rows N --save FILE` process, end to end
             (Python start, MXNet import, data, training, artifact)

and what the model learned: validation AUC and accuracy, accuracy against the
workshop's rule (magicpoints >= 50 * distance) on 100,000 fresh synthetic rides
(all, and those more than 100 magic points from the boundary), the score of
the workshop's ride, and training throughput in rows/s (rows x epochs / s).

Run:  /work/venv/bin/python benchmarks/bench_training.py [--rows 100000] [--repeat 3] [--json]
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


def timed(fn, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    started = time.perf_counter()
    import mxnet  # noqa: F401  - import cost is reported separately
    import_seconds = time.perf_counter() - started

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from ride_files import write_csv  # the workshop's CSV layout, as the tests write it

    from wildrydes_cli.training.data import read_csv
    from wildrydes_cli.training.mxnet_trainer import TrainConfig, train
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    from wildrydes_cli.training.synthetic import generate_rides

    results: dict[str, float] = {"mxnet_import": import_seconds}
    results["generate"], dataset = timed(lambda: generate_rides(args.rows, seed=0), args.repeat)
    with tempfile.TemporaryDirectory(prefix="wildrydes-bench-") as tmp:
        csv_path = Path(tmp) / "rides.csv"
        write_csv(dataset, csv_path)
        results["csv_read"], _ = timed(lambda: read_csv(csv_path), args.repeat)
        config = TrainConfig(epochs=args.epochs, seed=0)
        results["train"], model = timed(lambda: train(dataset, config), args.repeat)
        results["write"], archive = timed(
            lambda: write_model_archive(model.weights, model.bias, model.predictor_type, model.threshold,
                                        model.feature_names), args.repeat)
        exe = Path(sys.executable).with_name("wildrydes")
        command = [str(exe), "train", "--rows", str(args.rows), "--epochs", str(args.epochs),
                   "--save", str(Path(tmp) / "model.tar.gz")]
        env = dict(os.environ, NO_COLOR="1")
        results["cli"], _ = timed(lambda: subprocess.run(command, check=True, capture_output=True, env=env),
                                  args.repeat)
    import numpy as np

    from wildrydes_cli.training.synthetic import ground_truth

    fresh = generate_rides(100_000, seed=424242)
    weights = np.asarray(model.weights)
    predicted = (1.0 / (1.0 + np.exp(-(fresh.features @ weights + model.bias)))) > model.threshold
    rule = fresh.labels > 0.5
    away = np.abs(ground_truth().margin(fresh.features)) > 100
    workshop_ride = np.array([30.0, 30.0, 2500.0, 300.0, 333.0, 0.0])
    workshop_score = float(1.0 / (1.0 + np.exp(-(workshop_ride @ weights + model.bias))))
    report = {
        "rows": args.rows, "epochs": args.epochs, "repeat": args.repeat,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds": {name: round(value, 3) for name, value in results.items()},
        "validation_auc": round(model.metrics["auc"], 4),
        "validation_accuracy": round(model.metrics["accuracy"], 4),
        "accuracy_vs_rule_fresh": round(float(np.mean(predicted == rule)), 4),
        "accuracy_vs_rule_away_from_boundary": round(float(np.mean(predicted[away] == rule[away])), 4),
        "workshop_ride_score": round(workshop_score, 4),
        "train_rows_per_s": round(model.train_rows * args.epochs / results["train"]),
        "cli_rows_per_s": round(args.rows / results["cli"]),
        "artifact_bytes": len(archive),
        "target_seconds": 10.0,
        "meets_target": results["cli"] <= 10.0,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"wildrydes train benchmark: {args.rows:,} rows, {args.epochs} epochs, median of {args.repeat} "
          f"({report['machine']})")
    labels = {"mxnet_import": "import mxnet (once)", "generate": "generate synthetic rides",
              "csv_read": "read the same rows from CSV", "train": "train (MXNet, split, metrics, threshold)",
              "write": "write model.tar.gz", "cli": "`wildrydes train --save` end to end"}
    for name, label in labels.items():
        print(f"  {label:<44} {results[name]:7.3f} s")
    print(f"  validation AUC {report['validation_auc']}, accuracy {report['validation_accuracy']}; against the "
          f"rule on 100,000 fresh rides {report['accuracy_vs_rule_fresh']} "
          f"({report['accuracy_vs_rule_away_from_boundary']} away from the boundary); workshop ride "
          f"{report['workshop_ride_score']}")
    print(f"  throughput {report['train_rows_per_s']:,} rows/s in training (rows x epochs), "
          f"{report['cli_rows_per_s']:,} rows/s end to end")
    print(f"  artifact {len(archive)} bytes; "
          f"target <= 10 s end to end: {'met' if report['meets_target'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
