"""RecordIO frames and the protobuf ``Record`` in them, decoded by hand: the general, bounded reader.

Why by hand: the training job reads its channels without protobuf (it is not a
dependency of the tool; the tests hold this decoder to protobuf's own parser as
the oracle), and only four messages matter (the SageMaker SDK's record.proto:
``Record``, its ``map<string, Value>`` entries, ``Value`` and the tensors).
``recordio_protobuf.py`` reads the records the SDK and this tool write without
coming here; this is for everything else, so it follows protobuf's wire rules,
not one writer's habits: fields in any order, unknown fields skipped by their
wire type, packed or unpacked repeated scalars, a message field given twice
merged, the last member of a ``oneof`` and the last entry of a map key winning.

Bounded: a record (all parts of a multi-part RecordIO record joined) is at most
``MAX_RECORD_BYTES``, a group nests at most ``MAX_DEPTH`` deep, a tensor's width
at most ``MAX_FEATURES``; varints longer than 10 bytes and lengths past their
message are refused. Every refusal is a ``RecordError`` the channel reader
places (file, record number, byte offset).

Framing (dmlc/MXNet RecordIO, as the SDK's ``_write_recordio`` writes it): a
little-endian uint32 magic 0xced7230a, a uint32 whose low 29 bits are the
length and top 3 bits a continuation flag (0 whole; 1, 2, 3 first, middle and
last part of a record MXNet's writer split where the magic occurred in its
data, the magic itself dropped between parts), the data, zero padding to 4 bytes.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
LENGTH_MASK = (1 << 29) - 1
MAX_RECORD_BYTES = 1024 * 1024     # a dense record of 6 features is 60 bytes; of MAX_FEATURES, 40 KB
MAX_FEATURES = 10_000
MAX_DEPTH = 32
SMALL_RUN = 64                      # bytes of packed varints decoded in Python rather than with numpy
FLOAT32, FLOAT64, INT32, BYTES = 2, 3, 7, 9      # Value's oneof members (record.proto)
KIND = {FLOAT32: "float32_tensor", FLOAT64: "float64_tensor", INT32: "int32_tensor", BYTES: "bytes"}


class RecordError(ValueError):
    """What is wrong with one record, and the fix; the reader adds where it is."""


class FrameError(RecordError):
    """The framing itself is broken at ``offset`` (the records after it cannot be found)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def frames(buffer: np.ndarray | bytes, offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """(byte offset, record data) of each record from ``offset`` to the end, multi-part records joined."""
    view = memoryview(buffer if isinstance(buffer, bytes) else buffer.data).cast("B")
    end = len(view)
    while offset < end:
        start = offset
        parts: list[bytes] = []
        while True:
            if end - offset < 8:
                raise FrameError(f"the file ends {end - offset} bytes into a record's 8-byte header: the object "
                                 "was cut short; write and upload it again whole", start)
            magic, lrecord = struct.unpack_from("<II", view, offset)
            if magic != MAGIC:
                raise FrameError(f"no RecordIO magic 0xced7230a at its start (found 0x{magic:08x}): the file is "
                                 "not application/x-recordio-protobuf (or is corrupt); write it as the SageMaker "
                                 "SDK's write_numpy_to_dense_tensor does, or give the channel the ContentType of "
                                 "what it holds (text/csv)", offset)
            flag, length = lrecord >> 29, lrecord & LENGTH_MASK
            if length + sum(map(len, parts)) > MAX_RECORD_BYTES:
                raise FrameError(f"its length {length:,} bytes is more than the {MAX_RECORD_BYTES:,} bytes a record "
                                 "may have here (a row of 6 features is 60): is the file recordio-protobuf?", start)
            padded = (length + 3) & ~3
            if end - offset - 8 < padded:
                raise FrameError(f"the file ends {end - offset - 8:,} bytes into a record of {length:,} bytes (and "
                                 f"{padded - length} of padding): the object was cut short; write and upload it "
                                 "again whole", start)
            data = bytes(view[offset + 8:offset + 8 + length])
            offset += 8 + padded
            if flag == 0 and not parts:
                yield start, data
                break
            if (flag == 1) != (not parts) or flag not in (1, 2, 3):
                raise FrameError(f"continuation flag {flag} out of order (a multi-part record is flagged 1, then "
                                 "2s, then 3): the file is corrupt", start)
            parts.append(data)
            if flag == 3:
                yield start, MAGIC_BYTES.join(parts)
                break


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise RecordError("a varint runs past the end of its message: the record is corrupt")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if shift == 63 and byte > 1:
                raise RecordError("a varint does not fit 64 bits: the record is corrupt")
            return value, pos
        shift += 7
        if shift > 63:
            raise RecordError("a varint is longer than 10 bytes: the record is corrupt")


def fields(data: bytes, start: int, end: int, depth: int = 0) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, start, end) of each field of a message in ``data[start:end]``; for wire
    types 0, 1 and 5 the span is the value's bytes, for 2 the payload's. Groups are skipped whole."""
    pos = start
    while pos < end:
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise RecordError("a field numbered 0: the record is corrupt")
        if wire == 0:
            first = pos
            _, pos = _varint(data, pos, end)
            yield number, wire, first, pos
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > end:
                raise RecordError("a fixed-width field runs past the end of its message: the record is corrupt")
            yield number, wire, pos, pos + size
            pos += size
        elif wire == 2:
            length, pos = _varint(data, pos, end)
            if length > end - pos:
                raise RecordError("a field's length runs past the end of its message: the record is corrupt")
            yield number, wire, pos, pos + length
            pos += length
        elif wire == 3:
            if depth >= MAX_DEPTH:
                raise RecordError(f"groups nested more than {MAX_DEPTH} deep: the record is corrupt")
            pos = _skip_group(data, pos, end, number, depth + 1)
        elif wire == 4:
            raise RecordError(f"an end-group (field {number}) with no group: the record is corrupt")
        else:
            raise RecordError(f"wire type {wire} (field {number}) is not protobuf's: the record is corrupt")


def _skip_group(data: bytes, pos: int, end: int, number: int, depth: int) -> int:
    """The position after the end-group of group ``number`` whose fields start at ``pos``."""
    while pos < end:
        key, pos = _varint(data, pos, end)
        wire = key & 7
        if wire == 4:
            if key >> 3 != number:
                raise RecordError("a group ends with another group's number: the record is corrupt")
            return pos
        if wire == 3:
            if depth >= MAX_DEPTH:
                raise RecordError(f"groups nested more than {MAX_DEPTH} deep: the record is corrupt")
            pos = _skip_group(data, pos, end, key >> 3, depth + 1)
        elif wire == 0:
            _, pos = _varint(data, pos, end)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length, pos = _varint(data, pos, end)
            pos += length
        else:
            raise RecordError(f"wire type {wire} is not protobuf's: the record is corrupt")
        if pos > end:
            raise RecordError("a field runs past the end of its message: the record is corrupt")
    raise RecordError("a group has no end: the record is corrupt")


def packed_varints(data: bytes, start: int, end: int) -> np.ndarray:
    """A packed run of varints as uint64, decoded with numpy (sparse keys may be many)."""
    if end - start <= SMALL_RUN:           # a few keys: numpy's per-call cost is more than the loop
        found = []
        while start < end:
            value, start = _varint(data, start, end)
            found.append(value)
        return np.asarray(found, dtype=np.uint64)
    raw = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    if raw[-1] >= 0x80:
        raise RecordError("a packed varint runs past the end of its field: the record is corrupt")
    ends = np.flatnonzero(raw < 0x80)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 10:
        raise RecordError("a varint is longer than 10 bytes: the record is corrupt")
    position = np.arange(raw.size) - np.repeat(starts, lengths)
    parts = (raw & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
    return np.add.reduceat(parts, starts)


def _tensor_fields(data: bytes, spans: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A Float32Tensor's values, keys and shape, each from its packed and unpacked occurrences in order."""
    values: list[np.ndarray] = []
    ints: dict[int, list[np.ndarray]] = {2: [], 3: []}
    for start, end, _ in spans:
        for field, wire, low, high in fields(data, start, end):
            if field == 1 and wire == 2:
                if (high - low) % 4:
                    raise RecordError(f"a packed float field of {high - low} bytes, not a multiple of 4: the "
                                      "record is corrupt")
                values.append(np.frombuffer(data, dtype="<f4", count=(high - low) // 4, offset=low))
            elif field == 1 and wire == 5:
                values.append(np.frombuffer(data, dtype="<f4", count=1, offset=low))
            elif field in ints and wire == 2:
                ints[field].append(packed_varints(data, low, high))
            elif field in ints and wire == 0:
                ints[field].append(np.asarray([_varint(data, low, high)[0]], dtype=np.uint64))
    return _joined(values, np.float32), _joined(ints[2], np.uint64), _joined(ints[3], np.uint64)


def _joined(parts: list[np.ndarray], kind: type) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype=kind)


def _value(data: bytes, spans: list[tuple[int, int, int]]) -> tuple[int | None, list[tuple[int, int, int]]]:
    """The oneof member a Value holds (its last one) and that member's occurrences (merged, as protobuf merges)."""
    kind: int | None = None
    members: list[tuple[int, int, int]] = []
    for start, end, _ in spans:
        for field, wire, low, high in fields(data, start, end):
            if field in KIND and wire == 2:
                if field != kind:
                    kind, members = field, []
                members.append((low, high, 0))
    return kind, members


def _map(data: bytes, entries: list[tuple[int, int]]) -> dict[bytes, list[tuple[int, int, int]]]:
    """A ``map<string, Value>``: key -> the Value's occurrences; a key given again replaces the earlier."""
    found: dict[bytes, list[tuple[int, int, int]]] = {}
    for start, end in entries:
        key = b""
        value: list[tuple[int, int, int]] = []
        for field, wire, low, high in fields(data, start, end):
            if field == 1 and wire == 2:
                key = data[low:high]
            elif field == 2 and wire == 2:
                value.append((low, high, 0))
        found[key] = value
    return found


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """A Record's ``features["values"]`` as dense float32 (a sparse tensor spread over its shape) and its
    ``label["values"]`` (None when it has none). Refused: another tensor type, a rank above 1, bad keys."""
    features: list[tuple[int, int]] = []
    labels: list[tuple[int, int]] = []
    for field, wire, low, high in fields(data, 0, len(data)):
        if wire == 2 and field in (1, 2):
            (features if field == 1 else labels).append((low, high))
    values = _map(data, features).get(b"values")
    if values is None:
        raise RecordError("it has no features[\"values\"]: Linear Learner reads each row's features from the "
                          "Record's features map under the key \"values\" (a float32_tensor)")
    dense = _tensor(data, values, "features[\"values\"]")
    label = _map(data, labels).get(b"values")
    return dense, (None if label is None else _tensor(data, label, "label[\"values\"]"))


def _tensor(data: bytes, spans: list[tuple[int, int, int]], where: str) -> np.ndarray:
    kind, members = _value(data, spans)
    if kind != FLOAT32:
        held = KIND[kind] if kind is not None else "no tensor"
        raise RecordError(f"{where} holds {held}: Linear Learner reads only float32 tensors from "
                          "application/x-recordio-protobuf; write the values as float32 (the SageMaker SDK's "
                          "write_numpy_to_dense_tensor does for a float32 array)")
    values, keys, shape = _tensor_fields(data, members)
    if keys.size == 0:
        if values.size > MAX_FEATURES:
            raise RecordError(f"{where} has {values.size:,} values, more than the {MAX_FEATURES:,} features the "
                              "local Linear Learner reads")
        return values.astype(np.float32)
    if shape.size != 1:
        raise RecordError(f"{where} is sparse (it has keys) with shape {shape.tolist()}: a sparse row needs its "
                          "width as a one-dimensional shape, e.g. shape [6]")
    width = int(shape[0])
    if width > MAX_FEATURES:
        raise RecordError(f"{where} has shape [{width:,}], more than the {MAX_FEATURES:,} features the local "
                          "Linear Learner reads")
    if keys.size != values.size:
        raise RecordError(f"{where} has {keys.size} keys for {values.size} values: a sparse tensor needs one key "
                          "per value")
    if int(keys.max()) >= width:
        raise RecordError(f"{where} has key {int(keys.max())}, outside its shape [{width}]: keys count from 0")
    dense = np.zeros(width, dtype=np.float32)
    dense[keys.astype(np.int64)] = values
    return dense
