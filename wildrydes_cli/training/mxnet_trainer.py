"""Train a linear model with MXNet the way SageMaker's linear-learner does.

The steps, and why each mirrors linear-learner:

1. a shuffled 90/10 train/validation split (the workshop notebook's split);
2. features standardised with the *training* split's mean and std (and the
   target too, for a regressor), so one learning rate suits features that
   range from ~30 (distance) to ~300 (TMAX);
3. a one-output dense layer trained with Adam on mini-batches: logistic loss
   for ``binary_classifier``, squared loss for ``regressor``;
4. the standardisation folded into the exported weights and bias, so the
   artifact scores raw features as SageMaker's does;
5. the decision threshold chosen on the validation split to maximise
   accuracy (linear-learner's default ``binary_classifier_model_selection_criteria``).

Everything random is driven by ``seed``: the same data and seed give the same
model, bit for bit.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from wildrydes_cli.errors import UsageError
from wildrydes_cli.training import metrics as metric_fns
from wildrydes_cli.training.data import LABEL, Dataset

LOG = logging.getLogger(__name__)

PREDICTOR_TYPES = ("binary_classifier", "regressor")
MIN_ROWS = 10
VALIDATION_FRACTION = 0.1
MAX_BATCH = 1000            # linear-learner's default mini_batch_size
MIN_STEPS_PER_EPOCH = 20    # small data sets still get enough optimizer steps

EpochCallback = Callable[[int, int, float], None]


@dataclass(frozen=True)
class TrainConfig:
    """What the user can choose about a training run."""

    predictor_type: str = "binary_classifier"
    epochs: int = 15            # linear-learner's default
    # Peak Adam rate, cosine-decayed to 0 over the epochs. 1.0 (not 0.1): the workshop's
    # label is a deterministic rule, so its rides are separable and the logit's scale
    # only grows with steps; at 0.1 the workshop's ride scored ~0.8, at 1.0 ~0.98
    # (tests/training/test_training_workshop.py). Squared loss is indifferent (same R²).
    learning_rate: float = 1.0
    seed: int = 0
    # linear-learner's hyperparameters beyond those (a SageMaker job's; local training keeps the defaults):
    mini_batch_size: int | None = None   # None: 1000, or fewer so that small data gets MIN_STEPS_PER_EPOCH steps
    wd: float = 0.0                      # L2 penalty on the weights
    l1: float = 0.0                      # L1 penalty on the weights
    normalize_data: bool = True          # standardise features (and a regressor's label) on the training rows
    selection: str = "accuracy"          # binary_classifier_model_selection_criteria: the threshold's goal
    f_beta: float = 1.0                  # beta when ``selection`` is f_beta


@dataclass(frozen=True)
class TrainedModel:
    """A trained model in raw-feature form plus how it did on the validation split.

    ``validation_scores`` are the training process's own predictions (the
    MXNet network on standardised features): the exported artifact must
    reproduce them from raw features.
    """

    predictor_type: str
    weights: tuple[float, ...]
    bias: float
    threshold: float
    metrics: dict[str, float | None]
    feature_names: tuple[str, ...]
    train_rows: int
    validation_rows: int
    epochs: int
    seconds: float
    loss_history: tuple[float, ...]
    validation_features: np.ndarray = field(repr=False)
    validation_labels: np.ndarray = field(repr=False)
    validation_scores: np.ndarray = field(repr=False)


def check_labels(labels: np.ndarray, predictor_type: str, source: str) -> None:
    """Reject labels a ``predictor_type`` cannot learn from, saying what to change."""
    if predictor_type not in PREDICTOR_TYPES:
        raise UsageError(f"--predictor-type must be one of {', '.join(PREDICTOR_TYPES)}, not {predictor_type!r}")
    if predictor_type != "binary_classifier":
        return
    bad = np.flatnonzero((labels != 0.0) & (labels != 1.0))
    if bad.size:
        row = int(bad[0]) + 1
        raise UsageError(f"{source} row {row}: {LABEL} is {labels[bad[0]]:g}, but a binary_classifier needs "
                         f"labels 0 or 1 (use --predictor-type regressor for numeric targets)")
    ones = bool((labels == 1.0).any())
    if ones != bool((labels == 0.0).any()) or labels.size == 0:
        raise UsageError(f"cannot train a classifier with one class: every {LABEL} in {source} is "
                         f"{int(ones)}; the data needs rides with both 0 and 1")


def split(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled 90/10 split of row indices (train, validation)."""
    order = np.random.default_rng(seed).permutation(rows)
    validation = max(1, int(round(rows * VALIDATION_FRACTION)))
    return order[validation:], order[:validation]


CHUNK_ROWS = 1_000_000   # rows standardised at a time: memory stays a float32 copy of the data, not float64 ones


@dataclass(frozen=True)
class Scaled:
    """The data and the standardisation of its training rows, applied a batch at a time.

    Why on the fly: a standardised copy of every row (and a shuffled copy per epoch)
    is what made 1M rides cost 449 MB; a batch of a thousand rows costs nothing.
    """

    features: np.ndarray
    labels: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    target_mean: float = 0.0
    target_std: float = 1.0

    def rows(self, index: np.ndarray) -> np.ndarray:
        # np.take, not features[index]: numpy 1.23 gathers a group of 65,536 shuffled rows of a 2-D array in
        # half the time (the same values); it was a third of a 1M-row training run
        return (np.take(self.features, index, axis=0) - self.mean) / self.std

    def targets(self, index: np.ndarray) -> np.ndarray:
        return (np.take(self.labels, index).astype(np.float64) - self.target_mean) / self.target_std


def _standardiser(values: np.ndarray, index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (population) of ``values[index]`` per column, in float64, read a chunk at a time."""
    rows = values.shape[0] if index is None else index.size
    columns = values.shape[1:] or (1,)

    def chunks():
        for start in range(0, rows, CHUNK_ROWS):
            part = values[start:start + CHUNK_ROWS] if index is None else values[index[start:start + CHUNK_ROWS]]
            yield part.astype(np.float64).reshape(-1, *columns)

    mean = sum((part.sum(axis=0) for part in chunks()), np.zeros(columns)) / rows
    variance = sum((((part - mean) ** 2).sum(axis=0) for part in chunks()), np.zeros(columns)) / rows
    std = np.sqrt(variance)
    return mean, np.where(std > 0, std, 1.0)   # a constant column keeps its (zero) weight


def scale(dataset: Dataset, train_idx: np.ndarray, config: TrainConfig) -> Scaled:
    """The standardisation of the training rows (identity when ``normalize_data`` is off)."""
    classifier = config.predictor_type == "binary_classifier"
    dimension = dataset.features.shape[1]
    if not config.normalize_data:
        return Scaled(dataset.features, dataset.labels, np.zeros(dimension), np.ones(dimension))
    mean, std = _standardiser(dataset.features, train_idx)
    if classifier:
        return Scaled(dataset.features, dataset.labels, mean, std)
    target_mean, target_std = _standardiser(dataset.labels, train_idx)
    return Scaled(dataset.features, dataset.labels, mean, std, float(target_mean[0]), float(target_std[0]))


def fold(weights: np.ndarray, bias: float, mean: np.ndarray, std: np.ndarray,
         target_mean: float = 0.0, target_std: float = 1.0) -> tuple[np.ndarray, float]:
    """Turn ``w . (x - mean) / std + b`` (then ``* target_std + target_mean``) into ``w' . x + b'``."""
    raw_weights = target_std * weights / std
    raw_bias = target_std * (bias - float(np.sum(weights * mean / std))) + target_mean
    return raw_weights, float(raw_bias)


GROUP_ROWS = 65_536   # rows gathered and standardised at once, then sliced into batches (a few MB)


def batch_groups(steps: int, batch: int) -> list[tuple[int, int]]:
    """(first, last) step ranges of about GROUP_ROWS rows: one gather per group, not per batch."""
    per_group = max(1, GROUP_ROWS // batch)
    return [(first, min(steps, first + per_group)) for first in range(0, steps, per_group)]


def _batch_size(train_rows: int, requested: int | None = None) -> int:
    if requested is not None:
        return max(1, min(requested, train_rows))
    return max(1, min(MAX_BATCH, train_rows // MIN_STEPS_PER_EPOCH))


def _fit(data: Scaled, train_idx: np.ndarray, config: TrainConfig, on_epoch: EpochCallback | None):
    """Adam on a one-output dense layer; returns (net, per-epoch mean losses)."""
    import mxnet as mx
    from mxnet import autograd, gluon, nd

    if config.l1:
        raise UsageError("the MXNet trainer has no L1 penalty: use --trainer numpy")
    mx.random.seed(config.seed)
    net = gluon.nn.Dense(1, in_units=data.features.shape[1], weight_initializer=mx.init.Zero(),
                         bias_initializer=mx.init.Zero())
    net.initialize(ctx=mx.cpu())
    net.hybridize(static_alloc=True)
    if config.predictor_type == "binary_classifier":
        loss_fn = gluon.loss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=False)
    else:
        loss_fn = gluon.loss.L2Loss()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": config.learning_rate, "wd": config.wd})
    rows = train_idx.size
    batch = _batch_size(rows, config.mini_batch_size)
    steps = rows // batch
    rng = np.random.default_rng(config.seed + 1)
    history = []
    for epoch in range(config.epochs):
        trainer.set_learning_rate(config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs)))
        order = train_idx[rng.permutation(rows)]
        total = nd.zeros((1,))
        for first, last in batch_groups(steps, batch):
            index = order[first * batch:last * batch]
            x_group = nd.array(data.rows(index), dtype="float32")
            y_group = nd.array(data.targets(index).reshape(-1, 1), dtype="float32")
            for step in range(last - first):
                x, y = x_group[step * batch:(step + 1) * batch], y_group[step * batch:(step + 1) * batch]
                with autograd.record():
                    loss = loss_fn(net(x), y)
                loss.backward()
                trainer.step(batch)
                total = total + loss.sum()
        mean_loss = float(total.asscalar()) / (steps * batch)
        history.append(mean_loss)
        if on_epoch is not None:
            on_epoch(epoch + 1, config.epochs, mean_loss)
    return net, tuple(history)


# A fit on standardised data: (weights, bias, loss per epoch, raw output of standardised rows).
Fitted = tuple[np.ndarray, float, tuple[float, ...], Callable[[np.ndarray], np.ndarray]]
FitFunction = Callable[[Scaled, np.ndarray, TrainConfig, "EpochCallback | None"], Fitted]


def sigmoid(values: np.ndarray) -> np.ndarray:
    """The logistic function without overflow for large negative values."""
    out = np.empty_like(values)
    positive = values >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-values[positive]))
    exp = np.exp(values[~positive])
    out[~positive] = exp / (1.0 + exp)
    return out


def run_training(dataset: Dataset, config: TrainConfig, on_epoch: EpochCallback | None, fit: FitFunction,
                 trainer: str, validation: Dataset | None = None) -> TrainedModel:
    """What every trainer does around its optimiser: check, split, standardise, ``fit``, fold the
    standardisation into raw-feature weights, score the validation rows, choose the threshold.

    ``validation``: rows to validate on (a SageMaker job's validation channel); without it 10% of
    ``dataset`` is held out. Why one function: the numpy trainer must equal the MXNet trainer
    (tests hold them to float32 noise); only the optimiser differs, so only it is written twice.
    """
    if config.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, not {config.epochs}")
    needed = MIN_ROWS if validation is None else 1
    if dataset.rows < needed:
        raise UsageError(f"{dataset.source} has {dataset.rows} rows; training needs at least {MIN_ROWS} "
                         "(90% to train, 10% to validate)")
    check_labels(dataset.labels, config.predictor_type, dataset.source)
    started = time.perf_counter()
    if validation is None:
        train_idx, valid_idx = split(dataset.rows, config.seed)
        x_valid, y_valid = dataset.features[valid_idx], dataset.labels[valid_idx]
    else:
        train_idx = np.arange(dataset.rows)
        x_valid, y_valid = validation.features, validation.labels
    y_valid = y_valid.astype(np.float64)
    data = scale(dataset, train_idx, config)
    classifier = config.predictor_type == "binary_classifier"
    weights, bias, history, raw = fit(data, train_idx, config, on_epoch)
    raw_output = raw((x_valid - data.mean) / data.std)
    scores = sigmoid(raw_output) if classifier else raw_output * data.target_std + data.target_mean
    raw_weights, raw_bias = fold(weights, bias, data.mean, data.std, data.target_mean, data.target_std)
    if classifier:
        threshold = metric_fns.choose_threshold(scores, y_valid, config.selection, config.f_beta)
        results = metric_fns.classification_metrics(scores, y_valid, threshold)
    else:
        threshold = 0.5
        results = metric_fns.regression_metrics(scores, y_valid)
    metrics: dict[str, float | None] = {key: (None if isinstance(value, float) and math.isnan(value) else value)
                                        for key, value in results.items()}
    seconds = time.perf_counter() - started
    LOG.info("trained %s with %s on %d rows in %.2f s: %s", config.predictor_type, trainer, len(train_idx),
             seconds, metrics)
    return TrainedModel(
        predictor_type=config.predictor_type, weights=tuple(float(w) for w in raw_weights), bias=raw_bias,
        threshold=float(threshold), metrics=metrics, feature_names=tuple(dataset.feature_names),
        train_rows=int(len(train_idx)), validation_rows=int(len(y_valid)), epochs=config.epochs,
        seconds=seconds, loss_history=history, validation_features=x_valid,
        validation_labels=y_valid, validation_scores=scores,
    )


def _fit_mxnet(data: Scaled, train_idx: np.ndarray, config: TrainConfig,
               on_epoch: EpochCallback | None) -> Fitted:
    net, history = _fit(data, train_idx, config, on_epoch)
    from mxnet import nd

    def raw(z: np.ndarray) -> np.ndarray:
        return net(nd.array(z, dtype="float32")).asnumpy().ravel().astype(np.float64)

    weights = net.weight.data().asnumpy().ravel().astype(np.float64)
    return weights, float(net.bias.data().asnumpy().ravel()[0]), history, raw


def train(dataset: Dataset, config: TrainConfig = TrainConfig(),
          on_epoch: EpochCallback | None = None, validation: Dataset | None = None) -> TrainedModel:
    """Train on ``dataset`` with MXNet and return the raw-feature model with validation metrics."""
    return run_training(dataset, config, on_epoch, _fit_mxnet, "mxnet", validation)
