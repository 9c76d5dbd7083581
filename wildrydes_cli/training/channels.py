"""Linear Learner's CSV channel format: headerless rows, the label first, then the features.

Why a writer of our own: ``train --on sagemaker`` writes every ride it uploads in
this format, and Python's per-value formatting (``repr``, ``%g``, ``np.savetxt``)
manages about 370,000 rides a second on this machine (benchmarks/RESULTS.md), so
the upload would wait on the writer. ``csv_bytes`` formats whole columns at once
with numpy: each value as the shortest decimal with a column-wide number of
decimals that gives back exactly the same float32 (tests hold every written value
to ``float()`` of its text, and to numpy's own reader). A column it cannot
write that way (huge or tiny magnitudes) is written with ``%.9g``, which is exact
for float32 too, only slower.

The reader (``read_channel``) is what the local Linear Learner reads a channel
with; like the algorithm on AWS it refuses a header line and says where.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from wildrydes_cli.errors import UsageError
from wildrydes_cli.training.data import Dataset
from wildrydes_cli.training.streaming import Blocks, Table, fast_rows, plain_block, plain_lines

LOG = logging.getLogger(__name__)

MAX_DECIMALS = 9
MAX_DIGITS = 18                   # int64 holds 18 decimal digits with room to spare
FILLER = 0                        # a byte no CSV has: dropped when the rows are joined


class ChannelError(ValueError):
    """What Linear Learner says about a channel it cannot read (the job fails with it)."""


def _decimals(column: np.ndarray) -> int | None:
    """The fewest decimals that write every value of a float32 column back exactly, or None."""
    values = column.astype(np.float64)
    magnitude = float(np.abs(values).max()) if values.size else 0.0
    for decimals in range(MAX_DECIMALS + 1):
        if magnitude * 10.0 ** decimals >= 10.0 ** MAX_DIGITS:
            return None
        scaled = np.round(values * 10.0 ** decimals)
        if np.array_equal((scaled / 10.0 ** decimals).astype(np.float32), column):
            return decimals
    return None


def _digits(numbers: np.ndarray, out: np.ndarray, keep_zeros: bool) -> None:
    """Write the decimal digits of non-negative integers into ``out`` (rows x width) as ASCII; leading
    zeros become FILLER unless ``keep_zeros`` (a fraction's digits); a number's last digit always stays."""
    width = out.shape[1]
    rest = numbers.astype(np.int32) if numbers.size and int(numbers.max()) < 2**31 else numbers.copy()
    for position in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        out[:, position] = digit
        out[:, position] += 48
    if not keep_zeros:
        for position in range(width - 1):
            out[numbers < 10 ** (width - 1 - position), position] = FILLER


def _column_layout(column: np.ndarray) -> tuple[int, int, int] | None:
    """(decimals, whole digits, bytes) of a column, or None when it needs %.9g."""
    decimals = _decimals(column)
    if decimals is None:
        return None
    whole = int(np.abs(column.astype(np.float64)).max()) if column.size else 0
    digits = len(str(whole))
    return decimals, digits, 1 + digits + (1 + decimals if decimals else 0)


def _write_column(column: np.ndarray, layout: tuple[int, int, int], out: np.ndarray) -> None:
    """One column into ``out`` (rows x its width): sign, digits, point and fraction, padded with FILLER."""
    decimals, digits, _ = layout
    values = column.astype(np.float64)
    scaled = np.round(np.abs(values) * 10.0 ** decimals).astype(np.int64)
    whole, fraction = np.divmod(scaled, 10 ** decimals)
    out[:, 0] = np.where((values < 0) & (scaled > 0), ord("-"), FILLER)
    _digits(whole, out[:, 1:1 + digits], keep_zeros=False)
    if decimals:
        frac = out[:, 2 + digits:]
        _digits(fraction, frac, keep_zeros=True)
        for position in range(decimals):   # trailing zeros go, and the point when nothing is left
            frac[fraction % 10 ** (decimals - position) == 0, position] = FILLER
        out[:, 1 + digits] = np.where(fraction > 0, ord("."), FILLER)


def csv_bytes(labels: np.ndarray, features: np.ndarray) -> bytes:
    """Rows ``label,feature1,...`` (no header, ``\n`` line ends) for float32 labels and features."""
    rows = np.column_stack([np.asarray(labels, dtype=np.float32), np.asarray(features, dtype=np.float32)])
    if rows.shape[0] == 0:
        return b""
    layouts = [_column_layout(rows[:, j]) for j in range(rows.shape[1])]
    if any(layout is None for layout in layouts):
        return _csv_bytes_slowly(rows)
    width = sum(layout[2] for layout in layouts if layout) + len(layouts)   # a ',' or '\n' after each
    matrix = np.empty((rows.shape[0], width), dtype=np.uint8, order="F")   # each byte column contiguous
    at = 0
    for j, layout in enumerate(layouts):
        assert layout is not None
        _write_column(rows[:, j], layout, matrix[:, at:at + layout[2]])
        at += layout[2]
        matrix[:, at] = ord(",") if j < len(layouts) - 1 else ord("\n")
        at += 1
    flat = matrix.ravel(order="C")
    return flat[flat != FILLER].tobytes()


def _csv_bytes_slowly(rows: np.ndarray) -> bytes:
    line = ",".join(["%.9g"] * rows.shape[1]) + "\n"
    return "".join(line % tuple(row) for row in rows.astype(np.float64).tolist()).encode("ascii")


def shard_bounds(rows: int, shards: int) -> list[tuple[int, int]]:
    """(first, end) rows of each of ``shards`` runs of consecutive rows, as even as they come."""
    bounds = np.linspace(0, rows, shards + 1).astype(np.int64)
    return [(int(bounds[n]), int(bounds[n + 1])) for n in range(shards)]


def write_shards(labels: np.ndarray, features: np.ndarray, directory: Path, shards: int,
                 prefix: str = "part") -> list[Path]:
    """Write the rows as ``shards`` files of consecutive rows (part-00000.csv, ...), in order."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, (start, end) in enumerate(shard_bounds(labels.shape[0], shards)):
        path = directory / f"{prefix}-{number:05d}.csv"
        with path.open("wb") as out:
            for low in range(start, end, 1_000_000):
                high = min(end, low + 1_000_000)
                out.write(csv_bytes(labels[low:high], features[low:high]))
        paths.append(path)
    return paths


def read_channel(directory: Path, channel: str, limit: int) -> Dataset:
    """Every file of a channel (in name order) as one Dataset: label first, headerless, as Linear Learner reads."""
    files = sorted(p for p in Path(directory).rglob("*") if p.is_file())
    if not files:
        raise ChannelError(f"the {channel} channel has no data files")
    width: int | None = None
    table: Table | None = None
    for path in files:
        with path.open("rb") as handle:
            blocks = Blocks(handle, path.name)
            for block in blocks:
                try:
                    text = block.decode("utf-8")
                except UnicodeDecodeError:
                    raise ChannelError(f"{channel} channel file {path.name} is not UTF-8 CSV text") from None
                if width is None:
                    first = next((line for line in text.split("\n") if line.strip()), None)
                    if first is None:
                        continue
                    width = first.count(",") + 1
                    _check_first_line(first, channel, path.name)
                    table = Table(width, limit, lambda n: f"the {channel} channel has more than {n:,} rows, the "
                                  "most the local Linear Learner trains on in one process")
                assert table is not None
                rows = _rows(block, text, width, channel, path.name, blocks.lines_before)
                try:
                    table.add_columns(rows[:, 1:], rows[:, 0])   # the label first in the file
                except UsageError as exc:   # the row limit
                    raise ChannelError(exc.message) from None
    if table is None or not table.rows:
        raise ChannelError(f"the {channel} channel has no rows")
    features, labels = table.columns()
    return Dataset(features=features, labels=labels, source=f"{channel} channel ({len(files)} files)")


def _check_first_line(line: str, channel: str, name: str) -> None:
    cells = [cell.strip() for cell in line.split(",")]
    try:
        [float(cell) for cell in cells]
    except ValueError:
        raise ChannelError(f"{channel} channel file {name} line 1 is not numbers ({line[:80]!r}): Linear Learner "
                           "reads CSV without a header, the label in the first column (text/csv)") from None
    if len(cells) < 2:
        raise ChannelError(f"{channel} channel file {name} has one column: Linear Learner needs the label "
                           "first, then at least one feature")


def _rows(block: bytes, text: str, width: int, channel: str, name: str, lines_before: int) -> np.ndarray:
    # The channels this project writes are plain: checked on the bytes at once, parsed by numpy's C reader
    # from the text itself, not from a list of line strings (the parse itself is most of the read: this
    # saves about 7% of it, benchmarks/RESULTS.md).
    if plain_block(block, width):
        rows = fast_rows(io.StringIO(text), list(range(width)))
        if rows is not None:
            return rows
    text = text.replace("\r\n", "\n")
    lines = plain_lines(text, width)
    rows = fast_rows(lines, list(range(width))) if lines is not None else None
    if rows is not None:
        return rows
    values = []
    for offset, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        where = f"{channel} channel file {name} line {lines_before + offset}"
        if len(cells) != width:
            raise ChannelError(f"{where} has {len(cells)} columns, the first line {width}")
        try:
            row = [float(cell) for cell in cells]
        except ValueError:
            raise ChannelError(f"{where} is not numbers ({line[:80]!r})") from None
        if not np.isfinite(np.asarray(row, dtype=np.float32)).all():
            raise ChannelError(f"{where} has a value that is not a finite float32 ({line[:80]!r})")
        values.append(row)
    return np.asarray(values, dtype=np.float64).astype(np.float32).reshape(-1, width)
