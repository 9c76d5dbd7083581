"""The quality gate: a candidate model replaces the served one only if it is not worse on the same rows.

Why: ``deploy`` served whatever model was newest, so a 2-epoch test model became
the served one with no warning. Before ``deploy`` switches MODEL_PATH, and
before ``train --breed`` moves a breed's ``latest.json``, both models are scored
on the same held-out rows (``--gate-data FILE``; else the candidate's own validation
split when it was trained on a file — for deploy, the rows ``train --data`` stored beside
it, ``validation_rows.py``; else a synthetic sample no default model trained on). A
candidate whose AUC (R² for a regressor) is lower than the served model's by
more than ``--max-regression`` is refused with both figures (exit 3, nothing
changed) unless ``--force``. ``deploy`` stands beside ``training`` in the
package rule, so the CLI hands it the gate as a function (``deploy_gate``).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from wildrydes_cli import layout, model_card
from wildrydes_cli.errors import ModelRefusedError, NotFoundError, UsageError
from wildrydes_cli.results import GateResult
from wildrydes_cli.training import metrics as metric_fns
from wildrydes_cli.training import scoring
from wildrydes_cli.training.data import Dataset, read_data

if TYPE_CHECKING:
    from wildrydes_cli.aws.client import Aws

LOG = logging.getLogger(__name__)

DEFAULT_MAX_REGRESSION = 0.01
GATE_ROWS = 20_000


class GateRefusedError(ModelRefusedError):
    """The candidate is worse than the served model by more than allowed (exit 3, nothing changed)."""

    def __init__(self, message: str, verdict: GateResult | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict   # both figures, for a summary of many (train --breeds); None: not comparable


@dataclass(frozen=True)
class GateOptions:
    data: Path | None = None        # --gate-data: the held-out rows to compare on
    max_regression: float = DEFAULT_MAX_REGRESSION
    force: bool = False


def check_options(options: GateOptions) -> None:
    if not (0.0 <= options.max_regression <= 1.0) or math.isnan(options.max_regression):
        raise UsageError(f"--max-regression must be between 0 and 1 (got {options.max_regression:g}): the drop "
                         "in AUC (R² for a regressor) a new model may show against the served one")


def _value(loaded: scoring.LoadedModel, dataset: Dataset) -> float | None:
    scores = scoring.score(loaded, dataset)
    if loaded.classifier:
        auc = metric_fns.auc(scores, dataset.labels)
        return None if math.isnan(auc) else auc
    return metric_fns.regression_metrics(scores, dataset.labels)["r2"]


def compare(candidate: scoring.LoadedModel, served: scoring.LoadedModel, dataset: Dataset, data: str,
            options: GateOptions, card: dict | None = None) -> GateResult:
    """Score both on ``dataset``; refuse (GateRefusedError) a candidate worse by more than allowed, unless forced."""
    started = time.perf_counter()
    metric = "auc" if candidate.classifier else "r2"
    try:
        scoring.columns_for(candidate, dataset)
        scoring.columns_for(served, dataset)
    except scoring.FeatureMismatchError as exc:   # not a model of these rows: no figure compares the two
        if dataset.source.startswith("synthetic"):
            LOG.info("quality gate skipped: %s", exc)
            return GateResult(candidate=candidate.name, served=served.name, metric=metric, candidate_value=None,
                              served_value=None, max_regression=options.max_regression, rows=dataset.rows,
                              data=data, passed=True, skipped=f"{exc}; pass --gate-data FILE of its features")
        raise
    if candidate.classifier != served.classifier:
        if not options.force:
            raise GateRefusedError(
                f"The candidate {candidate.name} is a {candidate.model.predictor_type} and the served model "
                f"{served.name} a {served.model.predictor_type}: the gate cannot compare them. Nothing was "
                "changed; --force serves it anyway.")
        return GateResult(candidate=candidate.name, served=served.name, metric=metric, candidate_value=None,
                          served_value=None, max_regression=options.max_regression, rows=0, data=data,
                          passed=False, forced=True)
    ours, theirs = _value(candidate, dataset), _value(served, dataset)
    if (ours is None or theirs is None) and options.force:
        return GateResult(candidate=candidate.name, served=served.name, metric=metric, candidate_value=ours,
                          served_value=theirs, max_regression=options.max_regression, rows=dataset.rows, data=data,
                          passed=False, forced=True)
    if ours is None or theirs is None:
        raise UsageError(f"the gate's rows ({data}) hold one class only, so no AUC compares the two models: "
                         "pass --gate-data FILE with both labels, or --force")
    assert ours is not None and theirs is not None
    passed = ours >= theirs - options.max_regression - 1e-12
    flags = tuple((card or {}).get("flags") or ())
    result = GateResult(candidate=candidate.name, served=served.name, metric=metric, candidate_value=ours,
                        served_value=theirs, max_regression=options.max_regression, rows=dataset.rows, data=data,
                        passed=passed, forced=not passed and options.force,
                        seconds=round(time.perf_counter() - started, 3), flags=flags)
    if not passed and not options.force:
        raise GateRefusedError(
            f"The candidate {candidate.name} has {metric} {ours:.4f} on {dataset.rows:,} rows of {data}, "
            f"the served model {served.name} {theirs:.4f}: worse by {theirs - ours:.4f}, more than "
            f"--max-regression {options.max_regression:g}. Nothing was changed; --force serves it anyway.", result)
    return result


def held_out(options: GateOptions, breed: str | None = None) -> tuple[Dataset, str]:
    """The rows to compare on and their description: --gate-data, else a synthetic sample."""
    if options.data is not None:
        return read_data(options.data), Path(options.data).name
    from wildrydes_cli.training.evaluate import SAMPLE_SEED, sample
    return sample(GATE_ROWS, SAMPLE_SEED, breed), f"SYNTHETIC rides (seed {SAMPLE_SEED}; --gate-data FILE for yours)"


def read_model(aws: Aws, bucket: str, key: str) -> scoring.LoadedModel:
    artifact = scoring._function_module("artifact")
    size, body = aws.read_object(bucket, key, artifact.MAX_ARCHIVE_BYTES)
    if body is None:
        raise ModelRefusedError(f"s3://{bucket}/{key} is {size:,} bytes, over the function's archive bound")
    return scoring.load(body, key)


def deploy_gate(options: GateOptions) -> Callable[[Aws, str, str, str], GateResult | None]:
    """The gate ``deploy`` runs before it switches the served model (candidate key, served key, one bucket)."""
    check_options(options)
    dataset_once: list[tuple[Dataset, str]] = []
    if options.data is not None:   # a bad --gate-data is refused before deploy starts anything
        dataset_once.append(held_out(options))

    def gate(aws: Aws, bucket: str, candidate_key: str, served_key: str) -> GateResult | None:
        try:
            served = read_model(aws, bucket, served_key)
        except (NotFoundError, ModelRefusedError) as exc:   # nothing servable to compare against
            LOG.info("quality gate skipped: the served model %s cannot be read (%s)", served_key, exc)
            return None
        candidate = read_model(aws, bucket, candidate_key)
        dataset, data = dataset_once[0] if dataset_once else own_split(aws, bucket, candidate_key, options)
        return compare(candidate, served, dataset, data, options, model_card.read_card(aws, bucket, candidate_key))
    return gate


def own_split(aws: Aws, bucket: str, candidate_key: str, options: GateOptions) -> tuple[Dataset, str]:
    """Without --gate-data: the candidate's own validation rows stored beside it (``train --data``), else
    a synthetic sample, saying that the candidate has none."""
    from wildrydes_cli.training import validation_rows
    stored = validation_rows.read(aws, bucket, candidate_key)
    if stored is not None:
        return stored, f"the candidate's validation split ({validation_rows.NAME} stored beside it)"
    dataset, data = held_out(options)
    return dataset, f"{data}; the candidate has no {validation_rows.NAME} (trained on synthetic rides or elsewhere)"


def breed_gate(aws: Aws, bucket: str, breed: str, candidate: bytes, validation: Dataset | None,
               options: GateOptions, card: dict | None = None) -> GateResult | None:
    """Before ``train --breed`` moves ``latest.json``: the new model against the one it names (None: the first).

    The rows: ``--gate-data``; else, for a model trained on a file, its own validation split
    (``validation``); for synthetic rides (``validation`` None), a larger synthetic sample of the breed.
    """
    try:
        served_key = aws.read_json(bucket, layout.breed_index_key(breed))["key"]
        served = read_model(aws, bucket, served_key)
    except (NotFoundError, ModelRefusedError, ValueError, KeyError, TypeError):
        return None   # the breed's first model, or an index the function could not follow either
    loaded = scoring.load(candidate, f"the new {breed} model")
    if options.data is None and validation is not None:
        dataset, data = validation, "the new model's validation split"
    else:
        dataset, data = held_out(options, breed)
    return compare(loaded, served, dataset, data, options, card)


def validation_set(features: np.ndarray, labels: np.ndarray) -> Dataset:
    return Dataset(features=features, labels=labels, source="the validation split")
