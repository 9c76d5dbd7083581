"""The workshop's scratchpad.txt: readable ``key: value`` lines, updated in place.

Why keep it: the workshop's users know it (Step 1 appends the role name to
it) and later commands read their defaults from it. Writing is idempotent:
a key already present is rewritten where it is, lines we do not own (notes,
the raw quoted role name the workshop's command appends) are kept as they are.

What is taken for a scratchpad (``--scratchpad`` may name any file, and a
typo must not turn a script, a template or a binary into one): a file that
does not exist yet (it is created), or a regular file that is

1. at most ``MAX_BYTES`` (64 KiB): a scratchpad is a few lines;
2. UTF-8 text with no control character but tab, CR and LF (no binary);
3. made of lines of at most ``MAX_LINE_CHARS`` (1,000) characters;
4. mostly a scratchpad: its *other* lines - not blank, not ``Key: value``
   starting at the line's start, not a quoted name alone on its line (the
   workshop's Step 1 appends ``"RoleName"``, the AWS CLI's JSON output) -
   number at most ``MAX_FREE_LINES`` (32, a user's notes), or no more than
   its ``Key: value`` lines. An indented ``key: value`` (YAML, a
   CloudFormation template) counts as another line.

Anything else is refused, read or written, with the rule it breaks and what
to do. A path that reaches outside the working directory through a symbolic
link is refused too, naming where it leads (pass that path to mean it); a
path given outside it without a link is what the user asked for. Writes are
atomic: a temporary file in the same directory, fsynced, then renamed over
the scratchpad (keeping its permissions), so a crash leaves the old file or
the new one, never half of one, and a symbolic link inside the working
directory keeps pointing at the updated file.
"""
from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
from pathlib import Path

from wildrydes_cli.errors import UsageError

LOG = logging.getLogger(__name__)

BUCKET_KEY = "DataBucket"
ROLE_KEY = "DataProcessingExecutionRole"
MAX_BYTES = 64 * 1024
MAX_LINE_CHARS = 1000
MAX_FREE_LINES = 32
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*:\s*(.*?)\s*$")
_OWN_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*\s*:")        # Key: value at the line's start
_QUOTED = re.compile(r'^\s*"[^"\\]*"\s*$')                     # "RoleName", as the AWS CLI prints it
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _refuse(path: Path, why: str) -> UsageError:
    return UsageError(f"{path} does not look like a scratchpad ({why}); nothing was read or written. "
                      "Pass --scratchpad with the workshop's scratchpad file, or a new file name.")


def _target(path: Path) -> Path:
    """The file ``path`` names, refusing a symbolic link that leads out of the working directory."""
    absolute = Path(os.path.abspath(path))
    resolved = absolute.resolve()
    if resolved != absolute:   # a link somewhere on the way
        here = Path.cwd().resolve()
        if not resolved.is_relative_to(here):
            raise UsageError(f"{path} is a symbolic link to {resolved}, outside the working directory {here}; "
                             f"nothing was read or written. Pass --scratchpad {resolved} to use that file.")
    return resolved


def _text(path: Path) -> str | None:
    """The scratchpad's text after every check in the module docstring; None when it does not exist."""
    target = _target(path)
    try:
        info = target.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"Cannot read scratchpad {path}: {exc}. Fix it, or pass --scratchpad.") from exc
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "not a regular file")
    if info.st_size > MAX_BYTES:
        raise _refuse(path, f"{info.st_size} bytes, over {MAX_BYTES}")
    try:
        with open(target, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"Cannot read scratchpad {path}: {exc}. Fix it, or pass --scratchpad.") from exc
    if len(data) > MAX_BYTES:
        raise _refuse(path, f"over {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(path, "not UTF-8 text") from None
    if _CONTROL.search(text):
        raise _refuse(path, "binary: it has control characters")
    own = free = 0
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE_CHARS:
            raise _refuse(path, f"line {number} is {len(line)} characters long, over {MAX_LINE_CHARS}")
        if _OWN_LINE.match(line):
            own += 1
        elif line.strip() and not _QUOTED.match(line):
            free += 1
    if free > MAX_FREE_LINES and free > own:
        raise _refuse(path, f"{free} of its lines are not 'Key: value', a quoted name or blank, "
                            f"against {own} that are; at most {MAX_FREE_LINES} such lines are taken for notes")
    return text


def read(path: Path) -> dict[str, str]:
    """The ``key: value`` pairs in the file (other lines ignored); {} when it does not exist."""
    text = _text(Path(path))
    values: dict[str, str] = {}
    for line in (text or "").splitlines():
        match = _LINE.match(line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def write(path: Path, values: dict[str, str]) -> bool:
    """Set these keys, keeping every other line; True when the file changed."""
    path = Path(path)
    text = _text(path)
    lines = text.splitlines() if text else []
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
        _replace(_target(path), new_text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"Cannot write scratchpad {path}: {exc}. Pass a writable --scratchpad.") from exc
    return True


def _replace(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, fsync it, rename it over ``target``."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    try:
        directory = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)   # the rename itself survives a crash
    except OSError:
        pass
    finally:
        os.close(directory)
