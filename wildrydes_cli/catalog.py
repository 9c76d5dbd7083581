"""``wildrydes models``: which models the data bucket holds.

Lists the default models (SageMaker's ``linear-learner-<timestamp>/output/
model.tar.gz`` at the bucket root, newest first) and one row per breed with
its newest model, when it was trained and its validation metrics, read from
the ``breeds/<breed>/latest.json`` index that publishing writes. The index
objects are read in parallel: with thousands of breeds one GET at a time
would take seconds.
"""
from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from wildrydes_cli.aws import MODEL_KEY_RE
from wildrydes_cli.layout import BREEDS_PREFIX, INDEX_NAME, breed_index_key

LOG = logging.getLogger(__name__)

PARALLEL_READS = 16
HEADLINE_METRICS = ("auc", "accuracy", "rmse", "r2")


def _breed_names(s3, bucket: str) -> list[str]:
    names: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=BREEDS_PREFIX, Delimiter="/"):
        names += [p["Prefix"][len(BREEDS_PREFIX):-1] for p in page.get("CommonPrefixes", [])]
    return names


def _read_index(s3, bucket: str, breed: str) -> dict:
    """One breed's row; a missing or broken index is reported in the row, not raised."""
    key = breed_index_key(breed)
    row: dict = {"breed": breed, "model_path": None, "trained_at": None, "metrics": {}, "problem": None}
    try:
        index = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        row.update(model_path=index["key"], trained_at=index.get("trained_at"),
                   metrics=index.get("metrics") or {})
    except s3.exceptions.NoSuchKey:
        row["problem"] = f"no {INDEX_NAME}: the function cannot find this breed's model"
    except (ValueError, KeyError, TypeError):
        row["problem"] = f"{INDEX_NAME} is not a valid index"
    return row


def list_models(aws, bucket: str, breeds_only: bool = False) -> dict:
    """The bucket's default models and breeds, as a JSON-ready dict."""
    with aws.translate(f"list the models in s3://{bucket}"):
        s3 = aws.client("s3")
        default = []
        if not breeds_only:
            for item in aws.list_keys(bucket, "linear-learner-"):
                match = MODEL_KEY_RE.search(item["Key"])
                if match:
                    default.append({"model_path": item["Key"], "timestamp": match.group(1),
                                    "bytes": item.get("Size")})
            default.sort(key=lambda m: m["timestamp"], reverse=True)
        names = _breed_names(s3, bucket)
        with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
            breeds = list(pool.map(lambda name: _read_index(s3, bucket, name), names))
    return {"bucket": bucket, "default_models": default, "breeds": breeds}


def _metric_summary(metrics: dict) -> str:
    shown = [f"{name} {metrics[name]:.3f}" for name in HEADLINE_METRICS
             if isinstance(metrics.get(name), (int, float))]
    return ", ".join(shown) or "-"


def render(result: dict, console) -> None:
    """Two tables: default models (newest first) and breeds."""
    defaults = result["default_models"]
    if defaults:
        console.table(["model path", "trained (UTC)"],
                      [[m["model_path"], m["timestamp"]] for m in defaults],
                      title=f"Default models in s3://{result['bucket']} (newest first; deploy serves the newest)")
    breeds = result["breeds"]
    if breeds:
        console.table(["breed", "newest model", "trained at", "validation"],
                      [[b["breed"], b["model_path"] or f"({b['problem']})", b["trained_at"] or "-",
                        _metric_summary(b["metrics"])] for b in breeds],
                      title=f"{len(breeds)} breeds (POST {{invoke URL}}breeds/<breed>)")
    if not defaults and not breeds:
        console.line(f"No models in s3://{result['bucket']} yet: run `wildrydes train` "
                     "(or `wildrydes train --breed NAME`).")
