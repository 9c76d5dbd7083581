"""The deploy history: which model each deploy served, when, by whom, with its metrics; and ``rollback``.

Why in the data bucket, one object per deploy: a team shares the bucket, not a
laptop's state directory, so everyone's ``wildrydes history`` shows the same
list; one object per deploy (``deploy-history/<stack>/<time>.json``) needs no
read-modify-write, so two deploys from two machines cannot lose each other's
line. Who is the caller's ARN (``sts get-caller-identity``), as CloudTrail would
name them. ``rollback`` serves the model served before the current one (or
``--to KEY``) through the same ``deploy`` (pinned, as ``--model-path`` pins),
without the quality gate: going back to what was served is the point. During a
canary it moves the alias back instead (``canary.py``), one call.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Callable

from wildrydes_cli import model_card
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.aws.found_deployment import deployment_in_use
from wildrydes_cli.errors import NotFoundError, UsageError, WildrydesError
from wildrydes_cli.progress import Progress
from wildrydes_cli.results import CanaryEndResult, DeployResult, HistoryResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

HISTORY_PREFIX = "deploy-history/"
MAX_ENTRIES = 1_000   # the newest entries read by history and rollback


def prefix(stack: str) -> str:
    return f"{HISTORY_PREFIX}{stack}/"


def entry_key(stack: str, now: datetime) -> str:
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H-%M-%S") + f".{now.microsecond // 1000:03d}Z"
    return f"{prefix(stack)}{stamp}.json"


def record(aws: Aws, result: DeployResult, previous: str | None, action: str,
           now: datetime | None = None) -> str | None:
    """Write one entry for a deploy that finished; a failure to write is said, never undoes the deploy."""
    extra = {"canary_percent": result.canary.percent} if result.canary else {}
    return record_entry(aws, result.bucket, result.stack, result.model_path, previous, action, result.engine,
                        result.pinned, result.gate.to_json() if result.gate else None, now, extra)


def record_end(aws: Aws, result: CanaryEndResult, now: datetime | None = None) -> str | None:
    """``promote`` or a canary's ``rollback``: the model every request gets now, the canary's other side before."""
    return record_entry(aws, result.bucket, result.stack, result.model_path, result.other_model, result.action,
                        result.engine, result.pinned, None, now, {"canary_percent": result.percent})


def record_entry(aws: Aws, bucket: str, stack: str, model_path: str, previous: str | None, action: str,
                 engine: str, pinned: bool, gate: dict[str, Any] | None, now: datetime | None = None,
                 extra: dict[str, Any] | None = None) -> str | None:
    now = now or datetime.now(timezone.utc)
    try:
        card = model_card.read_card(aws, bucket, model_path)
        entry = {"deployed_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                 "action": action, "stack": stack, "model_path": model_path,
                 "previous_model": previous, "by": aws.caller_arn(), "engine": engine,
                 "pinned": pinned, "metrics": (card or {}).get("metrics"),
                 "flags": (card or {}).get("flags") or [], "data": (card or {}).get("data"),
                 "gate": gate, **(extra or {})}
        key = entry_key(stack, now)
        aws.put_object(bucket, key, json.dumps(entry, sort_keys=True).encode("utf-8"), "application/json")
        return key
    except WildrydesError as exc:
        LOG.warning("deployed, but the deploy history was not written: %s", exc)
        return None


def entries(aws: Aws, bucket: str, stack: str, limit: int = MAX_ENTRIES) -> list[dict[str, Any]]:
    """The stack's entries, newest first (keys sort by time); unreadable ones are reported in place."""
    keys = sorted((item["Key"] for item in aws.list_keys(bucket, prefix(stack))), reverse=True)[:limit]
    found = []
    for key in keys:
        try:
            entry = aws.read_json(bucket, key)
            if not isinstance(entry, dict):
                raise ValueError
        except (ValueError, NotFoundError):
            entry = {"problem": f"{key} is not a deploy history entry"}
        found.append(entry)
    return found


def history(settings: Settings, aws: Aws, limit: int) -> HistoryResult:
    """``wildrydes history``: the deployment in use's entries, newest first."""
    deployment, _ = deployment_in_use(settings, aws)
    if deployment is None:
        raise NotFoundError("Nothing deployed here yet, so there is no deploy history: run `wildrydes deploy`.")
    return HistoryResult(stack=deployment.stack, bucket=deployment.bucket,
                         entries=tuple(entries(aws, deployment.bucket, deployment.stack, limit)))


def previous_model(found: list[dict[str, Any]], current: str | None) -> str | None:
    """The newest model in the history that is not the one served now (a canary's model was never served alone)."""
    for entry in found:
        if entry.get("action") == "canary":
            continue
        model = entry.get("model_path")
        if isinstance(model, str) and model and model != current:
            return model
    return None


def rollback(settings: Settings, aws: Aws, to: str | None, console: Progress,
             deploy: Callable[[str], DeployResult]) -> DeployResult | CanaryEndResult:
    """Serve the model served before the current one (or ``to``); ``deploy(model_path)`` does the deploy.

    During a canary, without ``to``: the alias back on the served model's version alone, one call.
    """
    deployment, _ = deployment_in_use(settings, aws)
    if deployment is None:
        raise UsageError("Nothing is deployed, so there is nothing to roll back: run `wildrydes deploy`.")
    if aws.canary_state(deployment.function_name) is not None:
        from wildrydes_cli.deploy import canary  # canary.py records its entries here: imported when needed
        if to is not None:
            raise UsageError("A canary is running: `wildrydes rollback` without --to ends it (every request back to "
                             "the served model); then `wildrydes rollback --to KEY`.")
        ended = canary.end_by_rollback(settings, aws)
        if ended is not None:
            console.info(f"Canary ended: every request to {ended.model_path} again (version {ended.version}).")
            return ended
    if to is None:
        config = aws.function_config(deployment.function_name) or {}
        current = ((config.get("Environment") or {}).get("Variables") or {}).get("MODEL_PATH") \
            or deployment.model_path
        to = previous_model(entries(aws, deployment.bucket, deployment.stack), current)
        if to is None:
            raise UsageError(f"No previous model in the deploy history of {deployment.stack} (s3://"
                             f"{deployment.bucket}/{prefix(deployment.stack)}): only {current} was served. "
                             "Pass --to KEY to serve another model.")
    console.info(f"Rolling back to {to} (pinned: `wildrydes deploy --model-path newest` moves on again).")
    return deploy(to)
