"""``wildrydes train`` below the command line: data -> training (MXNet or numpy) -> artifact -> S3 or a file.

Why a separate module from the Click command: the command only parses flags
and renders; this is what tests drive, and it decides the order that matters
to users: read the user's own files first (a typo in --data is reported as
such, before any emulator starts or AWS is called), then find (and check) the
bucket *before* spending time on training, and never upload anything when
training fails.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from wildrydes_cli.errors import NotFoundError, UsageError
from wildrydes_cli.training import publish, trainers
from wildrydes_cli.training.data import Dataset, read_csv
from wildrydes_cli.training.trainer import MIN_ROWS, TrainConfig, TrainedModel

LOG = logging.getLogger(__name__)

DEFAULT_ROWS = 20000
MAX_ROWS = 10_000_000
MAX_BREEDS = 10_000


@dataclass(frozen=True)
class TrainRequest:
    """What the user asked ``wildrydes train`` to do."""

    data: Path | None = None
    rows: int = DEFAULT_ROWS
    seed: int = 0
    breed: str | None = None
    predictor_type: str = "binary_classifier"
    epochs: int = 15
    bucket: str | None = None
    save: Path | None = None
    trainer: str = "auto"      # trainers.TRAINERS: auto = mxnet where importable, else numpy


def check_request(request: TrainRequest) -> None:
    """Reject bad flags before any data is read or AWS is called."""
    if request.data is None and not MIN_ROWS <= request.rows <= MAX_ROWS:
        raise UsageError(f"--rows must be between {MIN_ROWS} and {MAX_ROWS:,} (got {request.rows}): "
                         "that many synthetic rides are generated to train on")
    if request.epochs < 1:
        raise UsageError(f"--epochs must be at least 1 (got {request.epochs})")
    if request.breed is not None:
        publish.validate_breed(request.breed)
    if request.save is not None and request.bucket is not None:
        raise UsageError("--save writes the model to a local file and --bucket uploads it: choose one")


def load_dataset(request: TrainRequest) -> Dataset:
    """The user's CSV, or synthetic rides (seeded by --seed and --breed)."""
    if request.data is not None:
        return read_csv(request.data)
    from wildrydes_cli.training.synthetic import generate_rides

    return generate_rides(request.rows, seed=request.seed, breed=request.breed)


def package(model: TrainedModel) -> bytes:
    from wildrydes_cli.training.artifact_writer import write_model_archive

    return write_model_archive(model.weights, model.bias, model.predictor_type, model.threshold,
                               model.feature_names)


class Destination:
    """Where the artifact goes: a local file, or the data bucket on the configured target."""

    def __init__(self, request: TrainRequest, settings, aws_factory: Callable | None = None) -> None:
        self.request = request
        self.settings = settings
        self._aws_factory = aws_factory
        self.aws = None
        self.bucket: str | None = None

    def prepare(self) -> None:
        """Resolve the target and the bucket, and check the bucket exists (fail before training)."""
        if self.request.save is not None:
            return
        from wildrydes_cli.target import resolve

        settings = resolve(self.settings)
        if self._aws_factory is None:
            from wildrydes_cli.aws import aws_for
            self.aws = aws_for(settings)
        else:
            self.aws = self._aws_factory(settings)
        self.bucket = self.request.bucket or publish.find_bucket(settings, self.aws)
        if not self.aws.bucket_exists(self.bucket):
            raise NotFoundError(f"bucket {self.bucket} does not exist on target {settings.target}: run "
                                "`wildrydes bootstrap`, pass an existing --bucket, or use --save PATH")

    def deliver(self, data: bytes, breed: str | None, metrics: dict) -> dict:
        if self.request.save is not None:
            path = publish.save_model(self.request.save, data)
            return {"saved_to": str(path), "location": str(path), "bytes": len(data)}
        with self.aws.translate(f"publish the model to s3://{self.bucket}"):
            key = publish.publish_model(self.aws.client("s3"), self.bucket, data, breed=breed, metrics=metrics)
        result = {"bucket": self.bucket, "key": key, "location": f"s3://{self.bucket}/{key}", "bytes": len(data)}
        if breed is not None:
            result["index"] = publish.latest_key(breed)
        return result


def summary(request: TrainRequest, dataset: Dataset, model: TrainedModel, location: dict,
            trainer: str = "mxnet") -> dict:
    """The command's result: one JSON-ready dict."""
    return {
        "predictor_type": model.predictor_type,
        "data": dataset.source,
        "synthetic": request.data is None,
        "breed": request.breed,
        "rows": {"train": model.train_rows, "validation": model.validation_rows},
        "epochs": model.epochs,
        "trainer": trainer,
        "seconds": round(model.seconds, 3),
        "threshold": model.threshold,
        "metrics": model.metrics,
        "model": location,
    }


def train_model(request: TrainRequest, settings, on_epoch=None, aws_factory: Callable | None = None) -> dict:
    """Do one ``wildrydes train``: returns the summary dict."""
    check_request(request)
    trainer = trainers.resolve(request.trainer)   # a missing MXNet is reported before anything else
    # Local input first: a missing or bad --data file must not start the emulator or call AWS.
    dataset = read_csv(request.data) if request.data is not None else None
    destination = Destination(request, settings, aws_factory)
    destination.prepare()
    if dataset is None:  # synthetic: generated only once the bucket is known to exist
        dataset = load_dataset(request)
    config = TrainConfig(predictor_type=request.predictor_type, epochs=request.epochs, seed=request.seed)
    model = trainers.train_function(trainer)(dataset, config, on_epoch=on_epoch)
    location = destination.deliver(package(model), request.breed, model.metrics)
    return summary(request, dataset, model, location, trainer)


def breed_names(count: int) -> list[str]:
    """Names of ``--breeds N`` synthetic breeds: breed-0001, breed-0002, ..."""
    return [f"breed-{number:04d}" for number in range(1, count + 1)]


def check_breeds_request(request: TrainRequest, count: int) -> None:
    if not 1 <= count <= MAX_BREEDS:
        raise UsageError(f"--breeds must be between 1 and {MAX_BREEDS:,} (got {count})")
    if request.data is not None:
        raise UsageError("--breeds generates synthetic rides for each breed; it cannot be combined with --data "
                         "(train your own data per breed with --data FILE --breed NAME)")
    if request.breed is not None:
        raise UsageError("--breeds names the breeds itself (breed-0001, ...); drop --breed, or drop --breeds")
    if request.save is not None:
        raise UsageError("--breeds publishes every breed to the data bucket; --save keeps one model only")
    check_request(request)


def train_breeds(request: TrainRequest, count: int, settings, on_breed=None,
                 aws_factory: Callable | None = None) -> dict:
    """``--breeds N``: train and publish N synthetic breeds, each with its own ground truth."""
    check_breeds_request(request, count)
    trainer = trainers.resolve(request.trainer)
    train = trainers.train_function(trainer)
    destination = Destination(request, settings, aws_factory)
    destination.prepare()
    config = TrainConfig(predictor_type=request.predictor_type, epochs=request.epochs, seed=request.seed)
    trained = []
    seconds = 0.0
    for done, breed in enumerate(breed_names(count), start=1):
        model = train(load_dataset(replace(request, breed=breed)), config)
        location = destination.deliver(package(model), breed, model.metrics)
        seconds += model.seconds
        trained.append({"breed": breed, "key": location["key"], "metrics": model.metrics})
        if on_breed is not None:
            on_breed(done, count)
    return {
        "predictor_type": request.predictor_type, "synthetic": True, "bucket": destination.bucket,
        "count": count, "rows_per_breed": request.rows, "epochs": request.epochs, "trainer": trainer,
        "seconds": round(seconds, 3), "breeds": trained,
    }
