"""Reading a journal on disk in tests: the metas of its intact records, in order."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from wildrydes_cli.local.awsapi.journal import JOURNAL_NAME, scan


def iter_records(directory: Path) -> Iterator[dict]:
    """Metas of the intact records of a journal on disk (read-only)."""
    path = Path(directory) / JOURNAL_NAME
    if not path.exists():
        return
    for _, meta, _ in scan(path.read_bytes()).frames:
        yield meta
