"""Writing rides as the workshop's processed CSV, for tests and benchmarks that need a file to train on."""
from __future__ import annotations

import csv
from pathlib import Path

from wildrydes_cli.training.data import COLUMNS, Dataset


def write_csv(dataset: Dataset, path: Path | str) -> None:
    """Write a Dataset in the layout ``read_csv`` accepts (to inspect or reuse synthetic data)."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for features, label in zip(dataset.features.tolist(), dataset.labels.tolist()):
            writer.writerow([_format(v) for v in features] + [_format(label)])


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
