"""`train`'s progress bar in a real terminal (a pseudo-terminal, 80 and 200 columns, with and without NO_COLOR):
the bar ends, on a line of its own, before any result is printed, and is never drawn again after them."""
from __future__ import annotations

import os
import sys

import pytest
from clitools import WILDRYDES
from ptytools import cursor_control_after, plain, run_in_pty

pytestmark = [pytest.mark.e2e]


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("no_color", [False, True])
def test_the_bar_ends_before_the_results(tmp_path, columns, no_color):
    if not WILDRYDES.exists():
        pytest.skip(f"no wildrydes console script next to {sys.executable}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WILDRYDES_", "NO_COLOR"))}
    env.update({"HOME": str(tmp_path), "WILDRYDES_HOME": str(tmp_path / "state")})
    if no_color:
        env["NO_COLOR"] = "1"
    code, out = run_in_pty([str(WILDRYDES), "train", "--rows", "2000", "--epochs", "5", "--trainer", "numpy",
                            "--save", str(tmp_path / "model.tar.gz")], env, columns=columns)
    assert code == 0, plain(out)
    start = out.index("binary_classifier on ")          # the first word of the results (the table's title)
    before, after = plain(out[:start]), plain(out[start:])
    assert "5/5" in before.rsplit("training", 1)[-1], before[-300:]   # the bar's last frame: finished
    assert before.replace("\r\n", "\n").endswith("\n"), repr(before[-200:])   # results start on a fresh line
    assert cursor_control_after(out, start) == [], repr(out[start:])   # nothing redrawn over or after them
    assert "training " not in after and "5/5" not in after   # no frame of the bar
    assert ("\x1b[1m" in out[start:]) is not no_color     # styles follow NO_COLOR
    table = [line for line in after.replace("\r\n", "\n").split("\n") if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= columns for line in table)
    assert "model saved to" in after
