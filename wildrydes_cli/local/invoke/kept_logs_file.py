"""The on-disk format of kept log events (``kept_logs.py`` decides what is kept and when it is synced).

One JSON Lines file per log group, ``<hash>.jsonl``, named by a hash of
(account, region, group) so no client-chosen text becomes a path; the file
before the group's last rotation is ``<hash>.jsonl.1``. Line 1 is a header
naming the group (checked against the file name on read); each further line
is one event ``{"t": ms, "s": stream, "m": message}``.

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


def read_file(path: Path, max_bytes: int, expect: tuple[str, str, str] | None = None) -> GroupFile | None:
    """One file's header and intact lines (at most about ``max_bytes`` of its end); None when unusable.

    A file without a valid header, or whose header names another group than its name, is removed.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header_line = handle.readline(MAX_HEADER_BYTES)
        try:
            meta = json.loads(header_line)
            key = (meta["account"], meta["region"], meta["group"])
            if not all(isinstance(x, str) for x in key) or meta.get("v") != VERSION:
                raise ValueError("bad header")
            if not path.name.startswith(file_name(*key)) or (expect is not None and key != expect):
                raise ValueError("header does not match the file name")
        except (ValueError, KeyError, TypeError):
            LOG.warning("log store: %s has no valid header; removing it", path.name)
            path.unlink(missing_ok=True)
            return None
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
    found = GroupFile(key, [], [], bool(torn), 0, clipped)
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
