"""Every `--help` fits an 80-column terminal, and wraps at spaces only: a name with hyphens
(a stack, a key pattern, a flag's value) is never cut at the end of a line (cli/help_format.py)."""
from __future__ import annotations

import os
import re
import sys

import click
import pytest
from click import _textwrap
from click.testing import CliRunner
from clitools import WILDRYDES
from ptytools import plain, run_in_pty

from wildrydes_cli.cli.help_format import HelpFormatter
from wildrydes_cli.cli.main import cli

CUT_NAME = re.compile(r"[A-Za-z0-9]-$")     # a line ending inside a hyphenated word


def _commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def _help(path: tuple[str, ...], columns: int) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, (path, result.output)
    return result.output


@pytest.mark.parametrize("path", [(), *_commands()], ids=lambda path: " ".join(path) or "wildrydes")
def test_the_help_fits_80_columns_and_cuts_no_name(path):
    lines = _help(path, 80).splitlines()
    assert [line for line in lines if len(line) > 80] == [], path
    assert [line for line in lines if CUT_NAME.search(line)] == [], path


@pytest.mark.parametrize("columns", [60, 72, 80, 100])
def test_names_with_hyphens_stay_whole_at_any_width(columns):
    """Before: at 80 columns `bootstrap --help` ended a line with "stack wildrydes-ml-" and `train --help`
    with "s3://BUCKET/linear-"."""
    assert "wildrydes-ml-mod1-3" in _help(("bootstrap",), columns)
    train = _help(("train",), columns)
    assert "s3://BUCKET/linear-learner-YYYY-MM-DD-HH-MM-SS-mmm/output/model.tar.gz" in train
    assert "recordio-protobuf" in train


def test_the_formatter_gives_click_its_own_wrapper_back():
    """The wrapper is swapped only while the formatter wraps: click's own wrap_text, called outside
    it, still breaks at hyphens as click documents."""
    original = _textwrap.TextWrapper
    formatter = HelpFormatter(width=30)
    formatter.write_text("stack name wildrydes-ml-mod1-3 made by bootstrap")
    formatter.write_dl([("--bucket", "default: stack wildrydes-ml-mod1-3's bucket")])
    assert _textwrap.TextWrapper is original
    assert "wildrydes-ml-mod1-3" in formatter.getvalue()
    assert not any("wildrydes-ml-mod1-3" in line
                   for line in click.wrap_text("stack name wildrydes-ml-mod1-3 made", 22).splitlines())


@pytest.mark.e2e
def test_the_first_help_a_user_sees_fits_a_terminal_of_80_columns(tmp_path):
    """`wildrydes --help` in a real terminal: each line fits, and the workshop's predict example is whole
    (continued over two lines with a backslash, so it can be pasted as it is)."""
    if not WILDRYDES.exists():
        pytest.skip(f"no wildrydes console script next to {sys.executable}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WILDRYDES_", "COLUMNS"))}
    env["HOME"] = str(tmp_path)
    code, out = run_in_pty([str(WILDRYDES), "--help"], env, columns=80)
    lines = plain(out).replace("\r\n", "\n").splitlines()
    assert code == 0, out
    assert [line for line in lines if len(line) > 80] == []
    example = next(i for i, line in enumerate(lines) if "wildrydes predict" in line)
    assert lines[example].endswith(" \\")
    pasted = lines[example].removesuffix("\\").strip() + " " + lines[example + 1].strip()
    assert pasted == ("wildrydes predict --distance 30 --healthpoints 30 --magicpoints 2500 --tmin 300 --tmax 333 "
                      "--prcp 0")


def _groups(group: click.Group = cli, path: tuple[str, ...] = ()):
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _groups(command, (*path, name))


def _commands_section(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("Commands:") + 1
    end = next((n for n in range(start, len(lines)) if not lines[n].strip()), len(lines))
    return lines[start:end]


@pytest.mark.parametrize("path", [path for path, _ in _groups()], ids=lambda path: " ".join(path) or "wildrydes")
def test_each_command_is_summed_up_whole_on_one_line_at_80_columns(path):
    """Before: click cut eight summaries short ("Train a linear-learner model locally (MXNet, or numpy...",
    "The embedded AWS emulator on 127.0.0.1 (started...") and wrapped two onto a second line."""
    group = dict(_groups())[path]
    rows = _commands_section(_help(path, 80))
    assert [row.split()[0] for row in rows] == sorted(group.commands), rows   # one line each
    assert [row for row in rows if row.rstrip().endswith("...")] == [], rows


def test_a_group_lists_its_commands_before_the_options_every_command_shares():
    text = _help(("local",), 80)
    assert text.index("Commands:") < text.index("Global options")
    assert "  start " in text[:text.index("Global options")]


def test_trains_summary_names_both_places_it_trains():
    """`train --on sagemaker` exists: the summary no longer says it trains locally only."""
    (row,) = [row for row in _commands_section(_help((), 80)) if row.split()[0] == "train"]
    assert "SageMaker job" in row
    assert "--on sagemaker" in _help(("train",), 80).split("Options:")[0]
