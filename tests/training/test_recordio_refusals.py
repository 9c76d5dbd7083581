"""What the recordio-protobuf reader refuses, and how: each refusal names the file, the record number, its
byte offset and the fix; hostile bytes end in a ChannelError, in bounded time, never a hang or a traceback."""
from __future__ import annotations

import json
import struct
import time

import numpy as np
import pytest
from record_proto import frame, messages, sdk_record

from wildrydes_cli.training import algorithm
from wildrydes_cli.training.channels import ChannelError, csv_bytes
from wildrydes_cli.training.mxnet_trainer import split
from wildrydes_cli.training.recordio_protobuf import read_recordio_channel, recordio_bytes
from wildrydes_cli.training.synthetic import generate_rides

GOOD = bytes(recordio_bytes(np.ones(2, np.float32), np.ones((2, 6), np.float32)))   # records 1-2, 136 bytes


def refusal(tmp_path, *objects: bytes, limit: int = 10_000_000) -> str:
    for number, body in enumerate(objects):
        (tmp_path / f"part-{number:05d}.pbr").write_bytes(body)
    with pytest.raises(ChannelError) as caught:
        read_recordio_channel(tmp_path, "train", limit)
    return str(caught.value)


def record(kind: str = "float32", label: bool = True, **tensor) -> bytes:
    message = messages()["Record"]()
    getattr(message.features["values"], f"{kind}_tensor").values.extend([1, 2, 3, 4, 5, 6])
    for name, value in tensor.items():
        getattr(message.features["values"].float32_tensor, name).extend(value)
    if label:
        message.label["values"].float32_tensor.values.append(1.0)
    return message.SerializeToString()


def int32_label() -> bytes:
    message = sdk_record([1.0] * 6, None)
    message.label["values"].int32_tensor.values.append(1)
    return message.SerializeToString()


def two_labels() -> bytes:
    message = sdk_record([1.0] * 6, 1.0)
    message.label["values"].float32_tensor.values.append(0.0)
    return message.SerializeToString()


@pytest.mark.parametrize("data, says", [
    (record("float64"), 'features["values"] holds float64_tensor: Linear Learner reads only float32 tensors from '
                        "application/x-recordio-protobuf; write the values as float32"),
    (record("int32"), 'features["values"] holds int32_tensor'),
    (int32_label(), 'label["values"] holds int32_tensor'),
    (record(label=False), 'it has no label["values"]: Linear Learner trains on labelled records'),
    (messages()["Record"](label={"values": messages()["Value"](float32_tensor=messages()["Float32Tensor"](
        values=[1.0]))}).SerializeToString(), 'it has no features["values"]: Linear Learner reads each row'),
    (two_labels(), 'label["values"] has 2 values: Linear Learner needs one label a record'),
    (record(keys=[0, 1, 2, 3, 4, 5]), "is sparse (it has keys) with shape []: a sparse row needs its width"),
    (record(keys=[0, 1, 2, 3, 4, 9], shape=[6]), "has key 9, outside its shape [6]"),
    (record(keys=[0, 1], shape=[6]), "has 2 keys for 6 values"),
    (record(keys=[0, 1, 2, 3, 4, 5], shape=[20_000]), "more than the 10,000 features"),
    (b"\x0a\x80", "a varint runs past the end of its message"),
    (b"\x0a\x10\x0a", "a field's length runs past the end of its message"),
    (b"\x0b\x0b\x0b", "a group has no end"),
    (b"\x0f", "wire type 7 (field 1) is not protobuf's"),
    (b"\x08" + b"\xff" * 11, "a varint is longer than 10 bytes"),
])
def test_a_record_linear_learner_refuses_is_named_with_its_place_and_fix(tmp_path, data, says):
    message = refusal(tmp_path, GOOD + frame(data))
    assert message.startswith("train channel file part-00000.pbr, record 3 at byte offset 136: "), message
    assert says in message, message


def test_a_sparse_record_of_another_width_names_both_records(tmp_path):
    message = refusal(tmp_path, GOOD, frame(record(keys=[0, 1, 2, 3, 4, 5], shape=[7])))
    assert ("train channel file part-00001.pbr, record 1 at byte offset 0: it has 7 features, but train channel "
            "file part-00000.pbr, record 1 at byte offset 0 had 6: every row needs the same features") in message


def test_a_csv_file_is_not_recordio_and_the_fix_names_the_content_type(tmp_path):
    rides = generate_rides(10, seed=1)
    message = refusal(tmp_path, csv_bytes(rides.labels, rides.features))
    assert message.startswith("train channel file part-00000.pbr, record 1 at byte offset 0: no RecordIO magic "
                              "0xced7230a at its start (found 0x"), message
    assert "give the channel the ContentType of what it holds (text/csv)" in message


@pytest.mark.parametrize("cut, says", [
    (20, "record 2 at byte offset 68: the file ends 40 bytes into a record of 60 bytes"),
    (65, "record 2 at byte offset 68: the file ends 3 bytes into a record's 8-byte header"),
])
def test_a_torn_last_record_is_refused_and_says_to_upload_again(tmp_path, cut, says):
    message = refusal(tmp_path, GOOD[:-cut])
    assert says in message and "the object was cut short; write and upload it again whole" in message, message


def test_a_record_longer_than_the_bound_is_refused_before_it_is_read(tmp_path):
    message = refusal(tmp_path, GOOD + struct.pack("<II", 0xCED7230A, (1 << 29) - 1) + b"\0" * 64)
    assert ("record 3 at byte offset 136: its length 536,870,911 bytes is more than the 1,048,576 bytes a record "
            "may have here") in message


@pytest.mark.parametrize("flags", [[2, 3], [1, 0], [1, 1]])
def test_continuation_flags_out_of_order_are_refused(tmp_path, flags):
    parts = b"".join(struct.pack("<II", 0xCED7230A, flag << 29 | 4) + b"\x0a\x00\x0a\x00" for flag in flags)
    assert "continuation flag" in refusal(tmp_path, GOOD + parts + GOOD)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_value_that_is_not_finite_is_refused_as_the_csv_reader_refuses_it(tmp_path, value):
    features = np.ones((5, 6), np.float32)
    features[3, 2] = value
    message = refusal(tmp_path, recordio_bytes(np.ones(5, np.float32), features))
    assert "record 4 at byte offset 204: a value is not a finite float32" in message, message
    assert "Linear Learner trains on finite numbers only" in message


def test_more_rows_than_the_limit_are_refused_with_the_limit(tmp_path):
    message = refusal(tmp_path, recordio_bytes(np.ones(50, np.float32), np.ones((50, 6), np.float32)), limit=20)
    assert "the train channel has more than 20 rows of 6 features" in message


def test_hostile_bytes_end_in_a_channel_error_or_rows_quickly(tmp_path):
    """Mutated and random files: every outcome is rows or a placed ChannelError, each in well under a second."""
    rng = np.random.default_rng(21)
    base = np.frombuffer(bytes(recordio_bytes(np.ones(40, np.float32), rng.random((40, 6), np.float32))), np.uint8)
    for attempt in range(400):
        body = base.copy()
        if attempt % 4 == 3:
            body = rng.integers(0, 256, rng.integers(1, 3000), dtype=np.uint8)
            body[:4] = np.frombuffer(struct.pack("<I", 0xCED7230A), np.uint8)
        else:
            at = rng.integers(0, body.size, rng.integers(1, 6))
            body[at] = rng.integers(0, 256, at.size, dtype=np.uint8)
        path = tmp_path / "part-00000.pbr"
        path.write_bytes(body.tobytes())
        started = time.monotonic()
        try:
            read = read_recordio_channel(tmp_path, "train", 10_000)
            assert read.rows >= 1
        except ChannelError as exc:
            assert "train channel file part-00000.pbr, record " in str(exc)
        assert time.monotonic() - started < 2.0


def test_the_job_reads_recordio_channels_and_fails_a_bad_one_with_a_client_error(tmp_path):
    root = tmp_path / "opt-ml"
    (root / "input" / "config").mkdir(parents=True)
    rides = generate_rides(2000, seed=0)
    train_idx, valid_idx = split(rides.rows, 0)
    for name, index in (("train", train_idx), ("validation", valid_idx)):
        (root / "input" / "data" / name).mkdir(parents=True)
        (root / "input" / "data" / name / "part-00000.pbr").write_bytes(
            recordio_bytes(rides.labels[index], rides.features[index]))
    config = root / "input" / "config"
    config.joinpath("hyperparameters.json").write_text(json.dumps(
        {"predictor_type": "binary_classifier", "feature_dim": "6", "mini_batch_size": "90"}))
    config.joinpath("inputdataconfig.json").write_text(json.dumps(
        {c: {"ContentType": "application/x-recordio-protobuf"} for c in ("train", "validation")}))
    config.joinpath("resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    assert algorithm.main(["train", str(root)]) == 0 and (root / "model" / "model_algo-1").exists()
    (root / "input" / "data" / "train" / "part-00001.pbr").write_bytes(frame(record("float64")))
    assert algorithm.main(["train", str(root)]) == 2
    failure = (root / "output" / "failure").read_text()
    assert failure.startswith("ClientError: Unable to read the data: train channel file part-00001.pbr, record 1 "
                              "at byte offset 0: features[\"values\"] holds float64_tensor"), failure


def test_the_emulator_and_the_job_accept_the_same_content_types():
    from wildrydes_cli.local.training import validate
    assert set(validate.CONTENT_TYPES) == set(algorithm.CONTENT_TYPES)
    assert "application/x-recordio-protobuf" in algorithm.CONTENT_TYPES


def test_a_label_a_binary_classifier_cannot_learn_is_named_where_recordio_keeps_it(tmp_path):
    root = tmp_path / "opt-ml"
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "data" / "train").mkdir(parents=True)
    labels = np.zeros(200, np.float32)
    labels[7] = 30.5
    (root / "input" / "data" / "train" / "part-00000.pbr").write_bytes(
        recordio_bytes(labels, np.ones((200, 6), np.float32)))
    config = root / "input" / "config"
    config.joinpath("hyperparameters.json").write_text(json.dumps({"predictor_type": "binary_classifier"}))
    config.joinpath("inputdataconfig.json").write_text(json.dumps({"train": {"ContentType":
                                                                            "application/x-recordio-protobuf"}}))
    config.joinpath("resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    assert algorithm.main(["train", str(root)]) == 2
    failure = (root / "output" / "failure").read_text()
    assert ('the train channel\'s label (label["values"]) is 30.5 in row 8, but a binary_classifier needs 0 or 1: '
            'is the label label["values"]?') in failure, failure
