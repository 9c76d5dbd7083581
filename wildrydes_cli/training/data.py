"""The training table: the workshop's processed ride + weather columns, from a user's file.

Accepted: the workshop's processed CSV (columns ``distance, healthpoints,
magicpoints, TMIN, TMAX, PRCP, heavy_utilization``; extra columns such as
``name, statustime, latitude, longitude, groundstation`` are ignored; names
are matched case-insensitively, in any order), and JSON Lines of rides (one
JSON object per line with the same keys). The label may be 0/1 or, as pandas
writes a boolean column, ``True``/``False``. Two optional columns are kept for a
model's card and ``evaluate``: ``statustime`` (or ``date``), as its first and last
value, and ``breed``, row by row; and the file's sha256, computed as it is read.

Why a reader of our own around ``numpy.loadtxt`` rather than pandas: a user
who points ``--data`` at the wrong file should learn which file, row, column
and value are at fault, not see a numpy traceback; plain blocks of rows go
through numpy's C parser, and only a block that it refuses is read row by row
to say why (``streaming.py``: blocks of lines, float32 rows, a row limit that
bounds memory). The file is opened and read once, so ``--data`` may be a FIFO.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from wildrydes_cli.errors import UsageError
from wildrydes_cli.layout import FEATURES
from wildrydes_cli.training import streaming
from wildrydes_cli.training.streaming import ROW_BYTES, Blocks, Table, describe_size, fast_rows, plain_lines, size_of

LOG = logging.getLogger(__name__)

LABEL = "heavy_utilization"
COLUMNS = FEATURES + (LABEL,)
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
BOOLEAN_LABELS = {"true": 1.0, "false": 0.0}
# The most rides one training on this machine holds: float32 rows, ~280 MB at the limit and
# well under 1 GB at the training's peak (benchmarks/bench_streaming.py measures it).
MAX_ROWS = 10_000_000
SNIFF_BYTES = 64 * 1024
# Optional columns a model's card and ``evaluate`` read: when the rides were taken, and whose rides they are.
DATE_COLUMNS = ("statustime", "date")
BREED_COLUMN = "breed"


@dataclass(frozen=True)
class Dataset:
    """Feature matrix (rows x FEATURES, float32) and label vector, with where they came from."""

    features: np.ndarray
    labels: np.ndarray
    source: str
    sha256: str | None = None                 # of the file read (None: generated)
    date_range: tuple[str, str] | None = None  # first and last statustime/date, as written (ISO text sorts)
    breeds: tuple[str, ...] | None = None      # each row's breed, when the file has a breed column

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


def _too_many(name: str, size: int | None):
    def message(limit: int) -> str:
        return (f"{name} ({describe_size(size)}) has more than {limit:,} rides, the most one training on this "
                f"machine holds in memory (about {limit * ROW_BYTES / 1e6:,.0f} MB of float32 rows, which bounds "
                "its peak under 1 GB); train on a sample of it (--on sagemaker reads --data here first too)")
    return message


class _Hashed:
    """The file, read once, with the sha256 of what was read (a model's card names its data by it)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data

    def fileno(self) -> int:
        return self.handle.fileno()

    def __enter__(self) -> "_Hashed":
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _open(path: Path) -> _Hashed:
    try:
        return _Hashed(path.open("rb"))
    except OSError as exc:
        raise UsageError(f"cannot read --data {path}: {exc.strerror or exc}") from None


class Extras:
    """The optional columns of a file, by row: the date range and each row's breed."""

    def __init__(self) -> None:
        self.first: str | None = None
        self.last: str | None = None
        self.breeds: list[str] = []
        self.has_breeds = False

    def add(self, date: object, breed: object, has_breed: bool) -> None:
        if isinstance(date, str) and date.strip():
            text = date.strip()
            self.first = text if self.first is None or text < self.first else self.first
            self.last = text if self.last is None or text > self.last else self.last
        if has_breed and not self.has_breeds:   # rows before the first with a breed are unnamed
            self.has_breeds = True
            self.breeds = [""] * len(self.breeds)
        self.breeds.append(str(breed).strip() if has_breed and breed is not None else "")

    def fields(self, handle: _Hashed) -> dict:
        return {"sha256": handle.digest.hexdigest(),
                "date_range": (self.first, self.last) if self.first is not None and self.last is not None else None,
                "breeds": tuple(self.breeds) if self.has_breeds else None}


def _extra_columns(header: list[str]) -> tuple[int | None, int | None]:
    """Positions of the optional date and breed columns (None: absent)."""
    lowered = [cell.lower() for cell in header]
    date = next((lowered.index(c) for c in DATE_COLUMNS if c in lowered), None)
    return date, (lowered.index(BREED_COLUMN) if BREED_COLUMN in lowered else None)


def read_data(path: Path | str, limit: int | None = None) -> Dataset:
    """``--data``: JSON Lines if the name ends .jsonl/.ndjson/.json or the text starts with ``{``, else CSV.

    The file is opened once and its first block serves both the sniffing and the
    reading, so a FIFO or a pipe works as well as a file.
    """
    path = Path(path)
    limit = MAX_ROWS if limit is None else limit
    with _open(path) as handle:
        try:
            first = handle.read(SNIFF_BYTES)
        except OSError as exc:
            raise UsageError(f"cannot read --data {path}: {exc.strerror or exc}") from None
        size = size_of(handle.handle)
        blocks = Blocks(cast(BinaryIO, handle), path.name, first,   # it reads as the file does
                        block_bytes=streaming.TABLE_BLOCK_BYTES)
        start = first.lstrip(b"\xef\xbb\xbf \t\r\n")
        extras = Extras()
        table = Table(len(COLUMNS), limit, _too_many(path.name, size))
        if path.suffix.lower() in JSON_LINES_SUFFIXES or start.startswith(b"{"):
            features, labels = _jsonl_rows(blocks, path.name, table, extras)
        else:
            features, labels = _csv_rows(blocks, path.name, table, extras)
    LOG.info("read %d rows from %s", labels.shape[0], path)
    return Dataset(features=features, labels=labels, source=str(path), **extras.fields(handle))


def read_jsonl(path: Path | str) -> Dataset:
    """Read JSON Lines of rides (one object per line, keys as the CSV's columns, any case)."""
    return read_data(path) if Path(path).suffix.lower() in JSON_LINES_SUFFIXES else _read_as(path, _jsonl_rows)


def read_csv(path: Path | str) -> Dataset:
    """Read ``path`` into a Dataset, raising UsageError that names the file, row and column at fault."""
    return _read_as(path, _csv_rows)


def _read_as(path: Path | str, rows) -> Dataset:
    path = Path(path)
    with _open(path) as handle:
        blocks = Blocks(cast(BinaryIO, handle), path.name, block_bytes=streaming.TABLE_BLOCK_BYTES)
        extras = Extras()
        features, labels = rows(blocks, path.name, Table(len(COLUMNS), MAX_ROWS,
                                                         _too_many(path.name, size_of(handle.handle))), extras)
    return Dataset(features=features, labels=labels, source=str(path), **extras.fields(handle))


def _decode(block: bytes, name: str, expected: str) -> str:
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not UTF-8 text; expected {expected}") from None


def _jsonl_rows(blocks: Blocks, name: str, table: Table, extras: Extras):
    seen = 0
    for block in blocks:
        text = _decode(block, name, "JSON Lines")
        if blocks.lines_before == 0:
            text = text.lstrip("\ufeff")
        values: list[list[float]] = []
        for offset, line_text in enumerate(text.split("\n")):
            if not line_text.strip():
                continue
            line = blocks.lines_before + offset + 1
            row = table.rows + len(values) + 1
            values.append(_json_row(line_text, row, line, name, extras))
        seen += len(values)
        table.add_values(values)
    if not seen:
        raise UsageError(f"{name} has no rides; expected one JSON object per line with {', '.join(COLUMNS)}")
    return table.columns()


def _json_row(text: str, row: int, line: int, name: str, extras: Extras) -> list[float]:
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
    values = [_json_value(lowered[column.lower()], column, row, line, name) for column in COLUMNS]
    extras.add(next((lowered[c] for c in DATE_COLUMNS if c in lowered), None), lowered.get(BREED_COLUMN),
               BREED_COLUMN in lowered)
    return values


def _header(lines: list[str], name: str) -> tuple[list[str], int]:
    """The header's cells and how many lines it and the blank lines before it take."""
    for used, line in enumerate(lines, start=1):
        try:
            cells = next(csv.reader([line]), [])
        except csv.Error as exc:
            raise UsageError(f"{name} line {used} is not valid CSV ({exc})") from None
        if any(cell.strip() for cell in cells):
            return [cell.strip().lstrip("\ufeff") for cell in cells], used
    raise UsageError(f"{name} is empty; expected a CSV with a header row naming the columns "
                     f"{', '.join(COLUMNS)}")


def _label_converter(value: bytes | str) -> float:
    text = value.decode("utf-8") if isinstance(value, bytes) else value
    key = text.strip().lower()
    return BOOLEAN_LABELS[key] if key in BOOLEAN_LABELS else float(text)


def _csv_rows(blocks: Blocks, name: str, table: Table, extras: Extras):
    header: list[str] | None = None
    index: list[int] = []
    converters: dict | None = None
    extra: tuple[int | None, int | None] = (None, None)
    for block in blocks:
        text = _decode(block, name, "a CSV file")
        skipped = 0
        if header is None:
            first_lines = text.split("\n")
            header, skipped = _header(first_lines, name)   # a header longer than one block is no ride table
            index = _column_index(header, name)
            extra = _extra_columns(header)
            text = "\n".join(first_lines[skipped:])
            converters = _converters(text, index)
        if "\r" in text and '"' not in text:
            text = text.replace("\r\n", "\n")
        lines = plain_lines(text, len(header))
        rows = fast_rows(lines, index, converters) if lines is not None else None
        if rows is None:
            rows = _precise_rows(text, header, index, name, table.rows, blocks.lines_before + skipped)
        table.add(rows)
        if extra != (None, None):
            _extra_values(text, extra, extras)
    if header is None:
        raise UsageError(f"{name} is empty; expected a CSV with a header row naming the columns "
                         f"{', '.join(COLUMNS)}")
    if not table.rows:
        raise UsageError(f"{name} has a header but no data rows; add rides to train on")
    return table.columns()


def _extra_values(text: str, extra: tuple[int | None, int | None], extras: Extras) -> None:
    """A block's dates and breeds, row for row as the block's rides were read (blank lines carry none)."""
    date_at, breed_at = extra
    for cells in csv.reader(io.StringIO(text, newline="")):
        if not any(cell.strip() for cell in cells):
            continue
        extras.add(cells[date_at] if date_at is not None and date_at < len(cells) else None,
                   cells[breed_at] if breed_at is not None and breed_at < len(cells) else None, breed_at is not None)


def _converters(text: str, index: list[int]) -> dict | None:
    """pandas writes a boolean label as True/False: numpy's reader then needs to be told."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    cells = first.split(",")
    label = index[-1]
    if label < len(cells) and cells[label].strip().lower() in BOOLEAN_LABELS:
        return {label: _label_converter}
    return None


def _precise_rows(text: str, header: list[str], index: list[int], name: str, rows_before: int,
                  lines_before: int):
    """The block row by row with the csv module: what numpy refused, named by file, row, column and value."""
    reader = csv.reader(io.StringIO(text, newline=""))
    width = len(header)
    values: list[list[float]] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines carry no ride
            row, line = rows_before + len(values) + 1, lines_before + reader.line_num
            if len(cells) != width:
                raise UsageError(f"{name} row {row} (line {line}) has {len(cells)} fields but the header "
                                 f"has {width}")
            values.append([_number(cells[i], column, row, line, name) for i, column in zip(index, COLUMNS)])
    except csv.Error as exc:
        raise UsageError(f"{name} line {lines_before + reader.line_num} is not valid CSV ({exc})") from None
    import numpy as np
    if not values:
        return np.empty((0, len(COLUMNS)), dtype=np.float32)
    rows = np.asarray(values, dtype=np.float64)
    too_big = np.flatnonzero(~np.isfinite(rows.astype(np.float32)).all(axis=1))
    if too_big.size:
        bad = int(too_big[0])
        raise UsageError(f"{name} row {rows_before + bad + 1}: a value is beyond float32's range "
                         "(about 3.4e38); fix or remove that row")
    return rows.astype(np.float32)
