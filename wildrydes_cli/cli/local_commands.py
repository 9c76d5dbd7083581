"""``wildrydes local ...``: start, stop, reset, compact, inspect the embedded emulator.

Registered on the main group by main.py. Each command imports what it needs when
it runs, so ``wildrydes --help`` stays fast.
"""
from __future__ import annotations

import click

from wildrydes_cli.cli.global_options import WildrydesGroup
from wildrydes_cli.cli.options import settings_of


@click.group("local", cls=WildrydesGroup, short_help="The embedded AWS emulator on 127.0.0.1: start, stop, env, reset.")
def local_group() -> None:
    """The embedded AWS emulator on 127.0.0.1 (started automatically by commands that need it).

    Port: --port, else WILDRYDES_LOCAL_PORT, else 4566 (0 picks any free port).
    What you make on it is kept across stop/start (`local start --fresh` or `local reset` to start empty).
    """


@local_group.command("start", short_help="Start the emulator; what you made on it before is restored.")
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 [default: WILDRYDES_LOCAL_PORT or 4566].")
@click.option("--fresh", is_flag=True, help="Start empty: erase everything the local target kept (buckets, "
                                            "models, stacks, functions, APIs, log events).")
@click.option("--recover", is_flag=True, help="When what the local target keeps is damaged (start refuses, exit 5): "
                                              "start with every intact record, set the damage aside beside it, "
                                              "and say what could not be kept.")
@click.pass_context
def local_start_cmd(ctx: click.Context, port: int | None, fresh: bool, recover: bool) -> None:
    """Start the emulator daemon (S3, CloudFormation, Lambda, API Gateway, IAM, STS + execute-api).

    What you made on the local target before is restored (same API ids, so old invoke URLs answer).
    If it is damaged, start refuses and names the file: `--recover` or `wildrydes local reset`.
    """
    from wildrydes_cli.local import daemon
    from wildrydes_cli.state_dir import require_writable
    require_writable(settings_of(ctx).state_dir)
    _local_result(ctx, lambda settings: daemon.start(settings, port, fresh=fresh, recover=recover))


@local_group.command("stop", short_help="Stop the emulator and its Lambda workers (what you made is kept).")
@click.pass_context
def local_stop_cmd(ctx: click.Context) -> None:
    """Stop the emulator daemon and its Lambda workers (what you made is kept for the next start)."""
    from wildrydes_cli.local import daemon
    _local_result(ctx, daemon.stop)


@local_group.command("reset", short_help="Stop the emulator and erase everything it keeps.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask.")
@click.pass_context
def local_reset_cmd(ctx: click.Context, yes: bool) -> None:
    """Stop the emulator and erase everything it keeps (buckets, models, stacks, functions, APIs, log events)."""
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.local import daemon
    settings = settings_of(ctx)
    if not yes and not console_for(settings).confirm(
            "Erase every bucket, model, stack, function, API and log event on the local target?"):
        raise click.exceptions.Abort()
    _local_result(ctx, daemon.reset)


@local_group.command("compact", short_help="Shrink what the stopped emulator keeps on disk.")
@click.pass_context
def local_compact_cmd(ctx: click.Context) -> None:
    """Shrink what the stopped emulator keeps: drop the saved S3 writes later ones replaced.

    `local start` does this by itself when it pays; refused while the emulator runs.
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.local import daemon
    settings = settings_of(ctx)
    presentation.show(console_for(settings), daemon.compact(settings))


@local_group.command("status", short_help="Is the emulator running? Its pid, endpoint URL and log file.")
@click.pass_context
def local_status_cmd(ctx: click.Context) -> None:
    """Show whether the emulator runs, its pid, endpoint URL and log file (exit 3 when it is not running)."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.errors import NotFoundError
    from wildrydes_cli.local import daemon
    settings = settings_of(ctx)
    result = daemon.status(settings)
    presentation.show(console_for(settings), result)
    if not result.running:   # scripts can test `wildrydes local status` like `systemctl is-active`
        ctx.exit(NotFoundError.exit_code)


@local_group.command("env", short_help="Print the exports that point the AWS CLI and SDKs at it.")
@click.option("--unset", is_flag=True, help="Print the line that removes them again: "
                                            'eval "$(wildrydes local env --unset)" (starts nothing).')
@click.pass_context
def local_env_cmd(ctx: click.Context, unset: bool) -> None:
    """Print the exports that point the AWS CLI and SDKs at the local target, with its credentials.

    Use: eval "$(wildrydes local env)". Starts the emulator if needed. Undo with
    eval "$(wildrydes local env --unset)" before using real AWS from the same shell
    (`--target aws` refuses to run while they are set).
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.local.awsapi.credentials import SHELL_VARIABLES, local_credentials, shell_environment
    from wildrydes_cli.loopback import proxy_in_the_way
    from wildrydes_cli.results import LocalEnvResult
    if unset:
        presentation.show(console_for(settings_of(ctx)), LocalEnvResult({}, unset=SHELL_VARIABLES))
        return
    from wildrydes_cli.aws.target import resolve
    target = resolve(settings_of(ctx, target="local"))
    settings = target.settings
    env = shell_environment(target.endpoint_url or "", local_credentials(settings.state_dir), settings.region)
    console = console_for(settings)
    proxy = proxy_in_the_way(env["AWS_ENDPOINT_URL"])
    if proxy:   # wildrydes itself never proxies its loopback; the AWS CLI does, unless NO_PROXY says not to
        console.info(f"note: this shell has a proxy set ({proxy}) and NO_PROXY does not name 127.0.0.1, so the "
                     "AWS CLI and SDKs would send the local target's requests to that proxy, which cannot reach "
                     'it: export NO_PROXY="${NO_PROXY:+$NO_PROXY,}127.0.0.1" (and no_proxy) first.')
    presentation.show(console, LocalEnvResult(env))


def _local_result(ctx: click.Context, action) -> None:
    """Run a daemon action on the settings and render its status (text or one JSON object)."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    settings = settings_of(ctx)
    presentation.show(console_for(settings), action(settings))
