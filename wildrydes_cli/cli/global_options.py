"""The global options, accepted before or after the command, and the Settings built from them.

Why: users of the AWS CLI type ``wildrydes status --output json`` or
``deploy --region eu-west-1`` by habit, and Click accepts a group's options only
before the command. So every command (and the ``local`` group) carries its own
copy of ``--target --region --profile --output --scratchpad --debug``, listed
under "Global options" in its ``--help``; a value given after the command wins
over one given before it. The values are collected while Click parses and the
``Settings`` are built once, when the command first asks for them, so the
region's default can depend on the target (``aws/target.py`` says which sources
each target reads).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from wildrydes_cli.cli.help_format import Context
from wildrydes_cli.settings import OUTPUTS, TARGETS, Settings

GIVEN = "wildrydes.global_options"        # ctx.meta: {name: value}, shared by the whole context tree
BUILT = "wildrydes.settings"              # ctx.meta: the Settings, once built

_HELP = {
    "target": "Where to act: 'local' is an embedded AWS emulator on 127.0.0.1 (no account needed); "
              "'aws' is real AWS with your default credential chain.",
    "region": "AWS region. Target aws: else AWS_REGION, AWS_DEFAULT_REGION, your profile's region, us-east-1. "
              "Target local: else WILDRYDES_REGION, the region of the last local deploy, us-east-1.",
    "profile": "AWS named profile (target aws; the local target ignores profiles).",
    "output": "'json' prints one JSON object per command, for scripts.",
    "scratchpad": "The workshop's scratchpad file that records bucket and role names.",
    "debug": "Show tracebacks of unexpected errors, and log every AWS API call (service, operation, HTTP "
             "status, milliseconds) and wildrydes' debug messages on stderr.",
}


class GlobalOption(click.Option):
    """A global option: recorded into ``ctx.meta`` while parsing, never passed to the command function."""


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """The root's value (given, from the environment or the default) first; a command's copy only when given.

    The root group parses before its commands, so a value given after the command replaces it: the
    command's value wins.
    """
    name = param.name or ""
    if ctx.parent is None or ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE:
        ctx.meta.setdefault(GIVEN, {})[name] = value


def _options() -> list[click.Option]:
    """The six options, as the root and every command take them (a command's copy counts only when given)."""
    def option(decls: list[str], **kwargs: Any) -> click.Option:
        return GlobalOption(decls, expose_value=False, callback=_remember, **kwargs)

    return [
        option(["--target"], type=click.Choice(TARGETS), envvar="WILDRYDES_TARGET", default="local",
               show_default=True, show_envvar=True, help=_HELP["target"]),
        option(["--region"], default=None, help=_HELP["region"]),
        option(["--profile"], default=None, help=_HELP["profile"]),
        option(["--output"], type=click.Choice(OUTPUTS), default="text", show_default=True, help=_HELP["output"]),
        option(["--scratchpad"], type=click.Path(dir_okay=False, path_type=Path), default="scratchpad.txt",
               show_default=True, help=_HELP["scratchpad"]),
        option(["--debug"], is_flag=True, default=False, help=_HELP["debug"]),
    ]


def _format_split(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter,
                  before_globals: Callable[[], None] | None = None) -> None:
    """``--help``: the command's own options, then the global ones under a heading of their own.

    ``before_globals`` writes what comes between (a group's commands: what `wildrydes local --help`
    is read for, so not below twenty lines of options every command shares)."""
    own: list[tuple[str, str]] = []
    shared: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            (shared if isinstance(param, GlobalOption) else own).append(record)
    if own:
        with formatter.section("Options"):
            formatter.write_dl(own)
    if before_globals is not None:
        before_globals()
    if shared:
        with formatter.section("Global options (also accepted before the command)"):
            formatter.write_dl(shared)


def _with_globals(command: click.Command) -> None:
    """Give ``command`` its copies of the global options, the first time Click asks for its parameters.

    Not at import: ``wildrydes --help`` never asks a command for them, and making ~100 options
    on every start-up is time it would spend for nothing.
    """
    if not getattr(command, "_globals_added", False):
        command.params.extend(_options())
        command._globals_added = True   # type: ignore[attr-defined]


class WildrydesCommand(click.Command):
    """A command that also takes the global options."""

    context_class = Context     # its --help wraps at spaces only (help_format.py)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        _with_globals(self)
        return super().get_params(ctx)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _format_split(self, ctx, formatter)


class WildrydesGroup(click.Group):
    """A group whose commands take the global options; a sub-group (``local``) takes them itself too."""

    command_class = WildrydesCommand
    context_class = Context
    root = False   # the root group declares the global options itself, with their defaults

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if not self.root:
            _with_globals(self)
        return super().get_params(ctx)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _format_split(self, ctx, formatter, lambda: self.format_commands(ctx, formatter))


WildrydesGroup.group_class = WildrydesGroup


class RootGroup(WildrydesGroup):
    """The ``wildrydes`` group: the global options are its own (first in its --help)."""

    root = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params[:0] = _options()

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Group.format_options(self, ctx, formatter)   # at the root they are simply its options


def settings_of(ctx: click.Context, target: str | None = None) -> Settings:
    """The Settings from the global options wherever they were given (built once per command line).

    ``target``: the one a command always acts on whatever --target says (``local env``).
    """
    meta = ctx.meta
    key = f"{BUILT}:{target or ''}"
    if key in meta:
        return meta[key]
    given = meta.get(GIVEN, {})
    target = target or given.get("target") or "local"
    profile = given.get("profile")
    region = given.get("region")
    if region is not None:
        source = "--region"
    else:   # where each target looks for its region: aws/target.py (stdlib only: startup stays fast)
        from wildrydes_cli.aws.target import target_class
        from wildrydes_cli.settings import default_state_dir
        region, source = target_class(target).default_region(profile, default_state_dir())
    settings = Settings(target=target, region=region, region_source=source, profile=profile,
                        output=given.get("output") or "text", debug=bool(given.get("debug")),
                        scratchpad=Path(given.get("scratchpad") or "scratchpad.txt"))
    meta[key] = settings
    return settings
