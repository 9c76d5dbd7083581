"""``wildrydes evaluate``: score labelled rides with a model, offline, and say how good it is.

Why offline and here: a team needs a model's figures before it serves a
request, on the rows it chooses, without an endpoint. The model comes from the
data bucket (``--model KEY``, ``--breed NAME``, ``--deployed``, default the
newest) or a file (``--model PATH``, what ``train --save`` wrote; then no AWS
or emulator is needed); it is read with the function's own reader and scored
by ``scoring.py``. ``--against`` scores a second model on the same rows and
lists (a bounded number of) the rides on which they disagree. Without
``--data`` the rows are a fresh synthetic sample (a seed training does not use
by default), and the result says so.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wildrydes_cli import layout, model_card
from wildrydes_cli.errors import ModelRefusedError, NotFoundError, UsageError
from wildrydes_cli.results import EvaluateResult
from wildrydes_cli.settings import Settings
from wildrydes_cli.training import metrics as metric_fns
from wildrydes_cli.training import scoring
from wildrydes_cli.training.data import Dataset, read_data

if TYPE_CHECKING:
    from wildrydes_cli.aws.client import Aws

LOG = logging.getLogger(__name__)

SAMPLE_ROWS = 20_000
SAMPLE_SEED = 4_294_967_291    # not train's default seed (0): the sample is rows no default model trained on
MAX_SAMPLE_ROWS = 10_000_000
SHOWN_DISAGREEMENTS = 20
MAX_BREEDS_REPORTED = 1_000


@dataclass(frozen=True)
class EvaluateRequest:
    data: Path | None = None
    model: str | None = None        # a key in the data bucket, or a local model.tar.gz
    breed: str | None = None
    deployed: bool = False
    against: str | None = None
    bucket: str | None = None
    rows: int = SAMPLE_ROWS         # synthetic sample size without --data
    seed: int = SAMPLE_SEED


def check_request(request: EvaluateRequest) -> None:
    # --model with --breed: that model on the breed's synthetic rides; --deployed chooses the model alone.
    chosen = [name for name, given in (("--model", request.model), ("--breed", request.breed and not request.model),
                                       ("--deployed", request.deployed)) if given]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} each choose the model: give one of them")
    if request.breed is not None and not layout.is_breed_name(request.breed):
        raise UsageError(f"invalid breed name {request.breed!r}: use {layout.BREED_RULE}")
    if request.data is None and not 10 <= request.rows <= MAX_SAMPLE_ROWS:
        raise UsageError(f"--rows must be between 10 and {MAX_SAMPLE_ROWS:,} (got {request.rows})")


def sample(rows: int, seed: int = SAMPLE_SEED, breed: str | None = None) -> Dataset:
    from wildrydes_cli.training.synthetic import generate_rides
    return generate_rides(rows, seed=seed, breed=breed)


def data_description(dataset: Dataset, synthetic: bool) -> dict:
    name = dataset.source if synthetic else Path(dataset.source).name
    return model_card.describe_data(dataset.labels, "synthetic" if synthetic else "file", name,
                                    sha256=dataset.sha256, date_range=dataset.date_range)


def measure(loaded: scoring.LoadedModel, dataset: Dataset, scores: np.ndarray) -> dict:
    """The figures of one model on ``dataset``: metrics (confusion and calibration for a classifier), per breed."""
    if loaded.classifier:
        found = metric_fns.full_classification(scores, dataset.labels, loaded.threshold)
    else:
        found = {"metrics": metric_fns.regression_metrics(scores, dataset.labels)}
    if dataset.breeds is not None:
        found["per_breed"] = per_breed(loaded, dataset, scores)
    return found


def per_breed(loaded: scoring.LoadedModel, dataset: Dataset, scores: np.ndarray) -> dict:
    """Metrics for each breed in the file's breed column (the MAX_BREEDS_REPORTED largest)."""
    names, which, counts = np.unique(np.asarray(dataset.breeds, dtype=object), return_inverse=True,
                                     return_counts=True)
    order = np.argsort(-counts, kind="stable")[:MAX_BREEDS_REPORTED]
    table = {}
    for index in order:
        rows = which == index
        figures: dict[str, Any]
        if loaded.classifier:
            figures = dict(metric_fns.classification_metrics(scores[rows], dataset.labels[rows], loaded.threshold))
            if isinstance(figures["auc"], float) and np.isnan(figures["auc"]):
                figures["auc"] = None
        else:
            figures = metric_fns.regression_metrics(scores[rows], dataset.labels[rows])
        table[str(names[index]) or "(none)"] = {"rows": int(counts[index]), **figures}
    return table


def disagreements(loaded: scoring.LoadedModel, other: scoring.LoadedModel, dataset: Dataset, first: np.ndarray,
                  second: np.ndarray, shown: int = SHOWN_DISAGREEMENTS) -> dict:
    """Rides the two models label differently, each at its own threshold (regressors: the largest differences).

    At most ``shown`` are listed, in row order; ``count`` is all of them.
    """
    if loaded.classifier and other.classifier:
        differ = np.flatnonzero((first > loaded.threshold) != (second > other.threshold))
        count = int(differ.size)
        listed = differ[:shown]
    else:
        gap = np.abs(first - second)
        count = int(np.count_nonzero(gap > 1e-9 * np.maximum(1.0, np.abs(first))))
        listed = np.argsort(-gap, kind="stable")[:min(shown, count)]
    rides = [{"row": int(i) + 1, **{name: float(v) for name, v in zip(layout.FEATURES, dataset.features[i])},
              "label": float(dataset.labels[i]), "score": float(first[i]), "against_score": float(second[i])}
             for i in listed]
    return {"count": count, "share": count / dataset.rows, "rides": rides}


def evaluate(request: EvaluateRequest, settings: Settings) -> EvaluateResult:
    """Do one ``wildrydes evaluate``."""
    check_request(request)
    started = time.perf_counter()
    dataset = read_data(request.data) if request.data is not None else None   # a bad file before any AWS call
    models = ModelSource(request, settings)
    loaded = models.load_main()
    other = models.load(request.against) if request.against is not None else None
    if dataset is None:
        dataset = sample(request.rows, request.seed, request.breed)
    scores = scoring.score(loaded, dataset)
    figures = measure(loaded, dataset, scores)
    against = None
    if other is not None:
        other_scores = scoring.score(other, dataset)
        against = {"model": other.name, **measure(other, dataset, other_scores),
                   "disagreements": disagreements(loaded, other, dataset, scores, other_scores)}
    return EvaluateResult(model=loaded.name, predictor_type=loaded.model.predictor_type,
                          threshold=loaded.threshold if loaded.classifier else None,
                          synthetic=request.data is None, data=data_description(dataset, request.data is None),
                          figures=figures, against=against, card=models.card,
                          seconds=round(time.perf_counter() - started, 3))


class ModelSource:
    """Where ``evaluate``'s models come from: local files need nothing; keys need the target and bucket."""

    def __init__(self, request: EvaluateRequest, settings: Settings) -> None:
        self.request = request
        self.settings = settings
        self._aws: Aws | None = None
        self._bucket: str | None = None
        self.card: dict | None = None

    def aws(self) -> tuple[Aws, str]:
        if self._aws is None:
            from wildrydes_cli.aws.accounts import bind
            from wildrydes_cli.aws.client import Aws
            from wildrydes_cli.aws.data_bucket import require_data_bucket
            from wildrydes_cli.aws.target import resolve
            target = resolve(self.settings)
            self._aws = Aws(target)
            self.settings = bind(target.settings, self._aws)
            self._bucket = self.request.bucket or require_data_bucket(self.settings, self._aws, "evaluate from")
        assert self._bucket is not None
        return self._aws, self._bucket

    def load_main(self) -> scoring.LoadedModel:
        request = self.request
        if request.model is not None:
            return self.load(request.model, with_card=True)
        aws, bucket = self.aws()
        if request.breed is not None:
            try:
                key = aws.read_json(bucket, layout.breed_index_key(request.breed))["key"]
            except NotFoundError:
                raise NotFoundError(f"breed {request.breed} has no model in s3://{bucket}/ (no "
                                    f"{layout.breed_index_key(request.breed)}): `wildrydes train --breed "
                                    f"{request.breed}` makes one") from None
        elif request.deployed:
            from wildrydes_cli.aws.found_deployment import deployed_model
            key = deployed_model(self.settings, aws, bucket)
            if key is None:
                raise NotFoundError(f"no deployed function serves a model from s3://{bucket}/: pass --model KEY, "
                                    "or `wildrydes deploy` first")
        else:
            key = aws.newest_model_key(bucket)
            if key is None:
                raise NotFoundError(f"no model in s3://{bucket}/: run `wildrydes train`, or pass --model FILE")
        return self.load(key, with_card=True)

    def load(self, name: str, with_card: bool = False) -> scoring.LoadedModel:
        """A local file when ``name`` is one, else a key in the data bucket."""
        path = Path(name)
        if path.is_file():
            data = path.read_bytes()
            card_path = Path(model_card.card_key(str(path)))
            if with_card and card_path.is_file():
                self.card = model_card.parse_card(card_path.read_bytes())
            return scoring.load(data, str(path))
        aws, bucket = self.aws()
        key = name[len(f"s3://{bucket}/"):] if name.startswith(f"s3://{bucket}/") else name
        artifact = scoring._function_module("artifact")
        size, body = aws.read_object(bucket, key, artifact.MAX_ARCHIVE_BYTES)
        if body is None:
            raise ModelRefusedError(f"s3://{bucket}/{key} is {size:,} bytes, over the function's archive bound "
                                    f"of {artifact.MAX_ARCHIVE_BYTES:,} bytes")
        if with_card:
            self.card = model_card.read_card(aws, bucket, key)
        return scoring.load(body, key)
