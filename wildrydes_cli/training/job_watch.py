"""Waiting for SageMaker training jobs: status transitions, Ctrl-C, the model afterwards, and a queue of them.

Why a queue for ``--breeds``: SageMaker's quota on instances in running training
jobs is small by default (a few per instance type, per account and region; the
Service Quotas console shows yours), and a request past it is refused with
ResourceLimitExceeded. So at most ``--concurrent-jobs`` jobs are in flight; the
rest wait their turn, and a quota refusal puts a job back in the queue instead of
failing the batch.

Ctrl-C while waiting asks whether to stop the job (StopTrainingJob; it ends
``Stopped`` without a model) or leave it running (``wildrydes jobs`` and
``wildrydes logs --training JOB`` find it later).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wildrydes_cli import linear_learner as ll
from wildrydes_cli import model_card, modelcheck
from wildrydes_cli.errors import AwsError
from wildrydes_cli.results import SageMakerBreedsResult, TrainJobResult
from wildrydes_cli.settings import Settings
from wildrydes_cli.training import publish, sagemaker_job
from wildrydes_cli.training.made_ahead import MadeAhead
from wildrydes_cli.training.sagemaker_job import Place, SageMakerOptions

LOG = logging.getLogger(__name__)

FINISHED = ("Completed", "Failed", "Stopped")
MAX_MODEL_BYTES = 64 * 1024 * 1024

OnStatus = Callable[[dict], None]          # each description while waiting
AskStop = Callable[[str], bool]            # Ctrl-C: stop this job? (False: leave it running)


def metrics_of(description: dict) -> dict[str, float]:
    return ll.validation_metrics(description.get("FinalMetricDataList") or [])


def seconds_between(description: dict, start: str, end: str) -> float | None:
    first, last = description.get(start), description.get(end)
    if isinstance(first, datetime) and isinstance(last, datetime):
        return (last - first).total_seconds()
    return None


BACKOFF = 1.5


def poll_intervals(first: float, most: float) -> Callable[[str], float]:
    """The next wait, given the status just seen: ``first``, then 1.5x longer each look up to ``most``;
    ``first`` again after a change (one state's end is a sign the next is near: Uploading, Completed)."""
    seen: list[str] = []
    next_s = [first]

    def interval(status: str) -> float:
        if seen != [status]:
            seen[:], next_s[0] = [status], first
        wait_s = next_s[0]
        next_s[0] = min(most, wait_s * BACKOFF)
        return wait_s
    return interval


def wait(place: Place, name: str, poll: float, on_status: OnStatus | None, ask_stop: AskStop | None,
         sleep: Callable[[float], None] | None = None, first_poll: float | None = None) -> dict:
    """Describe the job until it ends (or the user leaves it running): first after ``first_poll``
    seconds, backing off to every ``poll`` seconds (``poll_intervals``)."""
    stopping = False
    interval = poll_intervals(min(first_poll or poll, poll), poll)
    while True:
        try:
            description = place.aws.describe_training_job(name) or {}
            if on_status is not None:
                on_status(description)
            if description.get("TrainingJobStatus") in FINISHED:
                return description
            status = f"{description.get('TrainingJobStatus')}/{description.get('SecondaryStatus')}"
            (sleep or time.sleep)(interval(status))
        except KeyboardInterrupt:
            if stopping or ask_stop is None or not ask_stop(name):
                return place.aws.describe_training_job(name) or {}
            place.aws.stop_training_job(name)
            stopping = True


def card_of(dataset: Any, synthetic: bool, predictor_type: str, epochs: int, split: dict[str, int]) -> dict[str, Any]:
    """What the job's model card will say of its data (finish adds the job's metrics); ``split``: the rows
    of the train and validation channels, as a local run's card gives them."""
    name = dataset.source if synthetic else Path(dataset.source).name
    data = model_card.describe_data(dataset.labels, "synthetic" if synthetic else "file", name,
                                    sha256=dataset.sha256, date_range=dataset.date_range,
                                    train_rows=split["train"], validation_rows=split["validation"],
                                    classifier=predictor_type == "binary_classifier")
    return {"data": data, "predictor_type": predictor_type, "trainer": "sagemaker", "epochs": epochs}


def finish(place: Place, description: dict, breed: str | None, card: dict[str, Any] | None = None,
           gate_options: Any = None, validation: Any = None) -> dict[str, Any]:
    """The model a completed job wrote: checked with the function's own reader; its metrics.json (``card``,
    with the job's validation metrics) beside it, as ``train`` writes one; a breed's index written.

    With ``gate_options`` (gate.GateOptions), a breed's index moves only if the quality gate passes
    (on ``validation``, the job's validation rows, else the breed's synthetic sample); refused, the model
    stays published under its job key, with its card, and GateRefusedError says so (exit 3).
    """
    uri = (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts", "")
    bucket, _, key = uri[len("s3://"):].partition("/")
    size, data = place.aws.read_object(bucket, key, MAX_MODEL_BYTES)
    if data is None:
        raise AwsError(f"the model of training job {description['TrainingJobName']} at {uri} is {size:,} bytes, "
                       f"more than the {MAX_MODEL_BYTES // 2**20} MiB the function reads")
    modelcheck.check_model(data, f"The model of training job {description['TrainingJobName']}")
    location = {"bucket": bucket, "key": key, "location": uri, "bytes": len(data)}
    end = description.get("TrainingEndTime") or datetime.now(timezone.utc)
    if card is not None:
        threshold = modelcheck._function_module("artifact").read_model_archive(data).threshold
        fields = {**card, "metrics": metrics_of(description), "threshold": threshold}
        published = publish.card_for(data, end, fields)
        location["metrics_key"] = publish.write_card(place.aws, bucket, key, published)
        location["flags"] = published["flags"]      # shown under the metrics, as a local run shows its own
    if breed is not None:
        verdict = None
        if gate_options is not None:
            verdict = _gate(place, bucket, breed, key, data, validation, gate_options, card)
        publish.write_index(place.aws, bucket, breed, key, data, end, metrics_of(description), gate=verdict,
                            by=publish.caller(place.aws))
        location["index"] = publish.latest_key(breed)
        if verdict is not None:
            location["gate"] = verdict.to_json()
    return location


def _gate(place: Place, bucket: str, breed: str, key: str, data: bytes, validation: Any, options: Any,
          card: dict[str, Any] | None) -> Any:
    """The breed gate after the job succeeded, before latest.json is written (training/gate.py)."""
    from wildrydes_cli.training import gate
    flags = model_card.flags({**(card or {}), "metrics": {}})
    try:
        return gate.breed_gate(place.aws, bucket, breed, data, validation, options, {"flags": flags})
    except gate.GateRefusedError as exc:
        raise gate.GateRefusedError(
            f"{exc.message} The job's model stays at s3://{bucket}/{key} (with its metrics.json); latest.json of "
            f"breed {breed} was not moved to it.", exc.verdict) from None


def result(place: Place, request: dict, description: dict, started: float, *, data: str, synthetic: bool,
           breed: str | None, epochs: int, options: SageMakerOptions, model: dict | None,
           rule: dict | None) -> TrainJobResult:
    """The command's result from the job's last description."""
    resources = description.get("ResourceConfig") or request["ResourceConfig"]
    return TrainJobResult(
        job_name=request["TrainingJobName"], status=description.get("TrainingJobStatus", "InProgress"),
        secondary_status=description.get("SecondaryStatus", "Starting"),
        failure_reason=description.get("FailureReason"), target=place.target, region=place.region,
        instance_type=resources["InstanceType"], instance_count=int(resources["InstanceCount"]),
        spot=bool(request.get("EnableManagedSpotTraining")), predictor_type=request["HyperParameters"]["predictor_type"],
        data=data, synthetic=synthetic, breed=breed, rows=request["rows"], epochs=epochs,
        metrics=metrics_of(description), model={k: v for k, v in (model or {}).items() if k != "flags"},
        flags=tuple((model or {}).get("flags", ())),
        training_seconds=description.get("TrainingTimeInSeconds"),
        billable_seconds=description.get("BillableTimeInSeconds"),
        seconds=round(time.monotonic() - started, 3),
        channels=f"s3://{place.bucket}/{sagemaker_job.TRAINING_PREFIX}{request['TrainingJobName']}/",
        transitions=[t.get("Status", "") for t in description.get("SecondaryStatusTransitions") or []],
        rule=rule, content_type=request["InputDataConfig"][0]["ContentType"])


def run_job(train_request: Any, options: SageMakerOptions, settings: Settings, on_status: OnStatus | None = None,
            ask_stop: AskStop | None = None) -> TrainJobResult:
    """One ``train --on sagemaker``: refuse early, upload, create, and (unless --no-wait) wait for the model."""
    from wildrydes_cli.training import service
    from wildrydes_cli.training.data import read_data

    service.check_request(replace(train_request, save=None))
    sagemaker_job.check_options(options, train_request.epochs, train_request.predictor_type)
    dataset = read_data(train_request.data) if train_request.data is not None else None   # the user's file first
    # Synthetic rides are made while the target is checked (made_ahead.py); a refusal still comes at once.
    rides = (MadeAhead(service.load_dataset, train_request, name="rides") if dataset is None
             else MadeAhead.done(dataset))
    place = sagemaker_job.prepare(settings, train_request.bucket, options.role, options.instance_type,
                                  options.job_name)
    name = options.job_name or sagemaker_job.new_job_name()
    sagemaker_job.check_name_free(place.aws, name)
    dataset = rides.result()
    started = time.monotonic()
    request = sagemaker_job.start_job(place, name, options, dataset, train_request.seed, train_request.epochs,
                                      train_request.predictor_type, train_request.breed)
    description: dict = {}
    model = None
    if options.wait:
        description = wait(place, name, place.aws.target.job_poll_s, on_status, ask_stop,
                           first_poll=place.aws.target.job_poll_first_s)
        if description.get("TrainingJobStatus") == "Completed":
            from wildrydes_cli.training import gate
            model = finish(place, description, train_request.breed,
                           card_of(dataset, train_request.data is None, train_request.predictor_type,
                                   train_request.epochs, request["rows"]),
                           gate_options=gate.GateOptions(max_regression=train_request.max_regression,
                                                         force=train_request.force),
                           validation=_validation(dataset, train_request))
    synthetic = train_request.data is None
    outcome = result(place, request, description, started, data=dataset.source, synthetic=synthetic,
                     breed=train_request.breed, epochs=train_request.epochs, options=options, model=model,
                     rule=service.synthetic_rule(train_request.breed) if synthetic else None)
    if outcome.status == "Failed":
        raise AwsError(f"training job {name} failed: {outcome.failure_reason or 'no reason given'}. Its log: "
                       f"wildrydes logs --training {name}")
    return outcome


def _validation(dataset: Any, train_request: Any) -> Any:
    """The job's validation rows (the same split start_job uploaded) when it trained on a file, for the gate;
    None for synthetic rides (the gate uses a larger sample of the breed's)."""
    if train_request.breed is None or train_request.data is None:
        return None
    from wildrydes_cli.training.gate import validation_set
    from wildrydes_cli.training.mxnet_trainer import split
    _, valid_idx = split(dataset.rows, train_request.seed)
    return validation_set(dataset.features[valid_idx], dataset.labels[valid_idx])


@dataclass
class _Queued:
    breed: str
    name: str = ""
    request: dict = field(default_factory=dict)
    card: dict = field(default_factory=dict)


def run_breed_jobs(train_request: Any, count: int, options: SageMakerOptions, settings: Settings,
                   on_breed: Callable[[int, int], None] | None = None,
                   sleep: Callable[[float], None] | None = None) -> SageMakerBreedsResult:
    """``--breeds N --on sagemaker``: one job per breed, at most ``concurrent_jobs`` in flight, models indexed.

    Each breed's latest.json moves only through the quality gate (``finish``); a refused breed's model
    stays under its job key and the breed is listed in ``refused`` (the CLI exits 3), as ``--on local``.
    """
    from wildrydes_cli.training import gate, service

    service.check_breeds_request(replace(train_request, save=None), count)
    sagemaker_job.check_options(replace(options, job_name=None), train_request.epochs, train_request.predictor_type)
    place = sagemaker_job.prepare(settings, train_request.bucket, options.role, options.instance_type)
    poll = place.aws.target.job_poll_s
    queue = [_Queued(breed) for breed in service.breed_names(count)]
    flying: list[_Queued] = []
    done: list[dict] = []
    refused: list[dict] = []
    gate_options = gate.GateOptions(max_regression=train_request.max_regression, force=train_request.force)
    most = 0
    started = time.monotonic()
    base = datetime.now(timezone.utc)
    while queue or flying:
        while queue and len(flying) < options.concurrent_jobs:
            item = queue[0]
            # one millisecond apart: SageMaker's names carry milliseconds, and each must be new
            item.name = item.name or sagemaker_job.new_job_name(base + _ms(len(done) + len(flying)))
            dataset = service.load_dataset(replace(train_request, breed=item.breed))
            try:
                item.request = sagemaker_job.start_job(place, item.name, options, dataset, train_request.seed,
                                                       train_request.epochs, train_request.predictor_type, item.breed)
            except sagemaker_job_quota():
                if not flying:
                    raise                      # not even one job fits the quota: say so
                break                          # SageMaker's quota: the job waits for one in flight to end
            item.card = card_of(dataset, True, train_request.predictor_type, train_request.epochs,
                                item.request["rows"])
            flying.append(queue.pop(0))
        most = max(most, len(flying))
        (sleep or time.sleep)(poll)
        for item in list(flying):
            description = place.aws.describe_training_job(item.name) or {}
            if description.get("TrainingJobStatus") not in FINISHED:
                continue
            flying.remove(item)
            row = {"breed": item.breed, "job": item.name, "status": description["TrainingJobStatus"],
                   "metrics": metrics_of(description), "key": None, "gate": None,
                   "failure_reason": description.get("FailureReason"),
                   "billable_seconds": description.get("BillableTimeInSeconds")}
            if row["status"] == "Completed":
                _finish_breed(place, description, item, row, gate_options, refused)
            done.append(row)
            if on_breed is not None:
                on_breed(len(done), count)
    done.sort(key=lambda r: r["breed"])
    return SageMakerBreedsResult(
        predictor_type=train_request.predictor_type, synthetic=True, bucket=place.bucket, count=count,
        rows_per_breed=train_request.rows, epochs=train_request.epochs, seconds=round(time.monotonic() - started, 3),
        concurrent_jobs=options.concurrent_jobs, most_in_flight=most,
        failed=sum(1 for r in done if r["status"] != "Completed"), instance_type=options.instance_type,
        billable_seconds=sum(int(r["billable_seconds"] or 0) for r in done), breeds=done,
        content_type=sagemaker_job.CONTENT_TYPES[options.content_type][0],
        refused=tuple(sorted(refused, key=lambda r: r["breed"])))


def _finish_breed(place: Place, description: dict, item: _Queued, row: dict, gate_options: Any,
                  refused: list[dict]) -> None:
    """A breed's completed job: its model checked and carded, then latest.json moved if the gate passes
    (``row`` gets the model's key and the verdict); refused, the breed goes into ``refused`` with both
    figures, in the shape ``train --breeds N --on local`` gives, and its job key."""
    from wildrydes_cli.training import gate
    try:
        location = finish(place, description, item.breed, item.card, gate_options=gate_options)
    except gate.GateRefusedError as exc:
        uri = (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts", "")
        row["key"] = uri[len("s3://"):].partition("/")[2] or None
        row["gate"] = exc.verdict.to_json() if exc.verdict is not None else None
        refused.append({"breed": item.breed, "job": item.name, "key": row["key"], "metrics": row["metrics"],
                        "reason": str(exc.message), "gate": row["gate"]})
        return
    row["key"] = location["key"]
    row["gate"] = location.get("gate")


def _ms(milliseconds: int):
    from datetime import timedelta
    return timedelta(milliseconds=milliseconds)


def sagemaker_job_quota():
    from wildrydes_cli.aws.training_jobs import QuotaExceeded
    return QuotaExceeded
