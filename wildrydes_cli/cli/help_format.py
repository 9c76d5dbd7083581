"""`--help` text wrapped at spaces only, so names stay whole at any terminal width.

Why: click wraps help with ``textwrap``, which also breaks a line after any hyphen.
A stack name (``wildrydes-ml-mod1-3``), a key pattern (``linear-learner-*``) or a
flag's value (``recordio-protobuf``) cut at the end of a line is half a name to
whoever copies it. ``textwrap`` has a switch for this (``break_on_hyphens``) that
click does not expose, so the formatter turns it on around its own wrapping. A
word longer than the whole line is still cut, as before.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import click
from click import _textwrap


class _AtSpacesOnly(_textwrap.TextWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["break_on_hyphens"] = False
        super().__init__(*args, **kwargs)


@contextlib.contextmanager
def _at_spaces_only() -> Iterator[None]:
    """click's ``wrap_text`` looks its wrapper up at each call: give it ours meanwhile."""
    original = _textwrap.TextWrapper
    _textwrap.TextWrapper = _AtSpacesOnly  # type: ignore[misc]
    try:
        yield
    finally:
        _textwrap.TextWrapper = original  # type: ignore[misc]


class HelpFormatter(click.HelpFormatter):
    def write_text(self, text: str) -> None:
        with _at_spaces_only():
            super().write_text(text)

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        with _at_spaces_only():
            super().write_dl(rows, col_max, col_spacing)


class Context(click.Context):
    formatter_class = HelpFormatter
