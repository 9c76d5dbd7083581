"""A training job's /opt/ml as the platform lays it out, for tests of the local Linear Learner and of
the processes that run it (tests/training, tests/local/training)."""
from __future__ import annotations

import json
from pathlib import Path

from wildrydes_cli.training.channels import write_shards
from wildrydes_cli.training.mxnet_trainer import split
from wildrydes_cli.training.synthetic import generate_rides


def job_root(tmp_path: Path, hp: dict, rows: int = 2000, channels=("train", "validation"), text: str | None = None):
    """/opt/ml as the platform lays it out: config files and channel data (the rides split 90/10)."""
    root = tmp_path / "opt-ml"
    config = root / "input" / "config"
    config.mkdir(parents=True)
    rides = generate_rides(rows, seed=0)
    train_idx, valid_idx = split(rides.rows, 0)
    for name, index in (("train", train_idx), ("validation", valid_idx)):
        if name in channels:
            write_shards(rides.labels[index], rides.features[index], root / "input" / "data" / name, 2)
    if text is not None:
        (root / "input" / "data" / "train" / "part-00000.csv").write_text(text)
    (config / "hyperparameters.json").write_text(json.dumps(hp))
    (config / "inputdataconfig.json").write_text(json.dumps({c: {"ContentType": "text/csv"} for c in channels}))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    return root, rides, train_idx, valid_idx


HP = {"predictor_type": "binary_classifier", "feature_dim": "6", "mini_batch_size": "90"}
