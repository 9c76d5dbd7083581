"""The repository itself: nothing tracked points outside it (a link to one machine's directory breaks clones)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tracked_links() -> list[str]:
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line.split("\t", 1)[1] for line in listed.stdout.splitlines() if line.startswith("120000 ")]


def test_no_tracked_symlink_dangles_or_leaves_the_repository():
    for name in _tracked_links():
        target = (ROOT / name).resolve()
        assert target.exists() and ROOT in target.parents, f"{name} -> {target}"
