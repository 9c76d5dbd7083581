"""Results of train: a local run, many breeds, a SageMaker job or many, and the jobs list.

One module of ``wildrydes_cli.results`` (its ``__init__`` says why typed results).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from wildrydes_cli.results.base import Result

if TYPE_CHECKING:   # annotations only: the modules would import each other
    from wildrydes_cli.results.deploying import GateResult


@dataclass(frozen=True)
class TrainResult(Result):
    predictor_type: str
    data: str
    synthetic: bool
    breed: str | None
    rows: dict[str, int]
    epochs: int
    seconds: float
    threshold: float | None
    metrics: dict[str, Any]
    model: dict[str, Any]      # where it went: saved_to, or bucket/key/location (and index for a breed)
    rule: dict[str, Any] | None = None   # the rule that labelled SYNTHETIC rides (None with --data)
    trainer: str = "mxnet"               # which trainer ran (train --trainer)
    # A breed model: the deployed function that serves it, within refresh_seconds ({function, refresh_seconds,
    # source: "function" (its MODEL_REFRESH_SECONDS) or "default"}); None without a deployed function.
    served_by: dict[str, Any] | None = None
    flags: tuple[str, ...] = ()          # what about the model must not be celebrated (model_card.flags)
    gate: GateResult | None = None       # --breed: the quality gate before latest.json moved (None: first model)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["flags"] = list(self.flags)
        data["gate"] = self.gate.to_json() if self.gate else None
        if self.rule is None:
            del data["rule"]
        return data

@dataclass(frozen=True)
class TrainBreedsResult(Result):
    predictor_type: str
    synthetic: bool
    bucket: str
    count: int
    rows_per_breed: int
    epochs: int
    seconds: float
    breeds: list[dict[str, Any]]
    trainer: str = "mxnet"
    # Breeds whose latest.json the quality gate kept on the better model ({breed, metrics, reason, gate}):
    # the new model was not published; exit 3 when any (--force moves them anyway).
    refused: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "refused": list(self.refused)}

@dataclass(frozen=True)
class TrainJobResult(Result):
    """``train --on sagemaker``: the training job, how it ended (or that it runs on), its metrics and model."""

    job_name: str
    status: str                 # InProgress (with --no-wait, or left running), Completed, Stopped
    secondary_status: str
    failure_reason: str | None
    target: str
    region: str
    instance_type: str
    instance_count: int
    spot: bool
    predictor_type: str
    data: str
    synthetic: bool
    breed: str | None
    rows: dict[str, int]
    epochs: int
    metrics: dict[str, Any]     # FinalMetricDataList's validation metrics, named as a local run names them
    model: dict[str, Any]       # bucket/key/location/bytes (and index for a breed) once Completed
    training_seconds: int | None
    billable_seconds: int | None
    seconds: float              # from the upload to the end of waiting, on this machine's clock
    channels: str               # s3://bucket/training/<job>/
    transitions: list[str] = field(default_factory=list)
    content_type: str = "application/x-recordio-protobuf"   # the channels' format (train --content-type)
    rule: dict[str, Any] | None = None
    flags: tuple[str, ...] = ()          # the model card's (model_card.flags), as TrainResult has them

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["flags"] = list(self.flags)
        if self.rule is None:
            del data["rule"]
        return data

@dataclass(frozen=True)
class SageMakerBreedsResult(Result):
    """``train --breeds N --on sagemaker``: one job per breed through a queue."""

    predictor_type: str
    synthetic: bool
    bucket: str
    count: int
    rows_per_breed: int
    epochs: int
    seconds: float
    concurrent_jobs: int        # the queue's limit
    most_in_flight: int         # the most jobs that ran at once
    failed: int
    instance_type: str
    billable_seconds: int
    breeds: list[dict[str, Any]]
    content_type: str = "application/x-recordio-protobuf"   # the channels' format (train --content-type)
    # Breeds whose latest.json the quality gate kept on the better model ({breed, job, key, metrics, reason,
    # gate}): the job's model stays under its job key; exit 3 when any (--force moves them anyway).
    refused: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "refused": list(self.refused)}

@dataclass(frozen=True)
class JobsResult(Result):
    """``jobs``: recent training jobs, newest first."""

    target: str
    region: str
    jobs: list[dict[str, Any]]  # name, status, secondary_status, created, metrics, model, billable_seconds, ...
