"""Results of the commands that make and change a deployment: scratchpad, bootstrap, deploy (its gate and canary), package, cleanup, history, keys.

One module of ``wildrydes_cli.results`` (its ``__init__`` says why typed results).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from wildrydes_cli.results.base import Result

if TYPE_CHECKING:   # annotations only: the modules would import each other
    from wildrydes_cli.results.observing import KeyUsage


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
    sagemaker_role_stack: str | None = None   # its stack, when not ``stack`` (beside the workshop's own)

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
