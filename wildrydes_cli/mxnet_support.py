"""What needs MXNet on this machine, and the one line that says how to get it.

Why one place: MXNet 1.9.1 (the last release) needs numpy < 1.24, which has no
wheels past Python 3.11, and MXNet itself has wheels for Linux (x86_64, aarch64)
and Intel Macs only, none for Apple Silicon. So ``pip install .`` installs it on
Linux x86_64 with Python 3.11 only (an environment marker in setup.cfg: the
platform it is tested on), and the extra ``[mxnet]`` asks for it elsewhere.
Everything on the main path works without it (the numpy trainer, the stdlib
artifact writer, the lean engine); the two things that do need it locally
refuse early, with the same fix:

- ``train --trainer mxnet`` imports MXNet in the CLI's Python;
- ``deploy --engine mxnet`` on the local target: the Lambda runner executes
  the deployed package (MXNet and numpy built for CPython 3.11) with the
  CLI's own Python, so that Python must be 3.11. Building the package never
  needs MXNet here: its wheels are downloaded for Lambda's platform.
"""
from __future__ import annotations

import logging
import sys

from wildrydes_cli.errors import UsageError

LOG = logging.getLogger(__name__)

MXNET_PYTHON = (3, 11)
INSTALL_HINT = ("MXNet 1.9.1 installs only on Python 3.11 (it needs numpy < 1.24), where it has a wheel: "
                "python3.11 -m venv .venv && . .venv/bin/activate && pip install . (Linux x86_64), or "
                "pip install '.[mxnet]' (Intel Mac, Linux aarch64); none exists for Apple Silicon")


def _python(version_info=None) -> str:
    version = version_info or sys.version_info
    return f"{version[0]}.{version[1]}"


def import_mxnet(what: str):
    """Import and return ``mxnet``, or raise a UsageError naming ``what`` needs it and how to get it."""
    try:
        import mxnet  # ~2 s: only where MXNet is really used
    except Exception as exc:  # noqa: BLE001 - ImportError, or numpy >= 1.24 breaking MXNet's own import
        raise UsageError(f"{what} needs MXNet, which this Python {_python()} cannot import "
                         f"({type(exc).__name__}: {exc}). {INSTALL_HINT}") from None
    return mxnet


def mxnet_importable() -> bool:
    """True when ``import mxnet`` works here (it is attempted: an installed but broken MXNet counts as absent)."""
    try:
        import_mxnet("this check")
    except UsageError as exc:
        LOG.debug("%s", exc)
        return False
    return True


def check_local_engine(engine: str, is_local: bool, version_info=None, importable=None) -> None:
    """Refuse ``deploy --engine mxnet`` on the local target unless the CLI's Python is 3.11 with MXNet in it."""
    version = tuple((version_info or sys.version_info)[:2])
    if engine != "mxnet" or not is_local:
        return
    if version != MXNET_PYTHON:
        raise UsageError(f"deploy --engine mxnet on the local target runs MXNet with this CLI's Python "
                         f"{_python(version)}, but {INSTALL_HINT} (or deploy --engine lean: same predictions; "
                         "--target aws builds the mxnet package on any machine).")
    if not (importable or mxnet_importable)():
        raise UsageError(f"deploy --engine mxnet on the local target runs MXNet with this CLI's Python, which "
                         f"cannot import it: {INSTALL_HINT} (or deploy --engine lean: same predictions; "
                         "--target aws builds the mxnet package on any machine).")
