"""The documents point at files that exist: every path they name in backticks, every relative link.

Why: the package tree moves; a map (docs/architecture.md, the README, docs/) that names a file
no longer there sends a newcomer nowhere. Paths are read as written (`a/b.py`), relative to the
repository, to `wildrydes_cli/` (the architecture map names modules by package), or to `tests/`.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_PATH = re.compile(r"`([A-Za-z0-9_./-]+/[A-Za-z0-9_.-]+\.(?:py|yml|md|sh))`|`([a-z_0-9]+\.py)`")
_LINK = re.compile(r"\]\(((?!https?:|#|mailto:)[^)#\s]+)(?:#[^)]*)?\)")
BASES = [ROOT, ROOT / "wildrydes_cli", ROOT / "wildrydes_cli" / "local", ROOT / "tests", ROOT / "lambda"]


def _exists(name: str, document: Path) -> bool:
    if "/" not in name:   # a bare module name: somewhere in the package, the function or the tests
        return any(ROOT.glob(f"wildrydes_cli/**/{name}")) or (ROOT / "lambda" / name).exists() \
            or any(ROOT.glob(f"tests/**/{name}")) or any(ROOT.glob(f"benchmarks/{name}"))
    return any((base / name).exists() for base in (document.parent, *BASES))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_named_path_exists(document):
    text = document.read_text(encoding="utf-8")
    named = {a or b for a, b in _PATH.findall(text)}
    missing = sorted(n for n in named if not _exists(n, document))
    assert missing == [], f"{document.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document):
    text = document.read_text(encoding="utf-8")
    broken = sorted(link for link in _LINK.findall(text) if not (document.parent / link).exists())
    assert broken == [], f"{document.name} links to missing files: {broken}"
