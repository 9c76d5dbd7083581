"""Errors a user can act on.

Every expected failure is a ``WildrydesError`` whose message says what went
wrong and how to fix it. They are ``click.ClickException`` subclasses so the
CLI edge turns them into an exit code and a one-line message; nothing below
``cli/main.py`` decides exit codes or prints tracebacks.
"""
from __future__ import annotations

import click


class WildrydesError(click.ClickException):
    """A failure the user can fix; the message names the fix."""

    exit_code = 1


class UsageError(WildrydesError):
    """Bad flag, file or environment value given by the user."""

    exit_code = 2


class NotFoundError(WildrydesError):
    """Something the command needs does not exist (stack, bucket, model, deployment)."""

    exit_code = 3


class AwsError(WildrydesError):
    """AWS (or the local emulator) refused or failed a call; the message says why."""

    exit_code = 4


class LocalTargetError(WildrydesError):
    """The embedded local emulator could not be started, reached or stopped."""

    exit_code = 5


class ModelRefusedError(WildrydesError):
    """The model could not be served by the function (empty, corrupt, foreign, over the archive bounds).

    Exit code 3 like ``NotFoundError``: the command has no usable model. Raised
    before anything is created, uploaded or modified.
    """

    exit_code = 3
