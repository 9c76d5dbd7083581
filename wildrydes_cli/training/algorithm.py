"""The local Linear Learner: what the local target runs for a training job, as SageMaker runs a container.

    python -m wildrydes_cli.training.algorithm train ROOT

Why a process with SageMaker's container contract, not a function the emulator
calls: the emulator (``local/``) may not import the trainer (the dependency rule),
and a process can be stopped (StopTrainingJob, MaxRuntimeInSeconds) and gives its
memory back when it ends, which a thread in the daemon cannot. ROOT is laid out as
SageMaker lays out ``/opt/ml`` (Developer Guide, "How Amazon SageMaker AI Provides
Training Information"):

    ROOT/input/config/hyperparameters.json    the job's HyperParameters (strings)
    ROOT/input/config/inputdataconfig.json    channel -> ContentType, TrainingInputMode, ...
    ROOT/input/config/resourceconfig.json     current_host, hosts
    ROOT/input/data/<channel>/...             the channel's objects, downloaded by the platform
    ROOT/model/                               what the platform tars into model.tar.gz
    ROOT/output/failure                       the FailureReason when the algorithm fails

It validates the hyperparameters as Linear Learner does (``linear_learner.problems``),
reads the channels (``application/x-recordio-protobuf``, one protobuf Record a row,
``recordio_protobuf.py``; or headerless CSV, label first, ``channels.py``), trains with the project's numpy
trainer (the same model ``wildrydes train --trainer numpy`` makes from the same
rows), logs per epoch and writes the final metrics as Linear Learner's
``#quality_metric`` lines, which the platform turns into FinalMetricDataList, and
writes ``model/model_algo-1``. A refusal is a ``ClientError`` (exit 2), anything
else an ``AlgorithmError`` (exit 1), as SageMaker names them.
"""
from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from wildrydes_cli import linear_learner as ll
from wildrydes_cli.errors import UsageError
from wildrydes_cli.training.channels import ChannelError, read_channel
from wildrydes_cli.training.data import MAX_ROWS, Dataset
from wildrydes_cli.training.mxnet_trainer import TrainConfig, TrainedModel

LOG = logging.getLogger(__name__)

MODULE = "wildrydes_cli.training.algorithm"   # the entry point the local target runs (documented contract)
RECORDIO = "application/x-recordio-protobuf"
CONTENT_TYPES = ("text/csv", "text/csv;label_size=1", RECORDIO)


class ClientError(Exception):
    """The job's input is at fault (SageMaker's ``ClientError:`` failure reasons)."""


def log(message: str) -> None:
    stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
    print(f"[{stamp} INFO] {message}", flush=True)


def config_of(hyperparameters: dict[str, str]) -> TrainConfig:
    """The trainer's settings from the job's hyperparameters (checked first: ClientError names the field)."""
    found = ll.problems(hyperparameters) + ll.unsupported_locally(hyperparameters)
    if found:
        raise ClientError("Unable to initialize the algorithm. Failed to validate input hyperparameters: "
                          + "; ".join(found))

    def number(name: str, auto: float) -> float:
        text = ll.value(hyperparameters, name)
        return auto if text == "auto" else float(text)

    return TrainConfig(
        predictor_type=ll.value(hyperparameters, "predictor_type"),
        epochs=int(ll.value(hyperparameters, "epochs")),
        learning_rate=number("learning_rate", TrainConfig.learning_rate),
        mini_batch_size=int(ll.value(hyperparameters, "mini_batch_size")),
        wd=number("wd", 0.0), l1=number("l1", 0.0),
        normalize_data=ll.value(hyperparameters, "normalize_data") == "true",
        selection=ll.value(hyperparameters, "binary_classifier_model_selection_criteria"),
        f_beta=float(ll.value(hyperparameters, "f_beta")),
    )


def check_data(config: TrainConfig, hyperparameters: dict[str, str], train: Dataset,
               validation: Dataset | None, label: str = "the first column") -> None:
    """What Linear Learner refuses about the data it was given, in its terms (ClientError); ``label`` says
    where the label is in the channel's format."""
    dimension = train.features.shape[1]
    feature_dim = ll.value(hyperparameters, "feature_dim")
    if feature_dim != "auto" and int(feature_dim) != dimension:
        raise ClientError(f"feature_dim {feature_dim} does not match the data: the train channel has "
                          f"{dimension} features (every column after the label)")
    if validation is not None and validation.features.shape[1] != dimension:
        raise ClientError(f"the validation channel has {validation.features.shape[1]} features, the train "
                          f"channel {dimension}")
    if config.predictor_type == "binary_classifier":
        for name, data in (("train", train), ("validation", validation)):
            if data is None:
                continue
            bad = np.flatnonzero((data.labels != 0.0) & (data.labels != 1.0))
            if bad.size:
                raise ClientError(f"the {name} channel's label ({label}) is {data.labels[bad[0]]:g} in row "
                                  f"{int(bad[0]) + 1}, but a binary_classifier needs 0 or 1: is the label "
                                  f"{label}?")
    if config.mini_batch_size is not None and config.mini_batch_size > train.rows:
        raise ClientError(f"mini_batch_size {config.mini_batch_size} is larger than the {train.rows:,} rows of "
                          "the train channel: use a mini_batch_size of at most the number of training rows")


def final_metrics(model: TrainedModel) -> list[tuple[str, str, float]]:
    """(channel, Linear Learner metric name, value) of the validation rows, as the algorithm reports them."""
    scores = np.asarray(model.validation_scores, dtype=np.float64)
    labels = np.asarray(model.validation_labels, dtype=np.float64)
    found: list[tuple[str, str, float]] = []
    if model.predictor_type == "binary_classifier":
        p = np.clip(scores, 1e-12, 1 - 1e-12)
        loss = float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))
        m = model.metrics
        found = [("validation", "objective_loss", loss)]
        found += [("validation", name, m[key]) for name, key in (  # type: ignore[misc]
            ("binary_classification_accuracy", "accuracy"), ("roc_auc_score", "auc"), ("precision", "precision"),
            ("recall", "recall"), ("binary_f_beta", "f1")) if isinstance(m.get(key), float)]
    else:
        errors = scores - labels
        mse = float(np.mean(errors ** 2))
        found = [("validation", "objective_loss", mse), ("validation", "mse", mse),
                 ("validation", "rmse", math.sqrt(mse)), ("validation", "absolute_loss", float(np.mean(np.abs(errors))))]
    return found


def _channels(root: Path) -> tuple[dict, dict[str, str]]:
    config = root / "input" / "config"
    try:
        channels = json.loads((config / "inputdataconfig.json").read_text())
        hyperparameters = json.loads((config / "hyperparameters.json").read_text())
    except (OSError, ValueError) as exc:
        raise ClientError(f"cannot read the job's configuration: {exc}") from None
    if "train" not in channels:
        raise ClientError("Unable to initialize the algorithm. Failed to validate input data configuration: "
                          "'train' is a required channel")
    for name, spec in channels.items():
        if name not in ("train", "validation", "test"):
            raise ClientError(f"channel {name!r} is not one of Linear Learner's (train, validation, test)")
        content = str(spec.get("ContentType", "text/csv")).replace(" ", "").lower()
        if content not in CONTENT_TYPES:
            raise ClientError(f"the {name} channel's ContentType {spec.get('ContentType')!r} is not read by the "
                              f"local Linear Learner: use {RECORDIO} or text/csv (label first, no header)")
    return channels, {str(k): str(v) for k, v in hyperparameters.items()}


def reader_of(spec: dict) -> Callable[[Path, str, int], Dataset]:
    """The channel reader for a channel's ContentType (checked by ``_channels``)."""
    if str(spec.get("ContentType", "text/csv")).replace(" ", "").lower() == RECORDIO:
        from wildrydes_cli.training.recordio_protobuf import read_recordio_channel
        return read_recordio_channel
    return read_channel


def run(root: Path) -> TrainedModel:
    """Train from ROOT's configuration and channels; write ROOT/model/model_algo-1."""
    from wildrydes_cli.training import numpy_trainer
    from wildrydes_cli.training.sagemaker_archive import ALGO_MEMBER, model_member

    channels, hyperparameters = _channels(root)
    config = config_of(hyperparameters)
    host = json.loads((root / "input" / "config" / "resourceconfig.json").read_text()).get("current_host", "algo-1")
    log(f"Reading the train channel ({channels['train'].get('ContentType', 'text/csv')})")
    try:
        train = reader_of(channels["train"])(root / "input" / "data" / "train", "train", MAX_ROWS)
        validation = (reader_of(channels["validation"])(root / "input" / "data" / "validation", "validation",
                                                        MAX_ROWS) if "validation" in channels else None)
    except (ChannelError, UsageError) as exc:
        raise ClientError(f"Unable to read the data: {getattr(exc, 'message', exc)}") from None
    recordio = reader_of(channels["train"]) is not read_channel
    check_data(config, hyperparameters, train, validation, 'label["values"]' if recordio else "the first column")
    log(f"{train.rows:,} training rows, {train.features.shape[1]} features; "
        + (f"{validation.rows:,} validation rows" if validation else "no validation channel: 10% held out"))

    def on_epoch(epoch: int, epochs: int, loss: float) -> None:
        print(ll.metric_line(host, "train", "objective_loss", float(loss), epoch=epoch - 1), flush=True)
        log(f"Epoch {epoch}/{epochs} done")

    try:
        model = numpy_trainer.train(train, config, on_epoch=on_epoch, validation=validation)
    except UsageError as exc:
        raise ClientError(str(exc.message)) from None
    for channel, name, number in final_metrics(model):
        print(ll.metric_line(host, channel, name, number), flush=True)
    member = model_member(model.weights, model.bias, model.predictor_type, model.threshold, model.feature_names
                          if len(model.feature_names) == len(model.weights) else None)
    (root / "model").mkdir(parents=True, exist_ok=True)
    (root / "model" / ALGO_MEMBER).write_bytes(member)
    log(f"Wrote the model ({len(member):,} bytes), threshold {model.threshold:.4f}")
    return model


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["standby"] and len(args) == 2:   # started ahead of its job: ROOT comes on stdin
        from wildrydes_cli.training import algorithm_standby
        return algorithm_standby.main(args[1])
    if len(args) != 2 or args[0] != "train":
        print("usage: python -m wildrydes_cli.training.algorithm train ROOT | standby IDLE_SECONDS", file=sys.stderr)
        return 2
    root = Path(args[1])
    (root / "output").mkdir(parents=True, exist_ok=True)
    try:
        run(root)
    except ClientError as exc:
        (root / "output" / "failure").write_text(f"ClientError: {exc}")
        print(f"[ERROR] ClientError: {exc}", file=sys.stderr, flush=True)
        return 2
    except MemoryError:
        (root / "output" / "failure").write_text("AlgorithmError: out of memory")
        return 1
    except Exception as exc:   # the job fails with the reason; the platform logs the rest
        (root / "output" / "failure").write_text(f"AlgorithmError: {type(exc).__name__}: {exc}")
        LOG.exception("training failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
