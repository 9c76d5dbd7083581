"""What each command returns: one frozen dataclass per command, with ``to_json()``.

Why typed results: the text rendering (``presentation``) and the ``--output
json`` form (``to_json``) read the same named fields, so a renamed field is a
type error found by mypy instead of a KeyError found by a user. ``to_json``
is the **contract** scripts rely on: the keys and their meaning do not change.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class Result:
    """Base of every command result: the JSON form is the fields, as they are named."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class GateResult(Result):
    """The quality gate before a model is served (deploy) or a breed's latest.json moves (train --breed)."""

    candidate: str
    served: str
    metric: str                # auc for a classifier, r2 for a regressor
    candidate_value: float | None
    served_value: float | None
    max_regression: float
    rows: int
    data: str                  # what the rows were: --gate-data's file, the candidate's validation split, synthetic
    passed: bool
    forced: bool = False       # it failed and --force served the candidate anyway
    seconds: float = 0.0
    flags: tuple[str, ...] = ()   # the candidate's metrics.json flags (too few rows, AUC 1.0 on synthetic rides)
    # Why the two were not compared (a model of other features than the ride sample's), else None.
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "flags": list(self.flags)}


@dataclass(frozen=True)
class CanaryState(Result):
    """A canary running on the function's alias: two versions, each with its MODEL_PATH, and the new one's share."""

    function_name: str
    alias_arn: str
    stable_version: str
    candidate_version: str
    percent: int               # of the requests the candidate answers, 1-99
    stable_model: str | None
    candidate_model: str | None


@dataclass(frozen=True)
class CanaryEndResult(Result):
    """``promote`` and a canary's ``rollback``: the alias on one version again, serving ``model_path`` to all."""

    action: str                # promote or rollback
    stack: str
    bucket: str
    function_name: str
    model_path: str            # what every request gets now
    other_model: str | None    # what the canary's other side was (no longer served)
    version: str               # the alias's version now
    alias_arn: str
    percent: int               # the canary's share before it ended
    invoke_url: str | None
    engine: str = "lean"
    pinned: bool = True        # later deploys keep model_path, as after deploy --model-path (newest unpins)


@dataclass(frozen=True)
class ScratchpadResult(Result):
    scratchpad: str
    bucket: str
    role: str
    changed: bool


@dataclass(frozen=True)
class BootstrapResult(Result):
    stack: str
    created: bool
    bucket: str
    role: str
    scratchpad: str
    updated: bool = False               # an earlier bootstrap's stack gained what this version adds
    sagemaker_role: str | None = None   # the execution role `train --on sagemaker` passes (ARN)


@dataclass(frozen=True)
class DeployResult(Result):
    stack: str
    stack_action: str          # created, updated or unchanged
    target: str
    region: str
    bucket: str
    model_path: str
    model_timestamp: str | None
    engine: str
    runtime: str
    memory_mb: int
    code_key: str
    function_name: str
    api_id: str
    invoke_url: str
    curl: str
    repaired: tuple[str, ...] = ()
    pinned: bool = False       # the model was chosen (--model-path, now or before): later deploys keep it
    kept: tuple[str, ...] = ()   # choices taken from the last deploy, in words ("engine mxnet", ...)
    role: str | None = None    # the function's existing role (--role), None for the one the stack made
    # The quality gate's verdict (None: no other model was served, so nothing to compare against).
    gate: GateResult | None = None
    auth: str = "none"         # who may call the API: none or api-key
    rate: float | None = None  # with api-key: the usage plan's throttle (requests/s, burst) and quota ("N/day")
    burst: int | None = None
    quota: str | None = None
    limits_enforced: str | None = None   # with api-key: "exact" (local target) or "best-effort" (API Gateway)
    usage: KeyUsage | None = None        # with api-key: the current key's requests today (UTC)
    credentials_export: str | None = None   # with iam: the command that puts credentials where curl reads them
    # deploy --canary, promote and rollback of a canary: the alias's versions, models and weight after it
    canary: CanaryState | None = None
    action: str = "deploy"     # deploy, canary, promote or rollback

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "repaired": list(self.repaired), "kept": list(self.kept),
                "gate": self.gate.to_json() if self.gate else None,
                "canary": self.canary.to_json() if self.canary else None}


@dataclass(frozen=True)
class PackageResult(Result):
    """``package``: the function's zip in the bucket, for ``create-stack`` by hand."""

    bucket: str
    code_key: str
    engine: str
    runtime: str
    bytes: int
    uploaded: bool             # False: that content was already there (the key names the content)
    template: str              # where this install keeps function.yml
    parameters: dict[str, str]  # what the template needs for this code (plus ModelPath, a role)


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
class CleanupResult(Result):
    """What cleanup removed, by kind; with nothing to do, the stack names it looked for."""

    target: str
    region: str
    nothing_to_do: bool
    function_stacks: list[str] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)
    apis: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)   # stacks the user chose not to delete when asked


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
    rule: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
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


@dataclass(frozen=True)
class LocalEnvResult(Result):
    """``local env``: the variables that point the AWS CLI and SDKs at the local target (``--unset``: their names)."""

    env: dict[str, str]
    unset: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"unset": list(self.unset)} if self.unset else dict(self.env)


@dataclass(frozen=True)
class LocalDaemonResult(Result):
    """``local start|stop|status|reset``: the emulator daemon as the action left it."""

    action: str                    # start, stop, status or reset: which words the text form uses
    running: bool
    pid: int | None = None
    port: int | None = None
    endpoint_url: str | None = None
    log_file: str | None = None
    started_at: float | None = None
    already_running: bool = False
    stale_pid: int | None = None   # a dead daemon's pid whose state file was removed
    recovery: dict | None = None   # ``local start --recover``: what was kept and set aside (journal_recovery)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["action"]         # the command says which; scripts read the daemon's facts
        return data


@dataclass(frozen=True)
class LocalCompactResult(Result):
    """``local compact``: what compacting the stopped emulator's journal did (``local/awsapi/compact.py``)."""

    journal_dir: str
    compacted: bool
    records_before: int
    records_after: int
    bytes_before: int
    bytes_after: int
    seconds: float
    reason: str


@dataclass(frozen=True)
class LogsResult(Result):
    """``logs``: the function's log events, newest last (one batch of them with --follow)."""

    log_group: str
    events: list[Any]          # logs.LogEvent, each with its own to_json()
    follow: bool = False       # a batch of --follow: JSON Lines, one compact object per batch
    compact: bool = False      # --compact: one line per request instead of every event
    requests: list[Any] = field(default_factory=list)   # with compact: logs.RequestLine, parsed from the events
    waiting: bool = False      # --follow before its first poll: a note on stderr, nothing on stdout

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


@dataclass(frozen=True)
class HistoryResult(Result):
    """``history``: what each deploy of the stack served, newest first (deploy/history.py's entries)."""

    stack: str
    bucket: str
    entries: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "bucket": self.bucket, "entries": list(self.entries)}


@dataclass(frozen=True)
class ApiKeyInfo:
    """One API key, without its value."""

    key_id: str
    name: str
    enabled: bool
    created: str | None = None


@dataclass(frozen=True)
class KeysResult(Result):
    """``keys show|list|rotate``: the stack's API key; its value only for ``show`` (asked for)."""

    action: str                      # show, list or rotate
    stack: str
    keys: list[ApiKeyInfo]
    value: str | None = None         # show only
    value_only: bool = False         # keys show --value: the value alone on stdout
    replaced: str | None = None      # rotate: the id of the key that stopped working
    auth: str = "api-key"            # the stack's mode (list: none or iam means no key)
    rate: float | None = None        # the usage plan's limits
    burst: int | None = None
    quota: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "value_only"}
        if self.value is None:
            data.pop("value")
        return data
