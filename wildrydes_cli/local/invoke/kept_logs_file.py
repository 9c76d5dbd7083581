"""The on-disk format of kept log events (``kept_logs.py`` decides what is kept and when it is synced).

One JSON Lines file per log group, ``<hash>.jsonl``, named by a hash of
(account, region, group) so no client-chosen text becomes a path; the file
before the group's last rotation is ``<hash>.jsonl.1``. Line 1 is a header
naming the group (checked against the file name on read); each further line
is one event ``{"t": ms, "s": stream, "m": message}``.

A damaged header line costs only itself: the group is then known from the file
name (a hash of the group) matched against the groups the caller knows (the one
before the rotation, the groups moto holds after the journal's replay), and the
file is rewritten with a good header; when no known group matches, the file is
set aside as ``<name>.damaged`` (never deleted) and its events are not served.

Why JSON Lines with ``ensure_ascii``: log text comes from client input (the
function logs the request path). JSON escapes newlines, quotes, control
characters, non-ASCII and lone surrogates, so a line on disk is always one
event and a message holding ``\n{"t": ...}`` cannot forge a second one. A
line that is torn (a crash mid-write) or does not parse is skipped on read;
the store cuts a torn last line off before its next append.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _quote
from pathlib import Path

LOG = logging.getLogger(__name__)

SUFFIX = ".jsonl"
PREVIOUS = ".1"              # the file before the last rotation
MAX_HEADER_BYTES = 64 * 1024
VERSION = 1


def file_name(account_id: str, region: str, group: str) -> str:
    key = "\0".join((account_id, region, group)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()[:32] + SUFFIX


def encode_batch(stream: str, events: Iterable[dict]) -> bytes:
    """Lines equal to ``json.dumps({"t", "s", "m"}, separators=(",", ":"))`` each, at a third of its cost.

    ``encode_basestring_ascii`` is the C routine json.dumps itself quotes
    strings with (ensure_ascii); the stream is quoted once per batch.
    """
    quoted = _quote(stream)
    return "".join(['{"t":%d,"s":%s,"m":%s}\n' % (e["timestamp"], quoted, _quote(e["message"]))
                    for e in events]).encode("ascii")


def header(account_id: str, region: str, group: str) -> bytes:
    return json.dumps({"v": VERSION, "account": account_id, "region": region, "group": group},
                      separators=(",", ":")).encode() + b"\n"


def decode_event(line: bytes) -> dict | None:
    """``{"timestamp", "message", "stream"}`` or None for a line that is not a whole, well-formed event."""
    try:
        item = json.loads(line)
    except ValueError:
        return None
    if not (isinstance(item, dict) and isinstance(item.get("t"), int) and isinstance(item.get("s"), str)
            and isinstance(item.get("m"), str)):
        return None
    return {"timestamp": item["t"], "stream": item["s"], "message": item["m"]}


@dataclass
class GroupFile:
    """What ``read_file`` found in one file."""

    key: tuple[str, str, str]
    events: list[dict]
    lines: list[bytes]
    torn: bool
    skipped: int
    clipped: bool
    header_damaged: bool = False    # the group came from the file name: rewrite the file with a header


Key = tuple[str, str, str]


def _header_key(line: bytes, path: Path, expect: Key | None) -> Key | None:
    """The group a header line names, when it is valid and matches the file's name (and ``expect``)."""
    try:
        meta = json.loads(line)
        key = (meta["account"], meta["region"], meta["group"])
    except (ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(x, str) for x in key) or meta.get("v") != VERSION:
        return None
    if not path.name.startswith(file_name(*key)) or (expect is not None and key != expect):
        return None
    return key


def header_key(path: Path) -> Key | None:
    """The group a file's header names (None: no file, or no valid header)."""
    try:
        with open(path, "rb") as handle:
            return _header_key(handle.readline(MAX_HEADER_BYTES), path, None)
    except OSError:
        return None


def set_aside(path: Path) -> Path | None:
    """Rename an unusable file to ``<name>.damaged`` (``-2``, ``-3``... when taken): kept, never served."""
    for n in range(1, 1000):
        target = path.with_name(path.name + (".damaged" if n == 1 else f".damaged-{n}"))
        if not target.exists():
            os.replace(path, target)
            return target
    return None


def read_file(path: Path, max_bytes: int, expect: Key | None = None, known: Iterable[Key] = ()) -> GroupFile | None:
    """One file's header and intact lines (at most about ``max_bytes`` of its end); None when unusable.

    A damaged header (or one naming another group than the file's name) is replaced by the
    group of ``expect`` or ``known`` whose hash the file's name is; when none is, the file is
    set aside (see the module docstring) and None returned.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header_line = handle.readline(MAX_HEADER_BYTES)
        key = _header_key(header_line, path, expect)
        damaged = key is None
        if key is None:
            key = next((k for k in ([expect] if expect else []) + list(known)
                        if path.name.startswith(file_name(*k))), None)
            if key is None:
                kept = set_aside(path)
                LOG.warning("log store: %s has no valid header and names no known group; set aside as %s",
                            path.name, kept.name if kept else "(could not rename it)")
                return None
            if header_line:
                LOG.warning("log store: %s: its header line is damaged; it is the file of %s (by its name): "
                            "keeping its events", path.name, key[2])
            if decode_event(header_line.rstrip(b"\n")) is not None:   # the header was lost, not damaged
                handle.seek(0)
        start = handle.tell()
        budget = max_bytes + MAX_HEADER_BYTES   # a huge file costs no more memory than the bound
        clipped = size - start > budget
        if clipped:
            handle.seek(size - budget)
            handle.readline()              # a partial line: skip to the next whole one
        body = handle.read()
    whole, _, torn = body.rpartition(b"\n")
    if torn:
        LOG.warning("log store: %s: ignoring a torn last line (%d bytes)", path.name, len(torn))
    found = GroupFile(key, [], [], bool(torn), 0, clipped, damaged)
    for line in whole.split(b"\n") if whole else []:
        event = decode_event(line)
        if event is None:
            found.skipped += 1
            continue
        found.events.append(event)
        found.lines.append(line + b"\n")
    if found.skipped:
        LOG.warning("log store: %s: skipped %d damaged lines", path.name, found.skipped)
    return found


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
