"""The training table: the notebook's merged ride + weather columns, from a user's CSV.

Why a hand-rolled reader instead of ``numpy.loadtxt``: a user who points
``--data`` at the wrong file should learn which column is missing or which
row holds which bad value, not see a numpy traceback. Columns are found by
name (any order, extra columns ignored), so an export of the notebook's
merged DataFrame works as is.
"""
from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wildrydes_cli.errors import UsageError
from wildrydes_cli.layout import FEATURES

LOG = logging.getLogger(__name__)

LABEL = "fieldservice"
COLUMNS = FEATURES + (LABEL,)


@dataclass(frozen=True)
class Dataset:
    """Feature matrix (rows x FEATURES, float64) and label vector, with where they came from."""

    features: np.ndarray
    labels: np.ndarray
    source: str

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])

    @property
    def feature_names(self) -> tuple[str, ...]:
        return FEATURES


def _number(text: str, column: str, row: int, line: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
        finite = False
    else:
        finite = math.isfinite(value)
    if not finite:
        raise UsageError(f"{name} row {row} (line {line}): column {column!r} has value {text.strip()!r}, "
                         "which is not a finite number; fix or remove that row")
    return value


def _header(reader, name: str) -> list[str]:
    for header in reader:
        if any(cell.strip() for cell in header):
            return [cell.strip().lstrip("\ufeff") for cell in header]
    raise UsageError(f"{name} is empty; expected a CSV with a header row naming the columns "
                     f"{', '.join(COLUMNS)}")


def read_csv(path: Path | str) -> Dataset:
    """Read ``path`` into a Dataset, raising UsageError that names the file, row and column at fault."""
    path = Path(path)
    name = path.name
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --data {path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = _header(reader, name)
            missing = [column for column in COLUMNS if column not in header]
            if missing:
                raise UsageError(
                    f"{name} has no column {missing[0]!r}" + (f" (missing: {', '.join(missing)})" if len(missing) > 1 else "")
                    + f"; its header has {', '.join(header)}; needed: {', '.join(COLUMNS)}")
            index = [header.index(column) for column in COLUMNS]
            width = len(header)
            values: list[list[float]] = []
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue  # blank lines carry no ride
                row, line = len(values) + 1, reader.line_num
                if len(cells) != width:
                    raise UsageError(f"{name} row {row} (line {line}) has {len(cells)} fields but the header "
                                     f"has {width}")
                values.append([_number(cells[i], column, row, line, name) for i, column in zip(index, COLUMNS)])
        except UnicodeDecodeError:
            raise UsageError(f"{name} is not UTF-8 text; expected a CSV file") from None
        except csv.Error as exc:
            raise UsageError(f"{name} line {reader.line_num} is not valid CSV ({exc})") from None
    if not values:
        raise UsageError(f"{name} has a header but no data rows; add rides to train on")
    table = np.asarray(values, dtype=np.float64)
    LOG.info("read %d rows from %s", len(values), path)
    return Dataset(features=table[:, :len(FEATURES)], labels=table[:, len(FEATURES)], source=str(path))


def write_csv(dataset: Dataset, path: Path | str) -> None:
    """Write a Dataset in the layout ``read_csv`` accepts (to inspect or reuse synthetic data)."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for features, label in zip(dataset.features.tolist(), dataset.labels.tolist()):
            writer.writerow([_format(v) for v in features] + [_format(label)])


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
