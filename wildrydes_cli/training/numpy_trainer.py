"""Train the same linear model as ``mxnet_trainer.py`` with numpy alone, for Pythons without MXNet.

Why a second trainer: MXNet 1.9.1 needs numpy < 1.24, which has no wheels past
Python 3.11, so on 3.12 and 3.13 ``wildrydes train`` must work without it. A
one-output dense layer is small enough to train by hand, and this module
repeats the MXNet trainer step for step so the two give the same model within
floating-point noise (tests/training/test_numpy_trainer.py holds them together on the
same data where both are installed):

- the same 90/10 split, standardisation, batch size, epoch shuffles (same
  seeds), zero initialisation and cosine-decayed learning rate;
- the same losses: logistic (``SigmoidBinaryCrossEntropyLoss``) for a
  ``binary_classifier``, half squared error (``L2Loss``) for a ``regressor``;
- MXNet's Adam update (beta1 0.9, beta2 0.999, epsilon 1e-8, the bias
  correction folded into the learning rate) on the batch-mean gradient;
- the same folding of the standardisation into the exported weights and the
  same threshold choice, so the artifact is written exactly as before.

It computes in float64 where MXNet computes in float32; that is the noise.
Nothing here depends on the label's name: the caller's ``Dataset`` carries
features, labels and feature names.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from wildrydes_cli.training.data import Dataset
from wildrydes_cli.training.mxnet_trainer import (
    EpochCallback,
    Fitted,
    Scaled,
    TrainConfig,
    TrainedModel,
    _batch_size,
    batch_groups,
    run_training,
    sigmoid,
)

LOG = logging.getLogger(__name__)

NAME = "numpy"
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8   # MXNet's (and Adam's paper's) defaults


def _linear(z: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return z @ weights + bias


def _loss_and_gradient(outputs: np.ndarray, targets: np.ndarray, classifier: bool) -> tuple[float, np.ndarray]:
    """Summed loss over the batch and d(loss)/d(output) per row, as MXNet's gluon losses define them."""
    if classifier:
        # relu(x) - x*y + log(1 + exp(-|x|)): logistic loss on the logit, stable for any x.
        loss = np.maximum(outputs, 0.0) - outputs * targets + np.log1p(np.exp(-np.abs(outputs)))
        # The derivative MXNet's autograd takes of that formula: sigmoid(x) - y, except at x == 0
        # exactly, where relu' and abs' are 0 and it gives -y. That is every row of the first step
        # (weights start at zero), and it decides which way the bias first moves.
        gradient = (outputs > 0) - targets - np.sign(outputs) * sigmoid(-np.abs(outputs))
        return float(loss.sum()), gradient
    errors = outputs - targets
    return float(0.5 * np.sum(errors ** 2)), errors


def fit(data: Scaled, train_idx: np.ndarray, config: TrainConfig,
        on_epoch: EpochCallback | None = None) -> tuple[np.ndarray, float, tuple[float, ...]]:
    """Adam on ``w . z + b``; returns (weights, bias, per-epoch mean losses) in standardised units.

    Each batch is gathered and standardised from the data as it is needed (``Scaled``): no
    copy of the data per epoch. ``wd`` adds ``wd * w`` and ``l1`` adds ``l1 * sign(w)`` to the
    weights' gradient (the bias is not penalised, as in linear-learner by default).
    """
    classifier = config.predictor_type == "binary_classifier"
    rows, dimension = train_idx.size, data.features.shape[1]
    weights, bias = np.zeros(dimension), 0.0
    m_w, v_w = np.zeros(dimension), np.zeros(dimension)
    m_b = v_b = 0.0
    batch = _batch_size(rows, config.mini_batch_size)
    steps = rows // batch
    rng = np.random.default_rng(config.seed + 1)      # the MXNet trainer's shuffle stream
    history = []
    t = 0
    for epoch in range(config.epochs):
        rate = config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))
        order = train_idx[rng.permutation(rows)]
        total = 0.0
        for step, x, y in _batches(data, order, steps, batch):
            loss, d_out = _loss_and_gradient(_linear(x, weights, bias), y, classifier)
            total += loss
            g_w, g_b = x.T @ d_out / batch, float(d_out.sum()) / batch
            if config.wd:
                g_w = g_w + config.wd * weights
            if config.l1:
                g_w = g_w + config.l1 * np.sign(weights)
            t += 1
            step_rate = rate * math.sqrt(1.0 - BETA2 ** t) / (1.0 - BETA1 ** t)
            m_w = BETA1 * m_w + (1.0 - BETA1) * g_w
            v_w = BETA2 * v_w + (1.0 - BETA2) * g_w * g_w
            weights = weights - step_rate * m_w / (np.sqrt(v_w) + EPSILON)
            m_b = BETA1 * m_b + (1.0 - BETA1) * g_b
            v_b = BETA2 * v_b + (1.0 - BETA2) * g_b * g_b
            bias = bias - step_rate * m_b / (math.sqrt(v_b) + EPSILON)
        mean_loss = total / (steps * batch)
        history.append(mean_loss)
        if on_epoch is not None:
            on_epoch(epoch + 1, config.epochs, mean_loss)
    return weights, float(bias), tuple(history)


def _batches(data: Scaled, order: np.ndarray, steps: int, batch: int):
    """(step, rows, targets) of one epoch, gathered and standardised a group of batches at a time."""
    for first, last in batch_groups(steps, batch):
        index = order[first * batch:last * batch]
        x_group, y_group = data.rows(index), data.targets(index)
        for step in range(first, last):
            at = (step - first) * batch
            yield step, x_group[at:at + batch], y_group[at:at + batch]


def _fit_numpy(data: Scaled, train_idx: np.ndarray, config: TrainConfig,
               on_epoch: EpochCallback | None) -> Fitted:
    weights, bias, history = fit(data, train_idx, config, on_epoch)
    return weights, bias, history, lambda z: _linear(z, weights, bias)


def train(dataset: Dataset, config: TrainConfig | None = None,
          on_epoch: EpochCallback | None = None, validation: Dataset | None = None) -> TrainedModel:
    """Train on ``dataset`` and return the raw-feature model with validation metrics (no MXNet)."""
    return run_training(dataset, config or TrainConfig(), on_epoch, _fit_numpy, NAME, validation)
