"""All terminal output in one place: results on stdout, progress on stderr.

Why one module: commands stay thin (they hand a result dict to ``Console``),
``--output json`` is guaranteed to print exactly one JSON object on stdout
(progress never goes there), colour is decided once (off when stdout is not a
TTY or ``NO_COLOR`` is set), and rich is imported only when something is
actually drawn, which keeps ``wildrydes --help`` fast.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence, TextIO

LOG = logging.getLogger(__name__)


def stdin_is_interactive() -> bool:
    """Can we ask a question? Only when a person can answer it at a terminal."""
    isatty = getattr(sys.stdin, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stdin
        return False


def color_enabled(stream: TextIO) -> bool:
    """Colour only for a human at a terminal who has not asked for NO_COLOR."""
    if "NO_COLOR" in os.environ:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Console:
    """Renders results (text or one JSON object) and progress steps.

    Streams are looked up when used, not at import, so Click's test runner
    (which swaps sys.stdout) sees the output.
    """

    def __init__(self, json_output: bool = False, out: TextIO | None = None, err: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.json_output = json_output
        self._out = out
        self._err = err
        self.clock = clock

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    @property
    def is_terminal(self) -> bool:
        """Is stdout a terminal (a person reading), rather than a pipe or a file (a program)?"""
        return _isatty(self.out)

    def _rich(self, stream: TextIO) -> Any:
        from rich.console import Console as RichConsole
        color = color_enabled(self.out)
        return RichConsole(file=stream, no_color=not color, highlight=False, soft_wrap=True,
                           force_terminal=color if color else None, color_system="auto" if color else None,
                           emoji=False)

    # -- progress (stderr) --------------------------------------------------------
    def info(self, message: str) -> None:
        self._rich(self.err).print(message, markup=False)

    @contextmanager
    def step(self, title: str) -> Iterator[dict]:
        """A progress line on stderr: '-> title ... done (1.2 s)'. Yields a dict for a detail note."""
        note: dict = {}
        started = self.clock()
        console = self._rich(self.err)
        console.print(f"[cyan]->[/cyan] {_escape(title)} ...")
        try:
            yield note
        except BaseException:
            console.print(f"   [red]failed[/red] {_escape(title)}")
            raise
        elapsed = self.clock() - started
        detail = f": {note['detail']}" if note.get("detail") else ""
        console.print(f"   [green]done[/green] ({elapsed:.1f} s){_escape(detail)}")

    @contextmanager
    def progress(self, description: str, total: int, enabled: bool | None = None,
                 waiting: str | None = None) -> Iterator[Callable[..., None]]:
        """A progress bar on stderr; yields ``advance(done, total=None, loss=None)``.

        Drawn only on a terminal by default (a bar in a log file is noise); stdout is
        never touched, so ``--output json`` still prints its one object. ``waiting``: the
        label until the first ``advance`` (``train`` checks the target and reads the rides
        first, which can take seconds: the bar does not say "training" before it is).
        """
        stream = self.err
        if enabled is None:
            enabled = bool(getattr(stream, "isatty", lambda: False)())
        if not enabled:
            yield lambda *args, **kwargs: None
            return
        from rich.console import Console as RichConsole
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = RichConsole(file=stream, no_color=not color_enabled(stream))
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[note]}"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(waiting or description, total=total, note="")

            def advance(done: int, _total: int | None = None, loss: float | None = None) -> None:
                bar.update(task, completed=done, description=description,
                           note=f"loss {loss:.4f}" if loss is not None else "")

            yield advance

    # -- results (stdout) ---------------------------------------------------------
    def result(self, data: dict, render: Callable[["Console"], None] | None = None) -> None:
        """Print the command's result: one JSON object, or the text rendering."""
        if self.json_output:
            self.out.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
            self.out.flush()
            return
        if render is not None:
            render(self)
        else:
            self.fields(data)

    def line(self, text: str = "", style: str | None = None) -> None:
        console = self._rich(self.out)
        console.print(text, markup=False, style=style)

    def fields(self, data: dict, title: str | None = None) -> None:
        """``key: value`` lines, aligned."""
        if title:
            self.line(title, style="bold")
        width = max((len(str(k)) for k in data), default=0)
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                value = json.dumps(value, default=str)
            self.line(f"{str(key).ljust(width)}  {'-' if value is None else value}")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
              keep: Sequence[str] = ()) -> None:
        """A table; the ``keep`` columns (model keys, URLs: what users copy) are never cut.

        At a terminal the other columns wrap; when even that does not fit the width, each row
        becomes a block of its own (``_records``), so no column is left out at 80 columns.
        Redirected, the table is plain text columns as wide as their widest cell: nothing is cut,
        whatever the width.
        """
        cells = [["-" if cell is None else str(cell) for cell in row] for row in rows]
        console = self._rich(self.out) if self.is_terminal else None
        if console is None:
            self._plain_table(list(columns), cells, title)
            return
        if box_width(columns, cells, set(keep)) > console.width:
            self._records(list(columns), cells, title, set(keep), console.width)
            return
        from rich.table import Table
        table = Table(title=title, show_lines=False)
        for index, name in enumerate(columns):
            if name in keep:
                widest = max([len(name)] + [len(row[index]) for row in cells])
                table.add_column(name, no_wrap=True, min_width=widest)
            else:
                table.add_column(name, overflow="fold")
        for row in cells:
            table.add_row(*row)
        console.print(table)

    def _records(self, columns: list[str], cells: list[list[str]], title: str | None, keep: set[str],
                 width: int) -> None:
        """A table too wide for the terminal, one block per row: its first kept cell (a key: what the
        user copies) on a line of its own and whole, then every other non-empty cell under its column's
        name, wrapped at spaces. Why not leave columns out: at 80 columns `models` would then show
        no metrics, which is what the command is for."""
        import textwrap
        head = next((i for i, name in enumerate(columns) if name in keep), 0)
        label = max((len(name) for i, name in enumerate(columns) if i != head), default=0)
        room = max(width - label - 4, 20)
        lines = [title, ""] if title else []
        for row in cells:
            lines.append(row[head])
            for index, name in enumerate(columns):
                if index == head or not row[index]:
                    continue
                wrapped = textwrap.wrap(row[index], room, break_on_hyphens=False, break_long_words=False) or ["-"]
                lines.append(f"  {name.ljust(label)}  {wrapped[0]}")
                lines.extend(" " * (label + 4) + more for more in wrapped[1:])
            lines.append("")
        self.out.write("\n".join(lines))
        self.out.flush()

    def _plain_table(self, columns: list[str], cells: list[list[str]], title: str | None) -> None:
        """Columns padded to their widest cell, no borders, nothing cut (for pipes, files and scripts)."""
        widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
        lines = [title] if title else []
        for row in [columns, *cells]:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def confirm(self, question: str, default: bool = False) -> bool:
        """Ask on stderr; refuse (a UsageError naming --yes) when nobody can answer.

        Why refuse rather than read stdin anyway: a script or CI job piping into
        wildrydes would otherwise hit end-of-input mid-command and get "Aborted."
        instead of one JSON object and a message saying what to pass.
        """
        import click

        from wildrydes_cli.errors import UsageError
        if not stdin_is_interactive():
            raise UsageError(f"{question} Cannot ask: stdin is not a terminal. "
                             "Pass --yes to answer yes without being asked.")
        self.err.flush()
        try:
            return click.confirm(question, default=default, err=True)
        except click.exceptions.Abort:
            click.echo(err=True)  # end the prompt's line: what follows starts on a line of its own
            raise


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:   # a closed stream
        return False


def box_width(columns: Sequence[str], cells: list[list[str]], keep: set[str]) -> int:
    """The narrowest box table: kept columns whole, the others wrapped at spaces.

    A rich box table needs 3 characters per column (padding and a border) plus one; a kept column
    its widest cell, another column at least its longest word.
    """
    def need(index: int) -> int:
        texts = [columns[index]] + [row[index] for row in cells]
        if columns[index] in keep:
            return max(len(text) for text in texts)
        return max((len(word) for text in texts for word in text.split()), default=1)

    return sum(need(i) + 3 for i in range(len(columns))) + 1


def render_error(exc: Exception | None, json_output: bool, out: TextIO | None = None,
                 message: str | None = None, exit_code: int | None = None) -> None:
    """At the CLI edge: with --output json, the error is the one JSON object on stdout too.

    ``message``/``exit_code`` override what ``exc`` carries (an Abort or a bug carries neither).
    """
    if not json_output:
        return
    stream = out or sys.stdout
    payload = {"error": message if message is not None else getattr(exc, "message", str(exc)),
               "exit_code": exit_code if exit_code is not None else getattr(exc, "exit_code", 1)}
    stream.write(json.dumps(payload) + "\n")
    stream.flush()


def console_for(settings: Any) -> Console:
    return Console(json_output=bool(getattr(settings, "json_output", False)))


def _escape(text: str) -> str:
    from rich.markup import escape
    return escape(text)
