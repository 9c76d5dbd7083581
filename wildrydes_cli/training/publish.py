"""Put a trained model where SageMaker would have: the data bucket, under a training-job key.

Why SageMaker's naming (**contract**): the deploy step, the workshop's
instructions and the function all look for
``linear-learner-YYYY-MM-DD-HH-MM-SS-mmm/output/model.tar.gz`` and take the
newest by that timestamp. A breed's models live under ``breeds/<breed>/`` with
an index object ``breeds/<breed>/latest.json`` written *after* the model, so a
reader that follows the index never finds a half-written model.

Each time ``latest.json`` moves, one more object records it beside the index
(``breeds/<breed>/latest-moves/<UTC time>.json``: the model, the one before, how
it moved — the gate passed, ``--force``, or nothing to compare against — the
gate's figures and who). Why there and not in the deploy history: ``latest.json``
is moved by ``train``, which has no stack (the deploy history is per stack and
written by ``deploy/``), and a breed's history belongs with the breed, where
``models --breed`` lists its models anyway. One object per move, never a
read-modify-write list, so two people training one breed cannot lose a line.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from wildrydes_cli import layout, model_card, modelcheck
from wildrydes_cli.errors import UsageError, WildrydesError

if TYPE_CHECKING:
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.results import GateResult

LOG = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-gzip"


def validate_breed(name: str) -> str:
    """Return ``name`` if it is a valid breed name, else raise UsageError saying the rule."""
    if not layout.is_breed_name(name):
        raise UsageError(f"invalid breed name {name!r}: use {layout.BREED_RULE}")
    return name


def job_name(now: datetime) -> str:
    """SageMaker's training-job name for this instant: ``linear-learner-YYYY-MM-DD-HH-MM-SS-mmm`` (UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    now = now.astimezone(timezone.utc)
    return f"linear-learner-{now:%Y-%m-%d-%H-%M-%S}-{now.microsecond // 1000:03d}"


def model_key(now: datetime, breed: str | None = None) -> str:
    key = f"{job_name(now)}/output/model.tar.gz"
    return f"{layout.breed_prefix(validate_breed(breed))}{key}" if breed is not None else key


def latest_key(breed: str) -> str:
    return layout.breed_index_key(validate_breed(breed))


def _iso(now: datetime) -> str:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def card_for(data: bytes, now: datetime, card: dict) -> dict:
    """The metrics card of the model ``data`` published at ``now``: ``card``'s fields (model_card.make_card's)."""
    return model_card.make_card(trained_at=_iso(now), model_sha256=hashlib.sha256(data).hexdigest(), **card)


def write_card(aws: Aws, bucket: str, key: str, card: dict) -> str:
    """Put ``card`` as the model's ``metrics.json`` beside ``key`` (after the model: a card implies its model)."""
    where = model_card.card_key(key)
    aws.put_object(bucket, where, json.dumps(card, sort_keys=True).encode("utf-8"), "application/json")
    LOG.info("wrote s3://%s/%s", bucket, where)
    return where


def publish_model(aws: Aws, bucket: str, data: bytes, breed: str | None = None,
                  now: datetime | None = None, metrics: dict | None = None, card: dict | None = None,
                  gate: GateResult | None = None, by: str | None = None, validation: bytes | None = None) -> str:
    """Upload ``data`` (a model.tar.gz), its ``metrics.json`` and, for a breed, then its ``latest.json``.

    ``card``: the fields of the model's metrics card (model_card.make_card's but the time and sha256);
    every model ``train`` publishes has one. ``gate``, ``by``: the breed's move, as recorded (``record_move``).
    ``validation``: its held-out rows (validation_rows.encode), written beside it for the deploy gate.
    Returns the model key.
    """
    if breed is not None:
        validate_breed(breed)
    modelcheck.check_model(data, "The trained model")  # nothing is uploaded unless the function could serve it
    now = now or datetime.now(timezone.utc)
    key = model_key(now, breed)
    aws.put_object(bucket, key, data, CONTENT_TYPE)
    LOG.info("uploaded s3://%s/%s (%d bytes)", bucket, key, len(data))
    if validation is not None:
        from wildrydes_cli.training import validation_rows
        validation_rows.write(aws, bucket, key, validation)
    if card is not None:
        write_card(aws, bucket, key, card_for(data, now, card))
    if breed is not None:
        write_index(aws, bucket, breed, key, data, now, metrics, gate=gate, by=by)
    return key


def write_index(aws: Aws, bucket: str, breed: str, key: str, data: bytes, now: datetime,
                metrics: dict | None, gate: GateResult | None = None, by: str | None = None) -> None:
    """A breed's ``latest.json``, written after its model (``key``, whose bytes are ``data``) is in place,
    then the move recorded (``record_move``)."""
    index = {"key": key, "trained_at": _iso(now), "metrics": metrics or {},
             "sha256": hashlib.sha256(data).hexdigest()}
    if len(data) <= layout.INLINE_MODEL_MAX_BYTES:
        # The function reads this index first anyway: carrying a small model
        # here saves the second S3 GET on a breed's first request.
        index["model_base64"] = base64.b64encode(data).decode("ascii")
    aws.put_object(bucket, latest_key(breed), json.dumps(index, sort_keys=True).encode("utf-8"),
                   "application/json")
    LOG.info("updated s3://%s/%s", bucket, latest_key(breed))
    record_move(aws, bucket, breed, key, gate, by)


def caller(aws: Aws) -> str | None:
    """Who moves a breed's latest.json (the caller's ARN), asked once per command; None when STS cannot say."""
    try:
        return aws.caller_arn()
    except WildrydesError as exc:
        LOG.info("who moved latest.json is not recorded: %s", exc)
        return None


def how_moved(gate: GateResult | None) -> str:
    """Why ``latest.json`` moved: the gate passed, --force over a failed gate, the gate skipped, or not gated."""
    if gate is None:
        return "not gated"       # the breed's first model, or no model latest.json named could be read
    if gate.skipped:
        return "gate skipped"
    return "forced" if gate.forced else "gate passed"


def move_key(breed: str, now: datetime) -> str:
    now = now.astimezone(timezone.utc) if now.tzinfo else now.replace(tzinfo=timezone.utc)
    return f"{layout.breed_moves_prefix(breed)}{now:%Y-%m-%dT%H-%M-%S}.{now.microsecond:06d}Z.json"


def record_move(aws: Aws, bucket: str, breed: str, key: str, gate: GateResult | None, by: str | None,
                now: datetime | None = None) -> None:
    """One object saying ``latest.json`` now names ``key``; a failure to write it is logged, the move stands."""
    now = now or datetime.now(timezone.utc)   # when it moved, not when the model was trained
    entry = {"moved_at": _iso(now), "key": key, "previous": gate.served if gate is not None else None,
             "how": how_moved(gate), "gate": gate.to_json() if gate is not None else None, "by": by}
    try:
        aws.put_object(bucket, move_key(breed, now), json.dumps(entry, sort_keys=True).encode("utf-8"),
                       "application/json")
    except WildrydesError as exc:
        LOG.warning("latest.json of %s moved to %s, but the move was not recorded: %s", breed, key, exc)


def save_model(path: Path | str, data: bytes) -> Path:
    """``--save PATH``: write the artifact locally instead of uploading it."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"--save {path} is a directory; give a file name such as {path / 'model.tar.gz'}")
    if not path.parent.exists():
        raise UsageError(f"--save {path}: directory {path.parent} does not exist")
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write --save {path}: {exc.strerror or exc}") from None
    return path

