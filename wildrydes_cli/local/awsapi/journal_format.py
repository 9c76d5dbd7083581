"""The journal file's frames: encoding, and telling a torn last frame from damage.

Why this matters: a crash (``kill -9``, a full disk) can only ever leave the *last*
frame incomplete, because every append is fsynced before the change is answered
and before the next append starts; that frame was never acknowledged and may be
cut off. Anything else that does not read back (a flipped byte in a frame, or in
one before others that are intact) is damage to changes that *were*
acknowledged, and must never be dropped silently (``journal.py`` refuses to
start on it). So a frame says enough about itself to tell the two apart.

Frame (format 2, written since): ``MAGIC2 | u32 payload length | u32 crc32(payload)
| u32 crc32(the 12 bytes before) | payload``, payload ``u32 meta length | meta
(JSON) | inline body``. The header's own checksum is what makes a torn frame
recognisable: a whole, checksummed header announcing more bytes than the file
holds can only be an append the writer did not finish (a flipped length byte
would fail the header's checksum). Format 1 frames (``MAGIC1``, no header
checksum) are still read, so a journal written before keeps working; new frames
go after them in format 2, and a compaction rewrites them all in format 2.

What a scan calls a torn tail (safe to cut): from some offset to the end of the
file, only zero bytes (a file whose size an OS crash made durable before its
data), a prefix of a frame header, or a frame whose intact header announces more
bytes than are left. Everything else that is not an intact frame is *damaged*,
with the intact frames that follow it still found (the scan looks for the next
offset where a whole frame with valid checksums starts).
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field

MAGIC1 = b"WRJ1"
MAGIC2 = b"WRJ2"
_HEAD1 = struct.Struct(">4sII")          # magic, length, crc32(payload)
_HEAD2 = struct.Struct(">4sIII")         # magic, length, crc32(payload), crc32(first 12 bytes)
_META = struct.Struct(">I")
MAX_META_BYTES = 16 * 1024 * 1024
_DIGEST = re.compile(rb"[0-9a-f]{64}")


def encode_frame(meta: dict, body: bytes = b"") -> bytes:
    """One format-2 frame: checksummed header, checksummed payload."""
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode()
    payload = _META.pack(len(meta_bytes)) + meta_bytes + body
    head = struct.pack(">4sII", MAGIC2, len(payload), zlib.crc32(payload))
    return head + struct.pack(">I", zlib.crc32(head)) + payload


@dataclass
class Scan:
    """What a journal file holds: its intact frames, its damaged byte ranges, and a torn tail if any."""

    frames: list[tuple[int, dict, bytes]] = field(default_factory=list)   # (offset, meta, inline body)
    ends: list[int] = field(default_factory=list)                        # where each frame ends
    damaged: list[tuple[int, int]] = field(default_factory=list)         # [start, end) not intact, not the tail
    torn_at: int | None = None      # a never-acknowledged last frame starts here: cut it off
    size: int = 0
    legacy: int = 0                 # format-1 frames among the intact ones


def frame_at(data: bytes, pos: int) -> tuple[dict, bytes, int, bool] | None:
    """(meta, inline body, end offset, legacy) of an intact frame starting at ``pos``, else None."""
    magic = data[pos:pos + 4]
    if magic == MAGIC2:
        if pos + _HEAD2.size > len(data):
            return None
        _, length, crc, head_crc = _HEAD2.unpack_from(data, pos)
        if zlib.crc32(data[pos:pos + 12]) != head_crc:
            return None
        start, legacy = pos + _HEAD2.size, False
    elif magic == MAGIC1:
        if pos + _HEAD1.size > len(data):
            return None
        _, length, crc = _HEAD1.unpack_from(data, pos)
        start, legacy = pos + _HEAD1.size, True
    else:
        return None
    end = start + length
    if end > len(data) or length < _META.size:
        return None
    payload = memoryview(data)[start:end]
    if zlib.crc32(payload) != crc:
        return None
    (meta_len,) = _META.unpack_from(payload, 0)
    if meta_len > min(MAX_META_BYTES, length - _META.size):
        return None
    try:
        meta = json.loads(bytes(payload[_META.size:_META.size + meta_len]))
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    return meta, bytes(payload[_META.size + meta_len:]), end, legacy


def _next_frame(data: bytes, start: int) -> int | None:
    """The first offset at or after ``start`` where an intact frame begins."""
    pos = data.find(b"WRJ", start)
    while pos != -1:
        if data[pos + 3:pos + 4] in (b"1", b"2") and frame_at(data, pos) is not None:
            return pos
        pos = data.find(b"WRJ", pos + 1)
    return None


def _skip_damaged(data: bytes, pos: int) -> int | None:
    """Where the intact frames resume after a damaged one at ``pos`` (None: nowhere).

    A format-2 frame whose header is intact says where it ends: when an intact frame
    (or the end of the file) is there, that is the place, and bytes inside its payload
    that look like frames (a journal uploaded as an object) are not mistaken for records.
    """
    if data[pos:pos + 4] == MAGIC2 and pos + _HEAD2.size <= len(data):
        _, length, _, head_crc = _HEAD2.unpack_from(data, pos)
        end = pos + _HEAD2.size + length
        if zlib.crc32(data[pos:pos + 12]) == head_crc and end <= len(data):
            if end == len(data):
                return None
            if frame_at(data, end) is not None:
                return end
    return _next_frame(data, pos + 1)


def _torn(data: bytes, pos: int) -> bool:
    """Whether everything from ``pos`` on is what an unfinished last append leaves (see the docstring)."""
    rest = memoryview(data)[pos:]
    if not bytes(rest).strip(b"\0"):
        return True
    head = bytes(rest[:4])
    if len(rest) < 4:
        return MAGIC2.startswith(head) or MAGIC1.startswith(head)
    if head == MAGIC2:
        if len(rest) < _HEAD2.size:
            return True
        _, length, _, head_crc = _HEAD2.unpack_from(rest, 0)
        return zlib.crc32(rest[:12]) == head_crc and _HEAD2.size + length > len(rest)
    if head == MAGIC1:   # no header checksum: torn only if it overruns the file and nothing intact follows
        if len(rest) < _HEAD1.size:
            return True
        _, length, _ = _HEAD1.unpack_from(rest, 0)
        return _HEAD1.size + length > len(rest) and _next_frame(data, pos + 1) is None
    return False


def scan(data: bytes) -> Scan:
    """Every intact frame, every damaged range between them, and the torn tail (if the file ends in one)."""
    found = Scan(size=len(data))
    pos = 0
    while pos < len(data):
        frame = frame_at(data, pos)
        if frame is not None:
            meta, inline, end, legacy = frame
            found.frames.append((pos, meta, inline))
            found.ends.append(end)
            found.legacy += legacy
            pos = end
            continue
        if _torn(data, pos):
            found.torn_at = pos
            break
        following = _skip_damaged(data, pos)
        found.damaged.append((pos, len(data) if following is None else following))
        if following is None:
            break
        pos = following
    return found


def where_damaged(found: Scan) -> str:
    """``damaged at byte N (...)``: the first damaged range, how many more, and how many records follow it."""
    (start, end), more = found.damaged[0], len(found.damaged) - 1
    after = sum(1 for offset, _, _ in found.frames if offset >= end)
    text = f"damaged at byte {start} ({end - start} bytes that are not an intact record"
    if more:
        text += f"; and {more} more place{'s' if more > 1 else ''}"
    return text + f"; {after} intact record{'s' if after != 1 else ''} after it)"


def digests_named(data: bytes) -> set[str]:
    """Every blob digest (64 hex digits) that bytes set aside might name: those blobs are never removed."""
    return {match.decode() for match in _DIGEST.findall(data)}


def describe(data: bytes, limit: int = 10) -> list[str]:
    """What damaged bytes probably held, as ``METHOD target`` (best effort, for the recovery report)."""
    out = []
    for match in re.finditer(rb'"method":"([A-Z]{3,7})","target":"((?:[^"\\]|\\.){0,200})', data):
        out.append(f"{match.group(1).decode()} {match.group(2).decode('utf-8', 'replace')}")
        if len(out) >= limit:
            break
    return out
