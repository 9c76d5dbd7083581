"""Linear Learner's channel format: the fast writer is exact for every float32, the reader refuses a header."""
from __future__ import annotations

import io

import numpy as np
import pytest

from wildrydes_cli.training.channels import ChannelError, csv_bytes, read_channel, write_shards
from wildrydes_cli.training.synthetic import generate_rides


def parsed(text: bytes) -> np.ndarray:
    """The oracle: Python's float() of every written value, as float32."""
    return np.array([[float(cell) for cell in line.split(",")] for line in text.decode().splitlines()],
                    dtype=np.float64).astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
def test_every_value_reads_back_exactly(seed):
    rng = np.random.default_rng(seed)
    rows = 2000
    columns = [
        rng.integers(-10_000, 10_000, rows),                  # integers, negative too
        np.round(rng.uniform(-50, 50, rows), 2),              # two decimals
        rng.normal(0, 1, rows),                               # full float32 precision
        rng.uniform(0, 1e-3, rows),                           # small
        rng.choice([0.0, -0.0, 1.0, 0.5, 1e7, 123456.78], rows),
    ]
    features = np.column_stack(columns).astype(np.float32)
    labels = rng.integers(0, 2, rows).astype(np.float32)
    text = csv_bytes(labels, features)
    back = parsed(text)
    assert np.array_equal(back[:, 0], labels) and np.array_equal(back[:, 1:], features)
    numpy_back = np.loadtxt(io.StringIO(text.decode()), delimiter=",", dtype=np.float64).astype(np.float32)
    assert np.array_equal(numpy_back, back)


def test_shortest_forms_for_the_rides():
    rides = generate_rides(3, seed=0)
    text = csv_bytes(rides.labels, rides.features).decode()
    first = text.splitlines()[0].split(",")
    assert first[0] in ("0", "1") and first[1] == repr(float(np.float64(str(rides.features[0, 0]))))
    assert all("e" not in cell and not cell.endswith(".0") for line in text.splitlines() for cell in line.split(","))


def test_values_beyond_fixed_decimals_are_still_exact():
    features = np.array([[1e-30, 3.4e38], [-2.5e-20, 1.0]], dtype=np.float32)
    labels = np.array([1.0, 0.0], dtype=np.float32)
    back = parsed(csv_bytes(labels, features))
    assert np.array_equal(back[:, 1:], features)


def test_shards_hold_the_rows_in_order_and_read_back_as_one_channel(tmp_path):
    rides = generate_rides(1001, seed=2)
    paths = write_shards(rides.labels, rides.features, tmp_path / "train", 4)
    assert [p.name for p in paths] == [f"part-0000{n}.csv" for n in range(4)]
    channel = read_channel(tmp_path / "train", "train", 10_000)
    assert np.array_equal(channel.features, rides.features) and np.array_equal(channel.labels, rides.labels)


@pytest.mark.parametrize("text, message", [
    ("heavy_utilization,distance\n1,30\n", "line 1 is not numbers"),
    ("1\n0\n", "has one column"),
    ("1,2,3\n1,2\n", "line 2 has 2 columns, the first line 3"),
    ("1,2,3\n1,x,3\n", "line 2 is not numbers"),
    ("", "has no rows"),
])
def test_the_reader_refuses_what_linear_learner_refuses(tmp_path, text, message):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "part-00000.csv").write_text(text)
    with pytest.raises(ChannelError, match=message):
        read_channel(tmp_path / "train", "train", 10_000)


def test_a_channel_over_the_limit_is_refused(tmp_path):
    rides = generate_rides(50, seed=1)
    write_shards(rides.labels, rides.features, tmp_path / "train", 1)
    with pytest.raises(ValueError, match="more than 40 rows"):
        read_channel(tmp_path / "train", "train", 40)


@pytest.mark.parametrize("text", [
    b"1,2\n", b"1,2", b"-1.5,2e-05\n0,3\n", b"1,,2\n", b"1,2\n\n", b"\n1,2\n", b"1,2\n3\n", b"1,2,3\n",
    b"1,2\r\n", b'"1",2\n', b"nan,1\n", b"1, 2\n", b"1,x\n", b"",
])
def test_the_whole_block_check_agrees_with_the_line_by_line_check(text):
    # plain_block is the fast reader's gate; plain_lines (a Python loop over the lines) is its oracle,
    # except that plain_block also sends letters and spaces to the precise reader.
    from wildrydes_cli.training.streaming import plain_block, plain_lines

    lines = plain_lines(text.decode(), 2)
    oracle = lines is not None and all(set(line) <= set("0123456789+-.eE,") for line in lines)
    assert plain_block(text, 2) is oracle


@pytest.mark.parametrize("text, message", [
    ("1,2,3\n1,,3\n", "line 2 is not numbers"),
    ("1,2,3\n1,2,3\n\n1,2\n", "line 4 has 2 columns"),
    ("1,2,3\n1,inf,3\n", "line 2 has a value that is not a finite float32"),
    ("1,2,3\n1,1e39,3\n", "line 2 has a value that is not a finite float32"),
])
def test_a_block_the_fast_path_takes_and_numpy_refuses_is_named_by_the_precise_reader(tmp_path, text, message):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "part-00000.csv").write_text(text)
    with pytest.raises(ChannelError, match=message):
        read_channel(tmp_path / "train", "train", 10_000)
