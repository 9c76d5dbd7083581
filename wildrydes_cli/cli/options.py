"""What the CLI's command modules share: the settings the group made, and option checks.

Kept apart from main.py so that command groups in their own modules (local_commands.py)
can use them without importing main.py, which imports them.
"""
from __future__ import annotations

from pathlib import Path

import click

from wildrydes_cli.cli import global_options
from wildrydes_cli.settings import Settings


def bucket_name(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--bucket``: refuse what no bucket could be named (a usage error, before AWS is called)."""
    if value is None:
        return None
    if not value.strip():   # a shell variable that was not set: never "the default"
        raise click.UsageError(f"--bucket is empty ({value!r}): pass a value, or leave --bucket out to use "
                               "this target's data bucket.")
    from wildrydes_cli.layout import bucket_name_problem
    problem = bucket_name_problem(value)
    if problem:
        raise click.BadParameter(f"{value!r} {problem}")
    return value


def local_file(_ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """``--data``/``--file``: a file on this machine; a URL is refused whole, with how to fetch it first.

    (click.Path would read ``s3://bucket/key`` as the path ``s3:/bucket/key`` and say that is missing.)
    """
    if value is None:
        return None
    option = (param.opts or ["--file"])[0]
    scheme, sep, rest = value.partition("://")
    if sep and scheme and scheme.replace("+", "").isalnum():
        fetch = (f"aws s3 cp {value} rides.csv; from the local target after eval \"$(wildrydes local env)\""
                 if scheme.lower() == "s3" else f"curl -o rides.csv '{value}'")
        raise click.BadParameter(f"{value} is not a file on this machine: {option} reads a local file. Download it "
                                 f"first ({fetch}), then {option} rides.csv.", param_hint=option)
    if not value.strip():
        raise click.BadParameter("is empty: pass the path of a file.", param_hint=option)
    if Path(value).is_dir():
        raise click.BadParameter(f"{value} is a directory: pass the path of a file.", param_hint=option)
    return Path(value)


def settings_of(ctx: click.Context, target: str | None = None) -> Settings:
    """The Settings from the global options (target, region, output, ...), wherever on the line they were."""
    return global_options.settings_of(ctx, target)


def aws_context(ctx: click.Context, writes_state: bool = False):
    """Resolved settings (local emulator started if needed), the AWS wrapper on that target, the console.

    ``writes_state``: the command records state (deploy, cleanup), so an unwritable state
    directory is refused before anything else happens.
    """
    from wildrydes_cli.aws.accounts import bind
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.aws.target import resolve
    from wildrydes_cli.cli.console import console_for
    if writes_state:
        from wildrydes_cli.state_dir import require_writable
        require_writable(settings_of(ctx).state_dir)
    target = resolve(settings_of(ctx))
    aws = Aws(target)
    settings = bind(target.settings, aws)   # state and locks are per account: --profile may switch accounts
    console = console_for(settings)
    aws.on_wait = console.info   # which stack is still in progress, and for how long, on stderr
    return settings, aws, console
