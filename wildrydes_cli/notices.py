"""What a command did that the user did not ask for by name, said once on stderr.

Why: library modules (the local target's ``ensure_running``) find things out that
the person at the terminal should know, such as a daemon now running in the
background, but they print nothing themselves (the CLI owns the terminal and
``--output json`` owns stdout). They ``tell`` it here; ``cli/main.py`` prints each
notice as one line on stderr, whatever the output format. Outside the CLI (tests,
other callers) a notice goes to whoever ``listening`` says, else nowhere.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

_listeners: list[Callable[[str], None]] = []


def tell(message: str) -> None:
    for listener in list(_listeners):
        listener(message)


@contextlib.contextmanager
def listening(listener: Callable[[str], None]) -> Iterator[None]:
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def to_stderr(message: str) -> None:
    """One line on stderr (looked up when written: tests swap sys.stderr); a closed stderr is no failure."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
