"""Read a table of rides in bounded memory: blocks of whole lines in, float32 rows out.

Why: ``--data`` used to hold every ride as a list of Python floats (a 200 MB CSV
took 3 GB resident, a 2 GB one ended in MemoryError), and sniffing its format
opened the file twice, so a FIFO hung. Here a file is opened once and read in
blocks of whole lines (a line longer than ``MAX_LINE_CHARS`` is refused before
more of it is held); each block is parsed by numpy's C reader into float32
when it is plain (no quotes, every line the header's width, finite numbers)
and by the caller's precise row-by-row reader otherwise, which names the file,
row, column and value at fault. Rows accumulate in ``Table`` up to a limit
that bounds memory, and the limit is refused with the file's size, not
discovered as a MemoryError.
"""
from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np

from wildrydes_cli.errors import UsageError

LOG = logging.getLogger(__name__)

BLOCK_BYTES = 4 * 1024 * 1024
# The user's table (training/data.py) in smaller blocks: a block's parsing holds several times
# its size (its text, the lines, float64 values), and beside a million rows 512 KiB keeps that
# small (the reader's peak on 1M rows: 1.34x the rows, 1.47x with 1 MiB blocks, 2.13x with
# 4 MiB; benchmarks/RESULTS.md) at the same speed. A training job's channels keep BLOCK_BYTES,
# measured about 5% faster there (its process holds nothing else).
TABLE_BLOCK_BYTES = 512 * 1024
MAX_LINE_CHARS = 1024 * 1024   # a ride is under 200 characters; /dev/zero or a binary file has no line end
ROW_BYTES = 7 * 4              # six float32 features and a float32 label


class Blocks:
    """Whole lines of a binary stream, a block at a time; ``first`` is what a sniffer already read.

    A block never ends inside a quoted CSV field (an odd count of ``"`` before a
    line end is not a row's end), so a row is always parsed from one block.
    """

    def __init__(self, handle: BinaryIO, name: str, first: bytes = b"", block_bytes: int | None = None) -> None:
        self.handle = handle
        self.name = name
        self.pending = first
        self.block_bytes = block_bytes or BLOCK_BYTES
        self.lines_before = 0     # lines in the blocks already handed out (for line numbers)
        self.bytes_read = len(first)

    def _fill(self) -> bool:
        data = self.handle.read(self.block_bytes)
        if not data:
            return False
        self.bytes_read += len(data)
        self.pending += data
        return True

    def __iter__(self) -> Iterator[bytes]:
        more = True
        while True:
            cut = self._cut()
            while cut < 0 and more:
                more = self._fill()
                cut = self._cut()
            if cut < 0:     # the end: what is left is the last line, without its line end
                if not self.pending:
                    return
                cut = len(self.pending)
            block, self.pending = self.pending[:cut], self.pending[cut:]
            yield block
            self.lines_before += block.count(b"\n")

    def _cut(self) -> int:
        """Where the next block ends (just after a line end), or -1 when more must be read first."""
        pending = self.pending
        end = pending.rfind(b"\n")
        while end >= 0 and pending.count(b'"', 0, end) % 2:
            end = pending.rfind(b"\n", 0, end)   # inside a quoted field: an earlier line end
        if len(pending) - (end + 1) > MAX_LINE_CHARS:
            self._too_long()
        if end < 0:
            return -1
        ends = np.flatnonzero(np.frombuffer(pending, dtype=np.uint8, count=end + 1) == 10)
        if ends.size and int(np.diff(ends, prepend=-1).max()) - 1 > MAX_LINE_CHARS:
            self._too_long()
        return end + 1

    def _too_long(self) -> None:
        raise UsageError(f"{self.name} has a line longer than {MAX_LINE_CHARS // 1024} KiB; expected rides of "
                         "a few numbers per line (is it the right file?)")


def plain_lines(text: str, width: int) -> list[str] | None:
    """The block's lines when every one has exactly ``width`` fields and no quotes, else None."""
    if '"' in text or "\r" in text:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    commas = width - 1
    for line in lines:
        if line.count(",") != commas:
            return None   # a blank line, or a row of another width: the precise reader says which
    return lines


def plain_block(data: bytes, width: int) -> bool:
    """Whether every line of ``data`` has exactly ``width`` fields of number characters (digits, sign, point,
    exponent; no quotes, no ``\r``, no blank line): what ``plain_lines`` checks, with whole-array operations
    on the bytes instead of a Python loop over the lines (about 7x faster on a channel of a million rides)."""
    u = np.frombuffer(data, dtype=np.uint8)
    if u.size == 0:
        return True
    allowed = _NUMBER_BYTES[u]
    if not allowed.all():
        return False
    lines = np.flatnonzero(u == 10)
    if u[-1] != 10:
        lines = np.append(lines, u.size)
    commas = np.searchsorted(np.flatnonzero(u == 44), lines)   # commas before each line end
    per_line = np.diff(commas, prepend=0)
    return bool((per_line == width - 1).all()) and bool((np.diff(lines, prepend=-1) > 1).all())


_NUMBER_BYTES = np.zeros(256, dtype=bool)
_NUMBER_BYTES[np.frombuffer(b"0123456789+-.eE,\n", dtype=np.uint8)] = True


def fast_rows(lines: list[str] | io.StringIO, columns: list[int], converters: dict | None = None) -> np.ndarray | None:
    """``lines`` (or a text of them) parsed by numpy's C reader into float32 (rows x len(columns)); None
    when any value is not a finite number (the precise reader then finds and names it)."""
    if isinstance(lines, list) and not lines:
        return np.empty((0, len(columns)), dtype=np.float32)
    try:
        values = np.loadtxt(lines, delimiter=",", usecols=columns, dtype=np.float64, converters=converters,
                            ndmin=2, comments=None, quotechar=None)
    except (ValueError, TypeError):
        return None
    if not np.isfinite(values).all():
        return None
    rows = values.astype(np.float32)
    if not np.isfinite(rows).all():      # finite as float64, but beyond float32's range
        return None
    return rows


class Table:
    """Rows of (features..., label) as float32, grown block by block, at most ``limit`` rows.

    Each block is copied into two growing arrays (features, labels) and freed. They
    grow by a quarter with ``ndarray.resize`` (``realloc``: for arrays this large the C
    library moves pages instead of copying them, so old and new are not both held)
    and are cut to the rows read at the end: the peak is the table plus at most a
    quarter, and one block's parsing, not the blocks and the joined table at once
    (``benchmarks/bench_evaluate.py`` measures it).
    """

    GROWTH = 1.25
    FIRST_ROWS = 65_536

    def __init__(self, width: int, limit: int, too_many: Callable[[int], str]) -> None:
        self.width = width
        self.limit = limit
        self.too_many = too_many
        self.rows = 0
        self._features = np.empty((0, width - 1), dtype=np.float32)
        self._labels = np.empty(0, dtype=np.float32)

    def _reserve(self, rows: int) -> None:
        capacity = self._labels.shape[0]
        if rows <= capacity:
            return
        capacity = min(self.limit, max(rows, int(capacity * self.GROWTH), self.FIRST_ROWS))
        self._features.resize((capacity, self.width - 1), refcheck=False)   # no views of them exist
        self._labels.resize(capacity, refcheck=False)

    def add(self, rows: np.ndarray) -> None:
        """Rows of (features..., label)."""
        self.add_columns(rows[:, :self.width - 1], rows[:, self.width - 1])

    def add_columns(self, features: np.ndarray, labels: np.ndarray) -> None:
        """Rows given as their features (rows x width-1) and labels, each copied once, straight from the
        reader's views (a recordio channel's records, a CSV block's label column)."""
        n = labels.shape[0]
        if n == 0:
            return
        if self.rows + n > self.limit:
            raise UsageError(self.too_many(self.limit))
        self._reserve(self.rows + n)
        self._features[self.rows:self.rows + n] = features
        self._labels[self.rows:self.rows + n] = labels
        self.rows += n

    def add_values(self, values: list[list[float]]) -> None:
        if values:
            self.add(np.asarray(values, dtype=np.float64).astype(np.float32))

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """(features rows x width-1, labels) as contiguous float32 arrays, cut to the rows read."""
        features, labels = self._features, self._labels
        self._features = np.empty((0, self.width - 1), dtype=np.float32)
        self._labels = np.empty(0, dtype=np.float32)
        features.resize((self.rows, self.width - 1), refcheck=False)
        labels.resize(self.rows, refcheck=False)
        return features, labels


def size_of(handle: BinaryIO) -> int | None:
    """The file's size when it is a regular file (a FIFO or a terminal has none)."""
    try:
        stat = os.fstat(handle.fileno())
    except (OSError, io.UnsupportedOperation, AttributeError):
        return None
    import stat as stat_module
    return stat.st_size if stat_module.S_ISREG(stat.st_mode) else None


def describe_size(size: int | None) -> str:
    if size is None:
        return "a stream"
    if size >= 1e9:
        return f"{size / 1e9:.1f} GB"
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size:,} bytes"
