"""``wildrydes keys show|list|rotate``: the API key of a deployment made with ``deploy --auth api-key``.

Registered on the main group by main.py; each command parses its options, calls one
core function (``observe/keys.py``, ``deploy/keys.py``) and shows the result.
"""
from __future__ import annotations

import click

from wildrydes_cli.cli.global_options import WildrydesGroup
from wildrydes_cli.cli.options import aws_context


@click.group("keys", cls=WildrydesGroup, short_help="The API's key (deploy --auth api-key): show, list, rotate.")
def keys_group() -> None:
    """The deployed API's key (after `wildrydes deploy --auth api-key`): callers send it as header x-api-key.

    Only `keys show` prints the key's value; `wildrydes predict` sends it by itself.
    """


@keys_group.command("show", short_help="Print the current key: id, name, usage plan limits and value.")
@click.option("--value", "value_only", is_flag=True,
              help='Print the value alone (export WILDRYDES_API_KEY="$(wildrydes keys show --value)").')
@click.pass_context
def show_cmd(ctx: click.Context, value_only: bool) -> None:
    """Print the current key: its id, name, the usage plan's limits and its value."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.observe.keys import show
    settings, aws, console = aws_context(ctx)
    presentation.show(console, show(settings, aws, value_only=value_only))


@keys_group.command("list", short_help="List the stack's keys (never their values).")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List the stack's keys (never their values)."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.observe.keys import list_keys
    settings, aws, console = aws_context(ctx)
    presentation.show(console, list_keys(settings, aws))


@keys_group.command("rotate", short_help="Replace the key with a new one; the old one stops working.")
@click.pass_context
def rotate_cmd(ctx: click.Context) -> None:
    """Replace the key with a new one; the old key stops working (callers need the new value)."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.keys import rotate
    settings, aws, console = aws_context(ctx, writes_state=True)
    presentation.show(console, rotate(settings, aws, console))
