"""``wildrydes train`` below the command line: data -> training (MXNet or numpy) -> artifact -> S3 or a file.

Why a separate module from the Click command: the command only parses flags
and renders; this is what tests drive, and it decides the order that matters
to users: read the user's own files first (a typo in --data is reported as
such, before any emulator starts or AWS is called), then find (and check) the
bucket *before* spending time on training, and never upload anything when
training fails.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from wildrydes_cli import model_card
from wildrydes_cli.errors import NotFoundError, UsageError
from wildrydes_cli.results import GateResult, TrainBreedsResult, TrainResult
from wildrydes_cli.settings import Settings
from wildrydes_cli.training import choose_trainer, publish
from wildrydes_cli.training.data import Dataset, read_data
from wildrydes_cli.training.mxnet_trainer import MIN_ROWS, TrainConfig, TrainedModel

if TYPE_CHECKING:
    from wildrydes_cli.aws.client import Aws

LOG = logging.getLogger(__name__)

DEFAULT_ROWS = 20000
MAX_ROWS = 10_000_000
MAX_BREEDS = 10_000
MAX_EPOCHS = 1_000
# Rows x epochs one training may process: ~30 minutes at the measured ~500,000 rows/s
# (benchmarks/RESULTS.md), so a typo cannot keep a laptop busy for a day.
MAX_ROW_PASSES = 1_000_000_000


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
    trainer: str = "auto"      # choose_trainer.TRAINERS: auto = mxnet where importable, else numpy
    # --breed: the quality gate before latest.json moves to the new model (training/gate.py)
    max_regression: float = 0.01
    force: bool = False


def check_request(request: TrainRequest) -> None:
    """Reject bad flags before any data is read or AWS is called."""
    if request.data is None and not MIN_ROWS <= request.rows <= MAX_ROWS:
        raise UsageError(f"--rows must be between {MIN_ROWS} and {MAX_ROWS:,} (got {request.rows}): "
                         "that many synthetic rides are generated to train on")
    if not 1 <= request.epochs <= MAX_EPOCHS:
        raise UsageError(f"--epochs must be between 1 and {MAX_EPOCHS:,} (got {request.epochs})")
    if request.data is None:
        check_work(request.rows, request.epochs)
    if request.seed < 0:   # numpy's SeedSequence takes non-negative integers only
        raise UsageError(f"--seed must be a whole number of 0 or more (got {request.seed})")
    if request.breed is not None:
        publish.validate_breed(request.breed)
    if request.save is not None and request.bucket is not None:
        raise UsageError("--save writes the model to a local file and --bucket uploads it: choose one")
    from wildrydes_cli.training.gate import GateOptions, check_options
    check_options(GateOptions(max_regression=request.max_regression))


def check_work(rows: int, epochs: int) -> None:
    """Refuse a training that would pass over more than ``MAX_ROW_PASSES`` rows in all."""
    if rows * epochs > MAX_ROW_PASSES:
        raise UsageError(f"{rows:,} rows x {epochs:,} epochs is {rows * epochs:,} row passes, over the limit of "
                         f"{MAX_ROW_PASSES:,} (about 30 minutes of training); use fewer --epochs or rows")


def load_dataset(request: TrainRequest) -> Dataset:
    """The user's CSV, or synthetic rides (seeded by --seed and --breed)."""
    if request.data is not None:
        return read_data(request.data)
    from wildrydes_cli.training.synthetic import generate_rides

    return generate_rides(request.rows, seed=request.seed, breed=request.breed)


def package(model: TrainedModel) -> bytes:
    from wildrydes_cli.training.sagemaker_archive import write_model_archive

    return write_model_archive(model.weights, model.bias, model.predictor_type, model.threshold,
                               model.feature_names)


class FileDestination:
    """``--save PATH``: the artifact goes to a local file; no AWS, no emulator."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bucket: str | None = None

    def served_by(self) -> dict | None:
        return None   # a file is served by nothing

    def deliver(self, data: bytes, breed: str | None, metrics: dict, card: dict | None = None,
                gate: GateResult | None = None, validation: bytes | None = None) -> dict:
        path = publish.save_model(self.path, data)
        result = {"saved_to": str(path), "location": str(path), "bytes": len(data)}
        if card is not None:   # beside the file, as beside a published model
            from datetime import datetime, timezone
            where = Path(model_card.card_key(str(path)))
            publish.save_model(where, json.dumps(publish.card_for(data, datetime.now(timezone.utc), card),
                                                 sort_keys=True).encode("utf-8"))
            result["metrics_file"] = str(where)
        return result


class BucketDestination:
    """The data bucket on the configured target, resolved and checked before any training starts."""

    def __init__(self, aws: Aws, bucket: str) -> None:
        self.aws = aws
        self.bucket = bucket
        self.by: str | None = None   # who moves a breed's latest.json: asked once, at the first breed published

    @classmethod
    def prepare(cls, request: TrainRequest, settings: Settings) -> "BucketDestination":
        """Resolve the target and the bucket, and check the bucket exists (fail before training)."""
        from wildrydes_cli.aws.client import Aws
        from wildrydes_cli.aws.data_bucket import require_data_bucket
        from wildrydes_cli.aws.target import resolve

        target = resolve(settings)
        aws = Aws(target)
        bucket = request.bucket or require_data_bucket(
            target.settings, aws, "publish to", ", or use --save PATH to keep the model on this machine")
        if not aws.bucket_exists(bucket):
            raise NotFoundError(f"bucket {bucket} does not exist on target {target.name}: run "
                                "`wildrydes bootstrap`, pass an existing --bucket, or use --save PATH")
        return cls(aws, bucket)

    def deliver(self, data: bytes, breed: str | None, metrics: dict, card: dict | None = None,
                gate: GateResult | None = None, validation: bytes | None = None) -> dict:
        if breed is not None and self.by is None:
            self.by = publish.caller(self.aws)
        key = publish.publish_model(self.aws, self.bucket, data, breed=breed, metrics=metrics, card=card,
                                    gate=gate, by=self.by, validation=validation)
        result = {"bucket": self.bucket, "key": key, "location": f"s3://{self.bucket}/{key}", "bytes": len(data)}
        if validation is not None:
            from wildrydes_cli.training import validation_rows
            result["validation_key"] = validation_rows.key_for(key)
        if card is not None:
            result["metrics_key"] = model_card.card_key(key)
        if breed is not None:
            result["index"] = publish.latest_key(breed)
        return result

    def served_by(self) -> dict | None:
        """The deployed function that will serve a new breed model from this bucket, and within how long."""
        from wildrydes_cli.aws.accounts import bind
        from wildrydes_cli.aws.found_deployment import breed_refresh
        return breed_refresh(bind(self.aws.settings, self.aws), self.aws, self.bucket)   # records are per account


def destination_for(request: TrainRequest, settings: Settings) -> FileDestination | BucketDestination:
    if request.save is not None:
        return FileDestination(request.save)
    return BucketDestination.prepare(request, settings)


def synthetic_rule(breed: str | None) -> dict:
    """The rule that labelled the synthetic rides, so a user can see what the model should learn."""
    from wildrydes_cli.training.synthetic import MAGIC_PER_MILE, MILD_TMAX, ground_truth

    truth = ground_truth(breed)
    text = f"heavy_utilization = magicpoints >= {MAGIC_PER_MILE:g} * distance"
    if breed is not None:
        text = (f"heavy_utilization = magicpoints >= distance * ({MAGIC_PER_MILE:g} "
                f"{truth.temperature:+g} * (TMAX - {MILD_TMAX:g}) / 100 {truth.rain:+g} * PRCP / 100)")
    return {"magic_per_mile": MAGIC_PER_MILE, "temperature": truth.temperature, "rain": truth.rain, "text": text}


def card_fields(dataset: Dataset, model: TrainedModel, trainer: str, synthetic: bool) -> dict:
    """What a published model's metrics.json says about it (publish adds the time and the model's sha256)."""
    source = "synthetic" if synthetic else "file"
    name = dataset.source if synthetic else Path(dataset.source).name
    data = model_card.describe_data(dataset.labels, source, name, sha256=dataset.sha256,
                                    date_range=dataset.date_range, train_rows=model.train_rows,
                                    validation_rows=model.validation_rows,
                                    classifier=model.predictor_type == "binary_classifier")
    return {"metrics": dict(model.metrics), "data": data, "predictor_type": model.predictor_type,
            "threshold": model.threshold, "trainer": trainer, "epochs": model.epochs}


def summary(request: TrainRequest, dataset: Dataset, model: TrainedModel, location: dict,
            trainer: str = "mxnet", served_by: dict | None = None) -> TrainResult:
    """The command's result."""
    return TrainResult(trainer=trainer,
        predictor_type=model.predictor_type, data=dataset.source, synthetic=request.data is None,
        breed=request.breed, rows={"train": model.train_rows, "validation": model.validation_rows},
        epochs=model.epochs, seconds=round(model.seconds, 3), threshold=model.threshold,
        metrics=dict(model.metrics), model=location,
        rule=synthetic_rule(request.breed) if request.data is None else None, served_by=served_by,
        flags=tuple(model_card.flags({"metrics": model.metrics, "data": card_fields(
            dataset, model, trainer, request.data is None)["data"]})))


def train_model(request: TrainRequest, settings: Settings, on_epoch=None) -> TrainResult:
    """Do one ``wildrydes train``: returns the summary dict."""
    check_request(request)
    trainer = choose_trainer.resolve(request.trainer)   # a missing MXNet is reported before anything else
    # Local input first: a missing or bad --data file must not start the emulator or call AWS.
    dataset = read_data(request.data) if request.data is not None else None
    if dataset is not None:
        check_work(dataset.rows, request.epochs)
    destination = destination_for(request, settings)
    if dataset is None:  # synthetic: generated only once the bucket is known to exist
        dataset = load_dataset(request)
    config = TrainConfig(predictor_type=request.predictor_type, epochs=request.epochs, seed=request.seed)
    if on_epoch is not None:
        on_epoch(0, request.epochs, None)     # training starts now (the target is checked, the rides read)
    model = choose_trainer.train_function(trainer)(dataset, config, on_epoch=on_epoch)
    card = card_fields(dataset, model, trainer, synthetic=request.data is None)
    data = package(model)
    verdict = None
    if request.breed is not None and isinstance(destination, BucketDestination):   # before latest.json moves
        from wildrydes_cli.training import gate
        validation = (gate.validation_set(model.validation_features, model.validation_labels)
                      if request.data is not None else None)   # synthetic: a larger sample of the breed's rides
        verdict = gate.breed_gate(destination.aws, destination.bucket, request.breed, data, validation,
                                  gate.GateOptions(max_regression=request.max_regression, force=request.force),
                                  {"flags": model_card.flags(card)})
    stored = None
    if request.data is not None and isinstance(destination, BucketDestination):   # for the deploy gate, later
        from wildrydes_cli.training import validation_rows
        stored = validation_rows.encode(model.validation_features, model.validation_labels)
    location = destination.deliver(data, request.breed, model.metrics, card, gate=verdict, validation=stored)
    served_by = destination.served_by() if request.breed is not None else None
    return replace(summary(request, dataset, model, location, trainer, served_by), gate=verdict)


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


def train_breeds(request: TrainRequest, count: int, settings: Settings, on_breed=None) -> TrainBreedsResult:
    """``--breeds N``: train and publish N synthetic breeds, each with its own weather sensitivity.

    (``synthetic.ground_truth(breed)``; each breed's is in its result's ``rule``.)
    """
    check_breeds_request(request, count)
    trainer = choose_trainer.resolve(request.trainer)
    train = choose_trainer.train_function(trainer)
    destination = BucketDestination.prepare(request, settings)   # --breeds refuses --save
    config = TrainConfig(predictor_type=request.predictor_type, epochs=request.epochs, seed=request.seed)
    from wildrydes_cli.training import gate
    options = gate.GateOptions(max_regression=request.max_regression, force=request.force)
    trained, refused = [], []
    seconds = 0.0
    for done, breed in enumerate(breed_names(count), start=1):
        dataset = load_dataset(replace(request, breed=breed))
        model = train(dataset, config)
        seconds += model.seconds
        card = card_fields(dataset, model, trainer, synthetic=True)
        data = package(model)
        try:   # each breed's latest.json moves only to a model not worse than the one it names
            verdict = gate.breed_gate(destination.aws, destination.bucket, breed, data, None, options,
                                      {"flags": model_card.flags(card)})
        except gate.GateRefusedError as exc:
            refused.append({"breed": breed, "metrics": model.metrics, "reason": str(exc.message),
                            "gate": exc.verdict.to_json() if exc.verdict is not None else None})
        else:
            location = destination.deliver(data, breed, model.metrics, card, gate=verdict)
            trained.append({"breed": breed, "key": location["key"], "metrics": model.metrics,
                            "rule": synthetic_rule(breed), "gate": verdict.to_json() if verdict else None})
        if on_breed is not None:
            on_breed(done, count)
    return TrainBreedsResult(predictor_type=request.predictor_type, synthetic=True, bucket=destination.bucket,
                             count=count, rows_per_breed=request.rows, epochs=request.epochs,
                             seconds=round(seconds, 3), breeds=trained, trainer=trainer, refused=tuple(refused))
