"""The data bucket's layout (**contract**), in one place for the CLI.

Publishing (``train``), listing (``models``) and asking (``predict --breed``)
must agree with each other and with the deployed function (lambda/models.py,
which cannot import this package and keeps its own copy; a test holds the two
equal) on where a breed's models live and what a breed name may be::

    breeds/<breed>/linear-learner-<timestamp>/output/model.tar.gz
    breeds/<breed>/latest.json      {"key": ..., "trained_at": ..., "metrics": {...},
                                     "sha256": ..., "model_base64": ... (models up to 64 KiB)}
    breeds/<breed>/latest-moves/<UTC time>.json   one object each time latest.json moved:
                                     {"moved_at", "key", "previous", "how", "gate", "by"}

A breed name is also a path segment and part of an S3 key, so the rule is
strict: nothing that could climb out of ``breeds/<breed>/``.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

# contract: the notebook's feature order, which models are trained on; requests name
# features and the function maps them to this order (lambda/formats.py keeps its copy).
FEATURES = ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")

# SageMaker names training jobs linear-learner-YYYY-MM-DD-HH-MM-SS-mmm; the
# timestamp in the key, not LastModified, says which model is newest.
# A suffix after the timestamp is allowed (job names like ...-000-retry); two
# jobs with one timestamp are then a tie, which LastModified breaks.
MODEL_KEY_RE = re.compile(r"(?:^|/)linear-learner-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3})[^/]*/output/model\.tar\.gz$")
DEFAULT_MODELS_PREFIX = "linear-learner-"

# \Z, not $: "$" also matches before a trailing newline, which must not reach an S3 key.
BREED_RE = re.compile(r"\A[a-z0-9][a-z0-9-]{0,62}\Z")
BREED_RULE = "1-63 lowercase letters, digits and '-', starting with a letter or digit (e.g. 'pegasus' or 'shire-2')"
BREEDS_PREFIX = "breeds/"
INDEX_NAME = "latest.json"
# How often a warm function re-reads a breed's index (its MODEL_REFRESH_SECONDS, lambda/config.py's default):
# a newly published breed model is served within this.
REFRESH_VARIABLE = "MODEL_REFRESH_SECONDS"
DEFAULT_REFRESH_SECONDS = 60.0
# A model this small also travels inside its index, so the function needs one
# GET, not two, for a breed's first request (a linear model of ~16,000 features).
INLINE_MODEL_MAX_BYTES = 64 * 1024


def is_breed_name(name: object) -> bool:
    return isinstance(name, str) and BREED_RE.match(name) is not None


def breed_prefix(breed: str) -> str:
    return f"{BREEDS_PREFIX}{breed}/"


def breed_index_key(breed: str) -> str:
    return f"{breed_prefix(breed)}{INDEX_NAME}"


MOVES_NAME = "latest-moves"


def breed_moves_prefix(breed: str) -> str:
    """Where the history of a breed's ``latest.json`` is kept: one object per move, named by its time."""
    return f"{breed_prefix(breed)}{MOVES_NAME}/"


def model_timestamp(key: str) -> str | None:
    """The training job's timestamp in a model key, or None when the key is not a model's."""
    match = MODEL_KEY_RE.search(key)
    return match.group(1) if match else None


def is_default_model(key: str) -> bool:
    """A ``linear-learner-<ts>/output/model.tar.gz`` directly under the root (per-breed ones are not)."""
    return model_timestamp(key) is not None and key.count("/") == 2


def newest_default_model(items: Iterable[dict[str, Any]]) -> str | None:
    """Key of the newest default model among listed objects (Key, LastModified).

    Newest by SageMaker's timestamp in the key; LastModified breaks ties.
    """
    best: tuple | None = None
    for item in items:
        key = item["Key"]
        if not is_default_model(key):
            continue
        rank = (model_timestamp(key), item.get("LastModified"), key)
        if best is None or rank > best:
            best = rank
    return best[2] if best else None


# What no S3 bucket name can ever be. Today's rule (3-63 lowercase letters, digits, '.' and
# '-') is stricter, but buckets created in us-east-1 before March 2018 may still have
# capitals and '_' (up to 255 characters), and such a bucket must stay usable.
_BUCKET_CHARS_RE = re.compile(r"\A[A-Za-z0-9._-]{3,255}\Z")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` (as typed after ``--bucket``) cannot name an S3 bucket, or None."""
    if name.lower().startswith(("s3://", "arn:")):
        bare = name.split(":::" if name.lower().startswith("arn:") else "://", 1)[-1].split("/", 1)[0]
        return f"takes a bucket name, not an S3 URL or ARN: use --bucket {bare}"
    if "/" in name:
        return "takes the bucket's name alone, without a key or '/' (models are found inside it)"
    if not _BUCKET_CHARS_RE.match(name):
        return ("is not an S3 bucket name: 3 to 63 characters of lowercase letters, digits, '.' and '-' "
                "(e.g. the DataBucket that `wildrydes bootstrap` prints)")
    return None


def function_log_group(function_name: str) -> str:
    """The CloudWatch Logs group Lambda writes a function's lines to (the same on both targets)."""
    return f"/aws/lambda/{function_name}"
