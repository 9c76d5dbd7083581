"""Linear Learner's binary channel format, ``application/x-recordio-protobuf``: one RecordIO-framed ``Record`` a row.

Why: a CSV channel is text both ways, and at 1M rows the round trip was most of a
local job's overhead over ``train --on local`` (writing 0.55 s, the job's parse
1.8 s, benchmarks/RESULTS.md). This is the format the SageMaker SDK itself sends
Linear Learner (``LinearLearner.record_set``, ``write_numpy_to_dense_tensor``) and
the one AWS's docs call optimized: each row a protobuf ``Record`` (the SDK's
record.proto) whose ``features["values"]`` is a float32 tensor of the features
and ``label["values"]`` one of the label, framed as MXNet RecordIO (magic,
length, data, zero padding to 4 bytes), one record per row as the SDK writes.
It costs more bytes than our CSV (68 a 6-feature row against about 27).

Every row of a dense float32 matrix has the same bytes but its floats, so the
writer copies one row's template into every row and fills the float slots with
numpy (no Python loop over rows), and the reader checks in one comparison that
every record is that template (XOR, masked to the non-float bytes, on only the
32-bit words that hold such bytes) and copies the floats, as strided views,
straight into the channel's table. A file that is anything else (another writer's
field order, extra fields, sparse tensors, multi-part records) is read from its
first differing record by ``record_decode``'s general, bounded parser, and what
Linear Learner would refuse is refused naming the file, record and byte offset.
"""
from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from wildrydes_cli.errors import UsageError
from wildrydes_cli.training.channels import ChannelError
from wildrydes_cli.training.data import Dataset
from wildrydes_cli.training.record_decode import MAGIC, MAX_FEATURES, FrameError, RecordError, decode, frames
from wildrydes_cli.training.streaming import Table

CONTENT_TYPE = "application/x-recordio-protobuf"
SUFFIX = ".pbr"                   # the SDK's record_set names its objects matrix_N.pbr
CHUNK_ROWS = 262_144              # rows compared and copied at once (about 18 MB of records)
WRITE_ROWS = 16_384               # rows written at once from a block of templates (1.1 MB, in cache)
MAX_VALUES = 80_000_000           # features and labels held for one channel (320 MB of float32)


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low = number & 0x7F
        number >>= 7
        if number:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _message_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _entry(number: int, width: int) -> bytes:
    """A map entry ``"values" -> Value{float32_tensor{values: width floats}}``, its floats (zero) last."""
    tensor = _message_field(1, bytes(4 * width))              # Float32Tensor.values, packed
    value = _message_field(2, tensor)                          # Value.float32_tensor
    return _message_field(number, _message_field(1, b"values") + _message_field(2, value))


@dataclass(frozen=True)
class Template:
    """One row's record as bytes, where its floats go, and which bytes every row shares."""

    frame: np.ndarray          # uint8, the whole framed record (floats zero)
    mask: np.ndarray           # uint8, 0xFF where every row has the template's byte, 0 at the floats
    features: int              # offset of the first feature's float32
    label: int                 # offset of the label's float32
    width: int
    # The record as little-endian 32-bit words (a frame is padded to 4 bytes): the words holding a byte every
    # row shares, and those words of ``frame`` and ``mask``. Comparing only these is what the reader does per
    # row: 10 of a 6-feature row's 17 words, and a third of the work of comparing every byte.
    shared: np.ndarray
    shared_frame: np.ndarray
    shared_mask: np.ndarray

    @property
    def size(self) -> int:
        return int(self.frame.size)


@lru_cache(maxsize=16)
def template(width: int) -> Template:
    """The framed record of a row of ``width`` features (protobuf's field order, as the SDK serializes)."""
    if not 1 <= width <= MAX_FEATURES:
        raise UsageError(f"a recordio-protobuf row needs 1 to {MAX_FEATURES:,} features (got {width})")
    features = _entry(1, width)
    data = features + _entry(2, 1)
    frame = struct.pack("<II", MAGIC, len(data)) + data + bytes(-len(data) % 4)
    at_features = 8 + len(features) - 4 * width
    at_label = 8 + len(data) - 4
    mask = np.full(len(frame), 0xFF, dtype=np.uint8)
    mask[at_features:at_features + 4 * width] = 0
    mask[at_label:at_label + 4] = 0
    mask_words = mask.view("<u4")
    shared = np.flatnonzero(mask_words)
    return Template(np.frombuffer(frame, dtype=np.uint8), mask, at_features, at_label, width, shared,
                    np.frombuffer(frame, dtype="<u4")[shared], mask_words[shared])


@lru_cache(maxsize=4)
def _tiled(width: int, rows: int) -> np.ndarray:
    """``rows`` copies of the template of ``width`` features, one after another."""
    return np.tile(template(width).frame, rows)


def recordio_bytes(labels: np.ndarray, features: np.ndarray) -> bytearray:
    """Rows as framed ``Record``s (float32 features and label, bit for bit), the SDK's layout, one per row.

    Filled in blocks of rows (as 32-bit words when the floats are word-aligned) straight into the
    bytearray that is sent: no second copy of the channel (``bytes`` of it would be one).
    """
    matrix = np.ascontiguousarray(features, dtype="<f4")
    column = np.ascontiguousarray(labels, dtype="<f4").reshape(-1)
    rows = matrix.shape[0]
    if matrix.ndim != 2 or rows != column.shape[0]:
        raise ValueError(f"features of shape {matrix.shape} and {column.shape[0]} labels: one label a row")
    out = bytearray(rows * template(matrix.shape[1]).size if rows else 0)
    if not rows:
        return out
    t = template(matrix.shape[1])
    # 32-bit words when the floats fall on word boundaries (6 features do), bytes otherwise
    unit = 4 if t.features % 4 == 0 and t.label % 4 == 0 else 1
    kind = "<u4" if unit == 4 else np.uint8
    cells = np.frombuffer(out, dtype=kind).reshape(rows, t.size // unit)
    step = WRITE_ROWS
    tiled = _tiled(t.width, step).view(kind).reshape(step, -1)   # a block of templates: one memcpy a block
    first, last, label = t.features // unit, (t.features + 4 * t.width) // unit, t.label // unit
    features_cells = matrix.view(kind).reshape(rows, -1)
    label_cells = column.view(kind).reshape(rows, -1)
    for low in range(0, rows, step):
        block = cells[low:low + step]
        block[:] = tiled[:block.shape[0]]
        block[:, first:last] = features_cells[low:low + step]
        block[:, label:label + 4 // unit] = label_cells[low:low + step]
    return out


def read_recordio_channel(directory: Path, channel: str, limit: int) -> Dataset:
    """Every file of a channel (in name order) as one Dataset, as Linear Learner reads recordio-protobuf."""
    files = sorted(p for p in Path(directory).rglob("*") if p.is_file())
    if not files:
        raise ChannelError(f"the {channel} channel has no data files")
    reader = _Reader(channel, limit)
    for path in files:
        reader.read_file(path)
    if reader.table is None or not reader.table.rows:
        raise ChannelError(f"the {channel} channel has no records")
    features, labels = reader.table.columns()
    return Dataset(features=features, labels=labels, source=f"{channel} channel ({len(files)} files)")


def _places(done: int, size: int) -> Callable[[int], tuple[int, int]]:
    """(record number, byte offset) of the i-th of the records after the first ``done``, each ``size`` bytes."""
    return lambda i: (done + i + 1, (done + i) * size)


class _Reader:
    """A channel's rows, file by file: the template's fast path while it holds, the general parser after."""

    def __init__(self, channel: str, limit: int) -> None:
        self.channel = channel
        self.limit = limit
        self.table: Table | None = None
        self.first: str = ""             # where the first record was (for a width mismatch)

    def _where(self, name: str, number: int, offset: int) -> str:
        return f"{self.channel} channel file {name}, record {number:,} at byte offset {offset:,}"

    def _add(self, features: np.ndarray, labels: np.ndarray, name: str,
             place: Callable[[int], tuple[int, int]]) -> None:
        """Rows as their features and labels (views of the records are fine: copied once, into the table);
        ``place(i)`` is (record number, byte offset) of row i."""
        width = features.shape[1]
        if self.table is None:
            most = max(1, min(self.limit, MAX_VALUES // (width + 1)))
            self.table = Table(width + 1, most, lambda n: f"the {self.channel} channel has more than {n:,} rows "
                               f"of {width:,} features, the most the local Linear Learner trains on in one process")
            self.first = self._where(name, *place(0))
        elif width != self.table.width - 1:
            raise ChannelError(f"{self._where(name, *place(0))}: it has {width:,} features, but "
                               f"{self.first} had {self.table.width - 1:,}: every row needs the same features")
        if not (np.isfinite(features).all() and np.isfinite(labels).all()):   # the whole block at once first
            first = int(np.flatnonzero(~(np.isfinite(features).all(axis=1) & np.isfinite(labels)))[0])
            values = [*features[first].tolist(), float(labels[first])]
            raise ChannelError(f"{self._where(name, *place(first))}: a value is not a finite float32 "
                               f"({values[:8]}): Linear Learner trains on finite numbers only; "
                               "drop or fix the row")
        try:
            self.table.add_columns(features, labels)
        except UsageError as exc:
            raise ChannelError(exc.message) from None

    def read_file(self, path: Path) -> None:
        size = path.stat().st_size
        if size == 0:
            return
        buffer = np.asarray(np.memmap(path, dtype=np.uint8, mode="r"))   # read as needed, not held
        number, offset = self._fast(buffer, path.name)
        self._general(buffer, path.name, number, offset)

    def _fast(self, buffer: np.ndarray, name: str) -> tuple[int, int]:
        """Records read while every one is the template of the first's width: (next record number, its offset)."""
        head = buffer[:8].tobytes()
        if len(head) < 8 or struct.unpack("<I", head[:4])[0] != MAGIC:
            return 1, 0
        try:
            width = next(iter(self._decoded(buffer, name, 1, 0, once=True)))[0].shape[0] - 1
            t = template(width)
        except (ChannelError, UsageError, StopIteration):
            return 1, 0                 # the general parser says what is wrong, and where
        whole = buffer.size // t.size
        records = buffer[:whole * t.size].reshape(whole, t.size)
        words = records.view("<u4")
        done = 0
        while done < whole:
            block = records[done:done + CHUNK_ROWS]
            shared = words[done:done + CHUNK_ROWS, t.shared]    # a copy: compared in place
            shared ^= t.shared_frame
            shared &= t.shared_mask
            good = int(np.argmax(shared.any(axis=1))) if shared.any() else block.shape[0]
            if good:
                self._add(block[:good, t.features:t.features + 4 * width].view("<f4"),
                          block[:good, t.label:t.label + 4].view("<f4")[:, 0], name, _places(done, t.size))
            done += good
            if good < block.shape[0]:
                break
        return done + 1, done * t.size

    def _decoded(self, buffer: np.ndarray, name: str, number: int, offset: int,
                 once: bool = False) -> Iterator[tuple[np.ndarray, int, int]]:
        """(row, record number, offset) of each record from ``offset``, decoded by the general parser."""
        try:
            for start, data in frames(buffer, offset):
                try:
                    features, label = decode(data)
                except RecordError as exc:
                    raise ChannelError(f"{self._where(name, number, start)}: {exc}") from None
                if label is None:
                    raise ChannelError(f"{self._where(name, number, start)}: it has no label[\"values\"]: Linear "
                                       "Learner trains on labelled records; write each row's label (the SageMaker "
                                       "SDK's write_numpy_to_dense_tensor(file, features, labels))")
                if label.size != 1:
                    raise ChannelError(f"{self._where(name, number, start)}: label[\"values\"] has {label.size} "
                                       "values: Linear Learner needs one label a record")
                yield np.append(features, label).astype(np.float32), number, start
                number += 1
                if once:
                    return
        except FrameError as exc:
            raise ChannelError(f"{self._where(name, number, exc.offset)}: {exc}") from None

    def _general(self, buffer: np.ndarray, name: str, number: int, offset: int) -> None:
        batch: list[np.ndarray] = []
        places: list[tuple[int, int]] = []

        def flush() -> None:
            rows = np.vstack(batch)
            self._add(rows[:, :-1], rows[:, -1], name, list(places).__getitem__)
            batch.clear()
            places.clear()

        for row, at_number, at_offset in self._decoded(buffer, name, number, offset):
            if batch and row.shape[0] != batch[0].shape[0]:
                flush()
            batch.append(row)
            places.append((at_number, at_offset))
            if len(batch) >= 4096:
                flush()
        if batch:
            flush()
