"""`wildrydes train --data` reads the workshop's processed CSV and JSON Lines; bad files are named precisely."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from ride_files import write_csv

from wildrydes_cli.cli.main import cli
from wildrydes_cli.training.data import read_data
from wildrydes_cli.training.synthetic import generate_rides

# The workshop's processed table: its own columns in its own order, pandas' booleans as the label.
WORKSHOP_CSV = (
    "name,statustime,distance,healthpoints,magicpoints,latitude,longitude,groundstation,"
    "TMIN,TMAX,PRCP,heavy_utilization\n"
    "Shadowfax,2017-06-01 12:00:00,30.2,4210,2500,40.78,-73.97,USW00094728,200,290,0,True\n"
    "Bucephalus,2017-06-02 12:00:00,29.5,9000,500,40.77,-73.87,USW00014732,180,260,15,False\n"
)


def f32(rows):
    """The rows as the reader holds them: float32, the precision linear-learner trains in."""
    return np.asarray(rows, dtype=np.float32).tolist()


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_the_workshops_processed_csv_is_read_with_extra_columns_ignored(tmp_path):
    path = tmp_path / "processed.csv"
    path.write_text(WORKSHOP_CSV)
    data = read_data(path)
    assert data.features.tolist() == f32([[30.2, 4210, 2500, 200, 290, 0], [29.5, 9000, 500, 180, 260, 15]])
    assert data.labels.tolist() == [1.0, 0.0]


def test_column_names_are_case_insensitive_in_any_order(tmp_path):
    path = tmp_path / "rides.csv"
    path.write_text("prcp,Heavy_Utilization,tmax,TMin,MagicPoints,HEALTHPOINTS,Distance\n"
                    "5,1,200,100,2500,290,30.5\n0,0,250,150,300,300,29.5\n")
    data = read_data(path)
    assert data.features.tolist() == f32([[30.5, 290, 2500, 100, 200, 5], [29.5, 300, 300, 150, 250, 0]])
    assert data.labels.tolist() == [1.0, 0.0]


def test_json_lines_of_rides(tmp_path):
    path = tmp_path / "rides.jsonl"
    rides = [{"name": "Shadowfax", "Distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333,
              "TMIN": 300, "PRCP": 0, "heavy_utilization": True},
             {"distance": "29.5", "healthpoints": 9000, "magicpoints": 500, "tmax": 260, "tmin": 180,
              "prcp": 15, "HEAVY_UTILIZATION": 0}]
    path.write_text("\n".join(json.dumps(r) for r in rides) + "\n\n")
    data = read_data(path)
    assert data.features.tolist() == f32([[30, 30, 2500, 300, 333, 0], [29.5, 9000, 500, 180, 260, 15]])
    assert data.labels.tolist() == [1.0, 0.0]


def test_json_lines_are_recognised_by_content_too(tmp_path):
    path = tmp_path / "rides.txt"
    path.write_text(json.dumps({"distance": 30, "healthpoints": 1, "magicpoints": 2, "TMIN": 3, "TMAX": 4,
                                "PRCP": 5, "heavy_utilization": 1}) + "\n")
    assert read_data(path).features.tolist() == f32([[30, 1, 2, 3, 4, 5]])


def test_cli_trains_on_json_lines(tmp_path):
    rides = generate_rides(500, seed=4)
    path = tmp_path / "rides.jsonl"
    names = ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP", "heavy_utilization")
    path.write_text("".join(json.dumps(dict(zip(names, [*row, label]))) + "\n"
                            for row, label in zip(rides.features.tolist(), rides.labels.tolist())))
    result = run(["--output", "json", "train", "--data", str(path), "--epochs", "2",
                  "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == {"train": 450, "validation": 50}


def test_written_csv_reads_back(tmp_path):
    original = generate_rides(40, seed=9)
    write_csv(original, tmp_path / "rides.csv")
    again = read_data(tmp_path / "rides.csv")
    assert np.array_equal(original.features, again.features) and np.array_equal(original.labels, again.labels)


LINE = {"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMIN": 300, "TMAX": 333, "PRCP": 0,
        "heavy_utilization": 1}


@pytest.mark.parametrize("name, text, message", [
    ("rides.csv", "Distance,HealthPoints,MagicPoints,tmin,tmax,prcp,heavy\n1,2,3,4,5,6,1\n",
     "rides.csv has no column 'heavy_utilization'"),
    ("rides.csv", WORKSHOP_CSV.replace("30.2,4210", "30.2,lots"),
     "rides.csv row 1 (line 2): column 'healthpoints' has value 'lots', which is not a finite number"),
    ("rides.csv", WORKSHOP_CSV.replace(",False", ",maybe"),
     "rides.csv row 2 (line 3): column 'heavy_utilization' has value 'maybe'"),
    ("rides.jsonl", json.dumps(LINE) + "\n" + json.dumps({**LINE, "TMAX": "hot"}) + "\n",
     "rides.jsonl row 2 (line 2): column 'TMAX' has value 'hot', which is not a finite number"),
    ("rides.jsonl", json.dumps({**LINE, "PRCP": None}) + "\n",
     "rides.jsonl row 1 (line 1): column 'PRCP' has value null"),
    ("rides.jsonl", json.dumps({**LINE, "magicpoints": True}) + "\n",
     "rides.jsonl row 1 (line 1): column 'magicpoints' has value true"),
    ("rides.jsonl", "\n" + json.dumps({k: v for k, v in LINE.items() if k != "TMIN"}) + "\n",
     "rides.jsonl row 1 (line 2) has no column 'TMIN'"),
    ("rides.jsonl", json.dumps(LINE) + "\n{not json\n", "rides.jsonl row 2 (line 2) is not valid JSON"),
    ("rides.jsonl", "[1, 2, 3]\n", "rides.jsonl row 1 (line 1) is a JSON list, not an object of columns"),
    ("rides.jsonl", "\n\n", "rides.jsonl has no rides"),
])
def test_bad_files_name_the_file_row_column_and_value(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    result = run(["train", "--data", str(path), "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (tmp_path / "m.tar.gz").exists()


def test_binary_json_lines_file_is_refused(tmp_path):
    path = tmp_path / "rides.jsonl"
    path.write_bytes(b"\xff\xfe\x00{" * 20)
    result = run(["train", "--data", str(path), "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2 and "rides.jsonl is not UTF-8 text" in result.stderr


def test_data_from_a_fifo_is_read_once(tmp_path):
    """A FIFO can be read only once: sniffing its format must not open it a second time (that hung)."""
    import os
    import threading

    fifo = tmp_path / "rides.csv"
    os.mkfifo(fifo)
    rides = generate_rides(200, seed=3)
    text = tmp_path / "source.csv"
    write_csv(rides, text)

    def feed() -> None:
        with open(fifo, "wb") as out:   # blocks until the reader opens the FIFO
            out.write(text.read_bytes())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    found: list = []
    reader = threading.Thread(target=lambda: found.append(read_data(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "reading a FIFO hung"
    assert found and found[0].rows == 200
    assert np.array_equal(found[0].features, rides.features)


def test_more_rides_than_memory_allows_are_refused_with_the_size_and_the_limit(tmp_path, monkeypatch):
    """The limit bounds memory: a file over it is refused (exit 2) naming its size and the limit."""
    from wildrydes_cli.training import data

    monkeypatch.setattr(data, "MAX_ROWS", 1000)
    path = tmp_path / "rides.csv"
    write_csv(generate_rides(1500, seed=1), path)
    result = run(["train", "--data", str(path), "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2, result.output
    size = path.stat().st_size
    assert f"rides.csv ({size:,} bytes) has more than 1,000 rides" in result.stderr
    assert "train on a sample of it" in result.stderr
    assert not (tmp_path / "m.tar.gz").exists()


def test_blocks_of_plain_and_irregular_rows_give_the_same_table(tmp_path, monkeypatch):
    """numpy reads plain blocks, the csv module the rest: across many small blocks, the table is the same
    as one read by the csv module alone, and a bad row is still named by its row and line."""
    from wildrydes_cli.training import streaming

    rides = generate_rides(3000, seed=5)
    path = tmp_path / "rides.csv"
    write_csv(rides, path)
    lines = path.read_text().splitlines()
    lines.insert(700, "")                       # a blank line: that block goes row by row
    lines[1500] = lines[1500].replace(",", ", ", 1)   # a space after a comma: numpy and csv agree
    path.write_text("\r\n".join(lines) + "\r\n")
    monkeypatch.setattr(streaming, "TABLE_BLOCK_BYTES", 4096)   # the blocks read_data reads
    table = read_data(path)
    assert np.array_equal(table.features, rides.features) and np.array_equal(table.labels, rides.labels)
    lines[2500] = lines[2500].replace(",", ",x", 1)
    path.write_text("\n".join(lines) + "\n")
    result = run(["train", "--data", str(path), "--save", str(tmp_path / "m.tar.gz")])
    assert result.exit_code == 2
    assert "rides.csv row 2499 (line 2501): column 'healthpoints' has value 'x" in result.stderr
