"""Results of the commands that read: status, predict, models (and a breed's history), logs, evaluate.

One module of ``wildrydes_cli.results`` (its ``__init__`` says why typed results).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from wildrydes_cli.results.base import Result

if TYPE_CHECKING:   # annotations only: the modules would import each other
    from wildrydes_cli.results.deploying import CanaryState


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    runtime: str | None
    memory_mb: int | None
    engine: str | None
    model_path: str | None
    last_modified: str | None

@dataclass(frozen=True)
class KeyUsage:
    """The API key's requests on one UTC day, as API Gateway's GetUsage reports them."""

    day: str                      # YYYY-MM-DD, UTC
    used: int
    remaining: int | None         # of the quota's period; None without a quota
    counted: str                  # "exact" (the local target's front) or "best-effort" (API Gateway)

@dataclass(frozen=True)
class StatusResult(Result):
    """``deployed`` False: only the stacks are known, and the JSON form has only those keys."""

    target: str
    region: str
    stacks: dict[str, str]
    deployed: bool
    stack: str | None = None
    bucket: str | None = None
    function: FunctionInfo | None = None
    api_id: str | None = None
    invoke_url: str | None = None
    deployed_model: str | None = None
    newest_model: str | None = None
    up_to_date: bool = False
    deployed_at: str | None = None
    # Parts of the recorded deployment the target no longer has ("stack", "function", "API").
    missing: tuple[str, ...] = ()
    # Why, on this target, a recorded deployment can be gone ('' when only a person deletes it).
    gone_hint: str = ""
    # Other regions of this target (and account) where deployments are recorded: "absent" here is not "none".
    other_regions: tuple[str, ...] = ()
    # False: no deployment recorded, found from the function stacks (the workshop's steps done by hand).
    recorded: bool = True
    # The deployed model was chosen with --model-path and stays until --model-path newest.
    pinned: bool = False
    # The deployed model's metrics.json (model_card.py); None: it has none ("no metrics").
    deployed_card: dict[str, Any] | None = None
    # Who may call the API (none or api-key) and, with a key, the usage plan's limits.
    auth: str = "none"
    rate: float | None = None
    burst: int | None = None
    quota: str | None = None
    limits_enforced: str | None = None   # with api-key: "exact" (local target) or "best-effort" (API Gateway)
    canary: CanaryState | None = None    # a canary running on the alias (deploy --canary), else None
    usage: KeyUsage | None = None        # with api-key: the current key's requests today (UTC)

    @property
    def gone(self) -> bool:
        return bool(self.missing)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["missing"] = list(self.missing)
        data["other_regions"] = list(self.other_regions)
        del data["gone_hint"]   # words for the text form; scripts read "missing"
        if not self.deployed:
            return {k: data[k] for k in ("target", "region", "stacks", "deployed", "other_regions")}
        return data

@dataclass(frozen=True)
class PredictResult(Result):
    """One ride: where it went, how long it took, and the function's answer with a readable label."""

    url: str
    breed: str | None
    latency_ms: float
    request: dict[str, Any]
    answer: dict[str, Any]     # the function's fields (score, predicted_label, ...) and "label"
    explained: bool = False    # --explain asked for contributions (they are in ``answer`` when sent)
    # --breed: the breed's published model when the function answered with an older one
    # ({model_path, trained_at, refresh_seconds}); None when it answered with the newest.
    newer_model: dict[str, Any] | None = None

    @property
    def score(self) -> Any:
        return self.answer.get("score")

    def to_json(self) -> dict[str, Any]:
        data = {"url": self.url, "breed": self.breed, "latency_ms": self.latency_ms, "request": self.request,
                **self.answer}
        if self.newer_model:
            data["newer_model"] = self.newer_model
        return data

@dataclass(frozen=True)
class BatchPredictResult(Result):
    url: str
    breed: str | None
    count: int
    requests: int
    latency_ms: float
    predictions: list[dict[str, Any]]   # each ride's input columns (features and the file's others), then its answer
    explained: bool = False    # --explain asked for contributions (each prediction carries them)
    input_columns: list[str] = field(default_factory=list)   # the file's column order (the CSV output keeps it)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["explained"], data["input_columns"]
        return data

@dataclass(frozen=True)
class DefaultModel:
    model_path: str
    timestamp: str
    bytes: int | None
    deployed: bool = False     # the model the deployed function serves (its MODEL_PATH)
    # Its metrics.json (model_card.py): None when it has none ("no metrics"); {"problem": ...} when unreadable.
    card: dict[str, Any] | None = None

@dataclass(frozen=True)
class BreedRow:
    breed: str
    model_path: str | None = None
    trained_at: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

@dataclass(frozen=True)
class ModelsResult(Result):
    bucket: str
    default_models: tuple[DefaultModel, ...]
    breeds: tuple[BreedRow, ...]
    deployed_model: str | None = None   # what the deployed function serves from this bucket (None: nothing)

    def to_json(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "default_models": [asdict(m) for m in self.default_models],
                "breeds": [asdict(b) for b in self.breeds], "deployed_model": self.deployed_model}

@dataclass(frozen=True)
class BreedModel:
    model_path: str
    timestamp: str
    bytes: int | None
    latest: bool = False       # the model the breed's latest.json names (what the function serves for it)
    card: dict[str, Any] | None = None   # as DefaultModel's

@dataclass(frozen=True)
class BreedHistoryResult(Result):
    """``models --breed NAME``: its models newest first, latest.json's, and each move of latest.json, newest first
    (training/publish.py's records: moved_at, key, previous, how, gate, by)."""

    bucket: str
    breed: str
    latest: str | None
    latest_problem: str | None
    models: tuple[BreedModel, ...]
    moves: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "breed": self.breed, "latest": self.latest,
                "latest_problem": self.latest_problem, "models": [asdict(m) for m in self.models],
                "moves": list(self.moves)}

@dataclass(frozen=True)
class LogsResult(Result):
    """``logs``: the function's log events, newest last (one batch of them with --follow)."""

    log_group: str
    events: list[Any]          # logs.LogEvent, each with its own to_json()
    follow: bool = False       # a batch of --follow: JSON Lines, one compact object per batch
    compact: bool = False      # --compact: one line per request instead of every event
    requests: list[Any] = field(default_factory=list)   # with compact: logs.RequestLine, parsed from the events
    waiting: bool = False      # --follow before its first poll: a note on stderr, nothing on stdout
    training: bool = False     # logs --training: each line's instance (algo-N) instead of a request id

    def to_json(self) -> dict[str, Any]:
        if self.compact:
            return {"log_group": self.log_group, "requests": [r.to_json() for r in self.requests]}
        return {"log_group": self.log_group, "events": [e.to_json() for e in self.events]}

@dataclass(frozen=True)
class EvaluateResult(Result):
    """``evaluate``: one model's figures on labelled rows (and a second model's, with --against)."""

    model: str                 # the key in the data bucket, or the file
    predictor_type: str
    threshold: float | None    # the model's own (a classifier's labels are score > threshold)
    synthetic: bool            # the rows were generated (no --data)
    data: dict[str, Any]       # model_card.describe_data: rows, label share, dates, source, sha256
    # metrics (with log_loss for a classifier), confusion {tp, fp, fn, tn}, calibration (ten bins),
    # per_breed when the rows have a breed column
    figures: dict[str, Any]
    # --against: {"model", the same figures, "disagreements": {"count", "share", "rides": [...]}}
    against: dict[str, Any] | None = None
    card: dict[str, Any] | None = None   # the model's metrics.json (None: it has none)
    seconds: float = 0.0
