"""The training table: the workshop's processed ride + weather columns, from a user's file.

Accepted: the workshop's processed CSV (columns ``distance, healthpoints,
magicpoints, TMIN, TMAX, PRCP, heavy_utilization``; extra columns such as
``name, statustime, latitude, longitude, groundstation`` are ignored; names
are matched case-insensitively, in any order), and JSON Lines of rides (one
JSON object per line with the same keys). The label may be 0/1 or, as pandas
writes a boolean column, ``True``/``False``.

Why a hand-rolled reader instead of ``numpy.loadtxt`` or pandas: a user who
points ``--data`` at the wrong file should learn which file, row, column and
value are at fault, not see a numpy traceback.
"""
from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wildrydes_cli.errors import UsageError
from wildrydes_cli.layout import FEATURES

LOG = logging.getLogger(__name__)

LABEL = "heavy_utilization"
COLUMNS = FEATURES + (LABEL,)
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
BOOLEAN_LABELS = {"true": 1.0, "false": 0.0}


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
    if column == LABEL and text.strip().lower() in BOOLEAN_LABELS:
        return BOOLEAN_LABELS[text.strip().lower()]
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


def _column_index(header: list[str], name: str) -> list[int]:
    """Positions of COLUMNS in ``header``, matched case-insensitively (the first of duplicates)."""
    lowered: dict[str, int] = {}
    for position, cell in enumerate(header):
        lowered.setdefault(cell.lower(), position)
    missing = [column for column in COLUMNS if column.lower() not in lowered]
    if missing:
        raise UsageError(
            f"{name} has no column {missing[0]!r}" + (f" (missing: {', '.join(missing)})" if len(missing) > 1 else "")
            + f"; its header has {', '.join(header)[:300]}; needed: {', '.join(COLUMNS)}")
    return [lowered[column.lower()] for column in COLUMNS]


MAX_LINE_CHARS = 1024 * 1024   # a ride is under 200 characters; /dev/zero or a binary file has no line end


def _bounded_lines(handle, name: str):
    """The file's lines, refusing one longer than MAX_LINE_CHARS before holding more of it in memory."""
    while True:
        line = handle.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS:
            raise UsageError(f"{name} has a line longer than {MAX_LINE_CHARS // 1024} KiB; expected rides of "
                             "a few numbers per line (is it the right file?)")
        yield line


def read_data(path: Path | str) -> Dataset:
    """``--data``: JSON Lines if the name ends .jsonl/.ndjson/.json or the text starts with ``{``, else CSV."""
    path = Path(path)
    if path.suffix.lower() in JSON_LINES_SUFFIXES:
        return read_jsonl(path)
    try:
        with path.open("rb") as handle:
            start = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise UsageError(f"cannot read --data {path}: {exc.strerror or exc}") from None
    return read_jsonl(path) if start.startswith(b"{") else read_csv(path)


def _json_value(value: object, column: str, row: int, line: int, name: str) -> float:
    if isinstance(value, bool) and column == LABEL:
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value):
            return float(value)
    elif isinstance(value, str):
        return _number(value, column, row, line, name)
    raise UsageError(f"{name} row {row} (line {line}): column {column!r} has value "
                     f"{json.dumps(value)[:60]}, which is not a finite number; fix or remove that row")


def read_jsonl(path: Path | str) -> Dataset:
    """Read JSON Lines of rides (one object per line, keys as the CSV's columns, any case)."""
    path = Path(path)
    name = path.name
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read --data {path}: {exc.strerror or exc}") from None
    values: list[list[float]] = []
    with handle:
        try:
            for line, text in enumerate(_bounded_lines(handle, name), start=1):
                if not text.strip():
                    continue
                row = len(values) + 1
                try:
                    ride = json.loads(text)
                except ValueError as exc:
                    raise UsageError(f"{name} row {row} (line {line}) is not valid JSON ({exc})") from None
                if not isinstance(ride, dict):
                    raise UsageError(f"{name} row {row} (line {line}) is a JSON {type(ride).__name__}, "
                                     "not an object of columns")
                lowered = {str(key).lower(): value for key, value in ride.items()}
                missing = [column for column in COLUMNS if column.lower() not in lowered]
                if missing:
                    raise UsageError(f"{name} row {row} (line {line}) has no column {missing[0]!r}; "
                                     f"needed: {', '.join(COLUMNS)}")
                values.append([_json_value(lowered[column.lower()], column, row, line, name)
                               for column in COLUMNS])
        except UnicodeDecodeError:
            raise UsageError(f"{name} is not UTF-8 text; expected JSON Lines") from None
    if not values:
        raise UsageError(f"{name} has no rides; expected one JSON object per line with {', '.join(COLUMNS)}")
    return _dataset(values, path)


def _dataset(values: list[list[float]], path: Path) -> Dataset:
    """Rows of (features..., label) as read from ``path``."""
    table = np.asarray(values, dtype=np.float64)
    LOG.info("read %d rows from %s", len(values), path)
    return Dataset(features=table[:, :len(FEATURES)], labels=table[:, len(FEATURES)], source=str(path))


def read_csv(path: Path | str) -> Dataset:
    """Read ``path`` into a Dataset, raising UsageError that names the file, row and column at fault."""
    path = Path(path)
    name = path.name
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --data {path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(_bounded_lines(handle, name))
        try:
            header = _header(reader, name)
            index = _column_index(header, name)
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
    return _dataset(values, path)
