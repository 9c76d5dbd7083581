"""The workshop's scratchpad.txt: readable ``key: value`` lines, updated in place.

Why keep it: the workshop's users know it (Step 1 appends the role name to
it) and later commands read their defaults from it. Writing is idempotent:
a key already present is rewritten where it is, lines we do not own (notes,
the raw quoted role name the workshop's command appends) are kept as they are.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from wildrydes_cli.errors import UsageError

LOG = logging.getLogger(__name__)

BUCKET_KEY = "DataBucket"
ROLE_KEY = "DataProcessingExecutionRole"
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*:\s*(.*?)\s*$")


def read(path: Path) -> dict[str, str]:
    """The ``key: value`` pairs in the file (other lines ignored); {} when it does not exist."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read scratchpad {path}: {exc}. Fix or remove it, or pass --scratchpad.") from exc
    values = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def write(path: Path, values: dict[str, str]) -> bool:
    """Set these keys, keeping every other line; True when the file changed."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read scratchpad {path}: {exc}. Fix or remove it, or pass --scratchpad.") from exc
    pending = dict(values)
    out = []
    for line in lines:
        match = _LINE.match(line)
        if match and match.group(1) in values:
            key = match.group(1)
            if key in pending:
                out.append(f"{key}: {pending.pop(key)}")
            continue  # a duplicate of a key we own: drop it
        out.append(line)
    out.extend(f"{key}: {value}" for key, value in pending.items())
    new_text = "\n".join(out) + "\n"
    old_text = "\n".join(lines) + "\n" if lines else ""
    if new_text == old_text:
        return False
    try:
        path.write_text(new_text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write scratchpad {path}: {exc}. Pass a writable --scratchpad.") from exc
    return True
