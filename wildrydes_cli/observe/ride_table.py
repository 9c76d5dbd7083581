"""``predict --file``: rides from a CSV file, with the columns that are not features kept beside them.

Why its own module: the file is the user's, so everything wrong with it is a
UsageError naming the file and the line or column; and the columns it has besides
the six features (a ride id, a name, a time) come back with each prediction, so
results can be joined to the input (``--output json`` and the CSV output keep them).
"""
from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from wildrydes_cli.errors import UsageError
from wildrydes_cli.layout import FEATURES

LOG = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024 * 1024   # ~1.5 million rides: far more than a batch is for, bounded memory
# What a prediction adds to a ride: an input column of that name is renamed input_<name>, never overwritten.
RESULT_FIELDS = ("score", "predicted_label", "label", "contributions", "intercept", "model_path", "engine", "breed",
                 "model")


@dataclass(frozen=True)
class RideTable:
    """The rides (features by their model names), each row's other cells, and the file's column order."""

    rides: list[dict[str, float]]
    extras: list[dict[str, str]]      # per ride: the non-feature columns, as written
    columns: list[str]                # the file's columns in order: features by their model names


def plain_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def read_rides(path: Path) -> RideTable:
    """Rides from a CSV with a header naming the six features (any order, any case), and its other columns.

    Everything wrong with the file is a UsageError naming the file and the line or column:
    not UTF-8, too large (``/dev/zero`` included), not CSV (a field over csv's 128 KiB limit),
    a column named twice (which one counts?), a row wider or narrower than the header.
    """
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"Cannot read --file {path}: {exc.strerror or exc}.") from None
    if len(raw) > MAX_FILE_BYTES:
        raise UsageError(f"--file {path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB: split it into "
                         "smaller files of rides.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--file {path} is not UTF-8 text (byte {exc.start}): expected a CSV file.") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)   # a stray quote is an error, not data
    try:
        return _table(reader, path)
    except csv.Error as exc:
        raise UsageError(f"--file {path}, line {reader.line_num}: not valid CSV ({exc}).") from None


def _header(cells: list[str], path: Path) -> tuple[dict[str, int], list[str]]:
    """Positions by lower-cased name, and the output names of the columns (features by their model names)."""
    positions: dict[str, int] = {}
    for position, cell in enumerate(cells):
        name = cell.strip().lower()
        if name in positions:
            raise UsageError(f"--file {path}, line 1: column {cell.strip()!r} appears twice (columns "
                             f"{positions[name] + 1} and {position + 1}); name each column once.")
        positions[name] = position
    missing = [name for name in FEATURES if name.lower() not in positions]
    if missing:
        raise UsageError(f"--file {path} needs a header with the columns {', '.join(FEATURES)}; "
                         f"missing: {', '.join(missing)}.")
    by_lower = {name.lower(): name for name in FEATURES}
    names: list[str] = []
    for cell in cells:
        name = cell.strip()
        if name.lower() in by_lower:
            name = by_lower[name.lower()]
        elif name.lower() in RESULT_FIELDS or not name:
            name = f"input_{name or len(names) + 1}"
        names.append(name)
    return positions, names


def _table(reader, path: Path) -> RideTable:
    cells = next(reader, None) or []
    positions, names = _header(cells, path)
    feature_positions = {positions[name.lower()] for name in FEATURES}
    rides, extras = [], []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines carry no ride
        if len(row) != len(cells):
            raise UsageError(f"--file {path}, line {line}: {len(row)} cells but the header has {len(cells)} "
                             "columns; every row needs one cell per column.")
        ride = {}
        for name in FEATURES:
            cell = row[positions[name.lower()]].strip()
            try:
                value = float(cell)
            except ValueError:
                raise UsageError(f"--file {path}, line {line}: {name} is {cell[:40]!r}, not a number.") from None
            if not math.isfinite(value):
                raise UsageError(f"--file {path}, line {line}: {name} is {cell[:40]!r}, not a finite number.")
            ride[name] = plain_number(value)
        rides.append(ride)
        extras.append({names[i]: row[i] for i in range(len(row)) if i not in feature_positions})
    if not rides:
        raise UsageError(f"--file {path} has a header but no rides.")
    return RideTable(rides, extras, names)
