"""The SageMaker SDK's record.proto as protobuf message classes, built at test time from a FileDescriptorProto.

The oracle for ``training/recordio_protobuf.py`` and ``training/record_decode.py``: no protoc and no
generated module checked in. The schema is record.proto's (package aialgs.data, proto2): tensors with
packed ``values``/``keys``/``shape``, ``Value`` a oneof of them, ``Record`` two ``map<string, Value>``
(features, label) and three strings. ``messages(packed=False)`` is the same schema with unpacked
repeated fields, to write what another (older) writer may send: a parser must read both encodings.
"""
from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any

import pytest

pytest.importorskip("google.protobuf")

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

F = descriptor_pb2.FieldDescriptorProto
PACKAGE = "aialgs.data"


def _field(message: Any, name: str, number: int, kind: int, label: int = F.LABEL_OPTIONAL,
           type_name: str = "", packed: bool | None = None, oneof: int | None = None) -> None:
    field = message.field.add(name=name, number=number, type=kind, label=label)
    if type_name:
        field.type_name = f".{PACKAGE}.{type_name}"
    if packed is not None:
        field.options.packed = packed
    if oneof is not None:
        field.oneof_index = oneof


@lru_cache(maxsize=2)
def messages(packed: bool = True) -> dict[str, Any]:
    """Message classes of record.proto: Float32Tensor, Float64Tensor, Int32Tensor, Bytes, Value, Record."""
    proto = descriptor_pb2.FileDescriptorProto(name=f"record{'' if packed else '_unpacked'}.proto",
                                               package=PACKAGE, syntax="proto2")
    for name, kind in (("Float32Tensor", F.TYPE_FLOAT), ("Float64Tensor", F.TYPE_DOUBLE),
                       ("Int32Tensor", F.TYPE_INT32)):
        tensor = proto.message_type.add(name=name)
        _field(tensor, "values", 1, kind, F.LABEL_REPEATED, packed=packed)
        _field(tensor, "keys", 2, F.TYPE_UINT64, F.LABEL_REPEATED, packed=packed)
        _field(tensor, "shape", 3, F.TYPE_UINT64, F.LABEL_REPEATED, packed=packed)
    blob = proto.message_type.add(name="Bytes")
    _field(blob, "value", 1, F.TYPE_BYTES, F.LABEL_REPEATED)
    _field(blob, "content_type", 2, F.TYPE_STRING)
    value = proto.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    for name, number, type_name in (("float32_tensor", 2, "Float32Tensor"), ("float64_tensor", 3, "Float64Tensor"),
                                    ("int32_tensor", 7, "Int32Tensor"), ("bytes", 9, "Bytes")):
        _field(value, name, number, F.TYPE_MESSAGE, type_name=type_name, oneof=0)
    record = proto.message_type.add(name="Record")
    for name, number, entry in (("features", 1, "FeaturesEntry"), ("label", 2, "LabelEntry")):
        nested = record.nested_type.add(name=entry)
        nested.options.map_entry = True
        _field(nested, "key", 1, F.TYPE_STRING)
        _field(nested, "value", 2, F.TYPE_MESSAGE, type_name="Value")
        _field(record, name, number, F.TYPE_MESSAGE, F.LABEL_REPEATED, type_name=f"Record.{entry}")
    for name, number in (("uid", 3), ("metadata", 4), ("configuration", 5)):
        _field(record, name, number, F.TYPE_STRING)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
            for name in ("Float32Tensor", "Float64Tensor", "Int32Tensor", "Bytes", "Value", "Record")}


def frame(data: bytes) -> bytes:
    """One RecordIO record as the SDK's _write_recordio frames it: magic, length, data, zero padding."""
    return struct.pack("<II", 0xCED7230A, len(data)) + data + bytes(-len(data) % 4)


def unframe(stream: bytes) -> list[bytes]:
    """The records of a stream of whole, single-part records (the SDK's framing, read independently)."""
    found, at = [], 0
    while at < len(stream):
        magic, length = struct.unpack_from("<II", stream, at)
        assert magic == 0xCED7230A and length >> 29 == 0
        found.append(stream[at + 8:at + 8 + length])
        at += 8 + length + (-length % 4)
    return found


def sdk_record(features: Any, label: Any | None) -> Any:
    """A Record as write_numpy_to_dense_tensor fills it for a float32 row (and its label)."""
    record = messages()["Record"]()
    record.features["values"].float32_tensor.values.extend(features)
    if label is not None:
        record.label["values"].float32_tensor.values.extend([label])
    return record
