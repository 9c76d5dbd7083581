"""``train --trainer auto|numpy|mxnet``: which trainer runs.

Why ``auto`` prefers MXNet: the design trains with MXNet, as SageMaker's
linear-learner does, and that stays the behaviour wherever MXNet is installed
(Python 3.11, the default install). Elsewhere ``auto`` uses the numpy trainer,
which trains the same model within floating-point noise and writes the same
artifact, so the main job needs nothing that does not install.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from wildrydes_cli.errors import UsageError

LOG = logging.getLogger(__name__)

TRAINERS = ("auto", "numpy", "mxnet")


def resolve(choice: str) -> str:
    """``numpy`` or ``mxnet`` for the user's ``--trainer``; ``mxnet`` raises the how-to-get-it line when absent."""
    from wildrydes_cli import mxnet_support

    if choice not in TRAINERS:
        raise UsageError(f"--trainer must be one of {', '.join(TRAINERS)}, not {choice!r}")
    if choice == "mxnet":
        mxnet_support.import_mxnet("train --trainer mxnet")
        return "mxnet"
    if choice == "auto":
        name = "mxnet" if mxnet_support.mxnet_importable() else "numpy"
        LOG.debug("--trainer auto chose %s", name)
        return name
    return choice


def train_function(name: str) -> Callable:
    """The ``train(dataset, config, on_epoch=None)`` function of a resolved trainer name."""
    if name == "mxnet":
        from wildrydes_cli.training.mxnet_trainer import train
        return train
    from wildrydes_cli.training.numpy_trainer import train as numpy_train
    return numpy_train
