"""A progress bar over training epochs (or breeds), on stderr.

Why here and not in ``console.py``: the shared console has steps but no
progress bar yet; this is the smallest rich bar that keeps stdout clean for
``--output json``. It draws only on a terminal (a bar in a log file is noise)
and honours NO_COLOR through the shared ``color_enabled`` rule.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO


@contextmanager
def progress_bar(description: str, total: int, stream: TextIO | None = None,
                 enabled: bool | None = None) -> Iterator[Callable[..., None]]:
    """Yield ``advance(done, total, loss=None)``; draws a rich bar on ``stream`` (stderr)."""
    stream = stream or sys.stderr
    if enabled is None:
        enabled = bool(getattr(stream, "isatty", lambda: False)())
    if not enabled:
        yield lambda *args, **kwargs: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from wildrydes_cli.console import color_enabled

    console = Console(file=stream, no_color=not color_enabled(stream))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[note]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total, note="")

        def advance(done: int, _total: int | None = None, loss: float | None = None) -> None:
            note = f"loss {loss:.4f}" if loss is not None else ""
            progress.update(task, completed=done, note=note)

        yield advance
