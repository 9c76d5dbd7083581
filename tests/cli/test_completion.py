"""Shell completion as docs/cli.md documents it: Click's _WILDRYDES_COMPLETE, with the real executable."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import WILDRYDES

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _run(env: dict) -> str:
    if not WILDRYDES.exists():
        pytest.skip(f"no wildrydes console script next to {sys.executable}")
    done = subprocess.run([str(WILDRYDES)], env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_documented_shell_gets_its_script(shell):
    lines = [line for line in DOC.read_text().splitlines() if f"_WILDRYDES_COMPLETE={shell}_source wildrydes" in line]
    assert lines, f"docs/cli.md shows how to enable completion in {shell}"
    script = _run({"_WILDRYDES_COMPLETE": f"{shell}_source"})
    assert "_WILDRYDES_COMPLETE" in script and re.search(r"wildrydes", script)


@pytest.mark.parametrize("words, cword, expected", [
    ("wildrydes de", 1, "plain,deploy"),
    ("wildrydes deploy --engine ", 3, "plain,mxnet"),
    ("wildrydes status --out", 2, "plain,--output"),       # a global option after the command
    ("wildrydes local st", 2, "plain,status"),
])
def test_bash_completes_commands_options_and_values(words, cword, expected):
    out = _run({"_WILDRYDES_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert expected in out.splitlines(), out
