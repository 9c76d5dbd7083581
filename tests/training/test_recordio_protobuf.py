"""The recordio-protobuf channel writer and reader against protobuf itself (record.proto built at test time)
and against MXNet's RecordIO: the bytes the SageMaker SDK writes, read back as protobuf says."""
from __future__ import annotations

import numpy as np
import pytest
from record_proto import frame, messages, sdk_record, unframe

from wildrydes_cli.training.channels import ChannelError
from wildrydes_cli.training.record_decode import MAGIC, FrameError, RecordError, decode, frames
from wildrydes_cli.training.recordio_protobuf import read_recordio_channel, recordio_bytes, template

# float32 values whose bits must survive: signed zeros, infinities, the smallest subnormals, the largest
# finite, a quiet NaN with a payload
SPECIAL = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x00000001, 0x807FFFFF, 0x7F7FFFFF,
                    0x7FC12345], dtype=np.uint32).view(np.float32)


def rides(rows: int, width: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = (rng.standard_normal((rows, width)) * 10.0 ** rng.integers(-3, 4, (rows, width))).astype(np.float32)
    return (rng.random(rows) > 0.5).astype(np.float32), features


def bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def channel(tmp_path, *objects: bytes):
    for number, body in enumerate(objects):
        (tmp_path / f"part-{number:05d}.pbr").write_bytes(body)
    return read_recordio_channel(tmp_path, "train", 10_000_000)


@pytest.mark.parametrize("width", [1, 6, 31, 32, 33, 300])
def test_the_writer_writes_exactly_the_sdks_bytes(width):
    """write_numpy_to_dense_tensor: a Record per row, float32 features and label under "values", framed."""
    labels, features = rides(50, width, seed=width)
    expected = b"".join(frame(sdk_record(row, label).SerializeToString()) for row, label in zip(features, labels))
    assert bytes(recordio_bytes(labels, features)) == expected


def test_every_value_parses_with_protobuf_bit_for_bit_including_special_floats():
    features = np.resize(SPECIAL, (len(SPECIAL) * 2, 6)).astype(np.float32)
    features[::3] = np.roll(features[::3], 1)
    labels = np.resize(SPECIAL, features.shape[0])
    records = [messages()["Record"].FromString(data) for data in unframe(bytes(recordio_bytes(labels, features)))]
    assert len(records) == features.shape[0]
    for record, row, label in zip(records, features, labels):
        assert set(record.features) == {"values"} and set(record.label) == {"values"}
        assert record.features["values"].WhichOneof("value") == "float32_tensor"
        assert np.array_equal(bits(record.features["values"].float32_tensor.values), bits(row))
        assert np.array_equal(bits(record.label["values"].float32_tensor.values), bits([label]))


def test_a_6_feature_ride_is_68_bytes():
    """docs/training.md and --help: about 68 bytes a ride in recordio-protobuf."""
    labels, features = rides(1000)
    assert template(6).size == 68 and len(recordio_bytes(labels, features)) == 68 * 1000


def test_the_reader_gives_back_what_was_written_over_several_objects(tmp_path):
    labels, features = rides(3000)
    read = channel(tmp_path, recordio_bytes(labels[:1000], features[:1000]), b"",
                   recordio_bytes(labels[1000:], features[1000:]))
    assert np.array_equal(bits(read.features), bits(features)) and np.array_equal(read.labels, labels)


def _expected(record) -> tuple[np.ndarray, float]:
    """What protobuf says a Record holds: its features dense (sparse spread over its shape) and its label."""
    tensor = record.features["values"].float32_tensor
    values = np.asarray(tensor.values, dtype=np.float32)
    if len(tensor.keys):
        dense = np.zeros(tensor.shape[0], dtype=np.float32)
        dense[np.asarray(tensor.keys, dtype=np.int64)] = values
        values = dense
    return values, record.label["values"].float32_tensor.values[0]


def _variants() -> list[bytes]:
    """Records protobuf writes (or accepts) that the reader's fast path does not expect."""
    record_type = messages()["Record"]
    unpacked = messages(packed=False)["Record"]
    found = []
    plain = sdk_record([1.5, -2.0, 3.25, 0.0, 7.0, 1e-3], 1.0)
    features_only = record_type()
    features_only.features["values"].float32_tensor.values.extend([4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    label_only = record_type()
    label_only.label["values"].float32_tensor.values.append(0.0)
    found.append(label_only.SerializeToString() + features_only.SerializeToString())    # label first
    extra = sdk_record([2.0] * 6, 1.0)
    extra.uid, extra.metadata, extra.configuration = "ride-1", '{"source": "test"}', "{}"
    extra.features["other"].float64_tensor.values.extend([9.0, 9.0])                   # another key: ignored
    extra.label["weight"].int32_tensor.values.append(3)
    found.append(extra.SerializeToString() + b"\xa8\x06\x96\x01" + b"\xf5\x3e\x00\x00\x80\x3f")  # unknown 101, 999
    sparse = record_type()
    sparse.features["values"].float32_tensor.values.extend([3.0, -1.0])
    sparse.features["values"].float32_tensor.keys.extend([5, 1])
    sparse.features["values"].float32_tensor.shape.append(6)
    sparse.label["values"].float32_tensor.values.append(1.0)
    found.append(sparse.SerializeToString())
    loose = unpacked()
    loose.features["values"].float32_tensor.values.extend([0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
    loose.label["values"].float32_tensor.values.append(1.0)
    found.append(loose.SerializeToString())                                               # unpacked floats
    twice = sdk_record([1.0] * 6, 0.0).SerializeToString() + sdk_record([2.0] * 6, 1.0).SerializeToString()
    found.append(twice)                                                                   # a key again: last wins
    switched = record_type()
    switched.features["values"].float64_tensor.values.extend([1.0] * 6)
    merged = switched.SerializeToString() + plain.SerializeToString()                     # the oneof's last member
    found.append(merged)
    value = messages()["Value"]
    tensor = messages()["Float32Tensor"]
    halves = (value(float32_tensor=tensor(values=[1.0, 2.0, 3.0])).SerializeToString()
              + value(float32_tensor=tensor(values=[4.0, 5.0, 6.0])).SerializeToString())   # one Value, given twice
    entry = b"\x0a\x06values\x12" + bytes([len(halves)]) + halves
    found.append(b"\x0a" + bytes([len(entry)]) + entry + label_only.SerializeToString())  # merged: values concatenate
    return found


@pytest.mark.parametrize("data", _variants(), ids=["label-first", "extra-fields", "sparse", "unpacked",
                                                   "key-twice", "oneof-switch", "merged-values"])
def test_records_the_fast_path_does_not_expect_are_read_as_protobuf_reads_them(tmp_path, data):
    features, label = _expected(messages()["Record"].FromString(data))
    mine, my_label = decode(data)
    assert np.array_equal(bits(mine), bits(features)) and my_label is not None and my_label[0] == label
    read = channel(tmp_path, recordio_bytes(np.ones(3, np.float32), np.ones((3, 6), np.float32)) + frame(data))
    assert read.rows == 4 and np.array_equal(bits(read.features[3]), bits(features)) and read.labels[3] == label


def _read_by_the_general_parser(body: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """The channel as record_decode's parser alone reads it (checked against protobuf above), None where it
    refuses a record."""
    features, labels = [], []
    try:
        for _, data in frames(body):
            row, label = decode(data)
            if label is None or label.size != 1:
                return None
            features.append(row)
            labels.append(label[0])
    except (FrameError, RecordError):
        return None
    if len({row.size for row in features}) != 1:
        return None
    return np.asarray(features, np.float32), np.asarray(labels, np.float32)


@pytest.mark.parametrize("width", [1, 6, 33])
def test_a_record_with_any_byte_but_its_floats_changed_leaves_the_fast_path(tmp_path, width):
    """The fast path compares each record with the template on the bytes every row shares (32-bit words at a
    time): a change to any one of them, in any record, is read as the general parser reads it, or refused."""
    labels, features = rides(3, width, seed=width)
    original = bytes(recordio_bytes(labels, features))
    t = template(width)
    shared = [at for at in range(t.size) if t.mask[at]]
    assert len(shared) == t.size - 4 * (width + 1)
    for record in range(3):
        for at in shared:
            body = bytearray(original)
            body[record * t.size + at] ^= 0x01
            (tmp_path / "part-00000.pbr").write_bytes(body)
            expected = _read_by_the_general_parser(bytes(body))
            try:
                read = read_recordio_channel(tmp_path, "train", 10_000_000)
            except ChannelError:
                assert expected is None, (record, at)
                continue
            assert expected is not None, (record, at)
            assert np.array_equal(bits(read.features), bits(expected[0])), (record, at)
            assert np.array_equal(bits(read.labels), bits(expected[1])), (record, at)


def test_a_file_that_switches_format_midway_is_read_whole(tmp_path):
    labels, features = rides(5000)
    sparse = _variants()[2]
    body = bytes(recordio_bytes(labels[:4000], features[:4000])) + frame(sparse) + bytes(
        recordio_bytes(labels[4000:], features[4000:]))
    read = channel(tmp_path, body)
    assert read.rows == 5001
    assert np.array_equal(bits(read.features[:4000]), bits(features[:4000]))
    assert np.array_equal(bits(read.features[4001:]), bits(features[4000:]))
    assert np.array_equal(read.features[4000], [0.0, -1.0, 0.0, 0.0, 0.0, 3.0])


@pytest.fixture()
def mxnet_recordio():
    return pytest.importorskip("mxnet.recordio")


def test_the_framing_is_mxnets_recordio(tmp_path, mxnet_recordio):
    labels, features = rides(200)
    ours = bytes(recordio_bytes(labels, features))
    writer = mxnet_recordio.MXRecordIO(str(tmp_path / "mx.rec"), "w")
    for data in unframe(ours):
        writer.write(data)
    writer.close()
    assert (tmp_path / "mx.rec").read_bytes() == ours
    reader = mxnet_recordio.MXRecordIO(str(tmp_path / "mx.rec"), "r")
    assert [reader.read() for _ in range(200)] == unframe(ours) and reader.read() is None
    reader.close()


def test_a_record_mxnet_split_at_the_magic_is_joined(tmp_path, mxnet_recordio):
    """MXNet's writer splits a record where its data holds the magic at a 4-byte boundary (continuation
    flags 1..3, the magic dropped between parts); the SDK's does not. Both are read as the same record."""
    magic_float = np.array([MAGIC], dtype=np.uint32).view(np.float32)[0]
    features = np.full((2, 6), magic_float, dtype=np.float32)
    features[1, 2] = 1.0
    ours = bytes(recordio_bytes(np.array([1.0, 0.0], np.float32), features))
    writer = mxnet_recordio.MXRecordIO(str(tmp_path / "mx.rec"), "w")
    for data in unframe(ours):
        writer.write(data)
    writer.close()
    split = (tmp_path / "mx.rec").read_bytes()
    assert split != ours                                     # MXNet wrote parts, without the inner magics
    assert [data for _, data in frames(split)] == unframe(ours)
    assert np.array_equal(bits(decode(unframe(ours)[0])[0]), bits(features[0]))


def test_protobufs_own_parser_and_the_fast_path_agree_on_a_million_bytes_of_random_rides(tmp_path):
    labels, features = rides(20_000, seed=7)
    body = bytes(recordio_bytes(labels, features))
    read = channel(tmp_path, body)
    parsed = [messages()["Record"].FromString(data) for data in unframe(body)[::997]]
    for index, record in zip(range(0, 20_000, 997), parsed):
        assert np.array_equal(bits(record.features["values"].float32_tensor.values), bits(read.features[index]))


def test_the_guide_and_help_state_the_bytes_a_ride_as_measured():
    """docs/training.md's table and `train --help`: 68 bytes a ride in recordio-protobuf, about 27 in CSV
    (synthetic rides, as the job writes them), 2.5 times the bytes."""
    from pathlib import Path

    from wildrydes_cli.cli.train_commands import train_cmd
    from wildrydes_cli.training.channels import csv_bytes
    from wildrydes_cli.training.synthetic import generate_rides

    rides = generate_rides(50_000, seed=3)
    csv_per_ride = len(csv_bytes(rides.labels, rides.features)) / rides.rows
    pbr_per_ride = len(recordio_bytes(rides.labels, rides.features)) / rides.rows
    assert pbr_per_ride == 68 and round(csv_per_ride) == 27 and round(pbr_per_ride / csv_per_ride, 1) == 2.5
    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text().split())
    assert "RecordIO-framed | 68 |" in text and "the workshop's format | about 27 |" in text
    assert "It is 2.5 times the bytes of CSV" in text
    option = next(o for o in train_cmd.params if o.name == "content_type")
    assert option.default == "recordio-protobuf"
    assert "about 68 bytes a ride" in option.help and "about 27 bytes a ride" in option.help


def test_any_record_protobuf_writes_decodes_as_protobuf_parses_it():
    """Random Records (dense or sparse, packed or not, extra keys, uid/metadata, any float32 bits) serialized by
    protobuf: the general decoder gives what protobuf parses, bit for bit."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    floats = st.integers(0, 2**32 - 1).map(lambda b: float(np.array([b], np.uint32).view(np.float32)[0]))

    @st.composite
    def records(draw):
        record = messages(packed=draw(st.booleans()))["Record"]()
        values = draw(st.lists(floats, min_size=1, max_size=40))
        tensor = record.features["values"].float32_tensor
        tensor.values.extend(values)
        if draw(st.booleans()):
            width = draw(st.integers(len(values), 200))
            tensor.keys.extend(draw(st.lists(st.integers(0, width - 1), min_size=len(values), max_size=len(values),
                                             unique=True)))
            tensor.shape.append(width)
        if draw(st.booleans()):
            record.label["values"].float32_tensor.values.append(draw(floats))
        if draw(st.booleans()):
            record.features["extra"].int32_tensor.values.extend(draw(st.lists(st.integers(-2**31, 2**31 - 1))))
            record.uid, record.metadata = draw(st.text(max_size=20)), draw(st.text(max_size=20))
        return record

    @settings(max_examples=150, deadline=None)
    @given(records())
    def check(record):
        data = record.SerializeToString()
        parsed = messages()["Record"].FromString(data)
        features, label = decode(data)
        assert np.array_equal(bits(features), bits(_expected_features(parsed)))
        if "values" in parsed.label:
            assert label is not None and np.array_equal(bits(label), bits(parsed.label["values"].float32_tensor.values))
        else:
            assert label is None

    check()


def _expected_features(record) -> np.ndarray:
    tensor = record.features["values"].float32_tensor
    values = np.asarray(tensor.values, dtype=np.float32)
    if len(tensor.keys):
        dense = np.zeros(tensor.shape[0], dtype=np.float32)
        dense[np.asarray(tensor.keys, dtype=np.int64)] = values
        return dense
    return values
