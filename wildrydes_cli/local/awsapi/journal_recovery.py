"""``local start --recover``: start with every intact record of a damaged journal, and say what was not.

Why a separate, explicit step: a damaged journal is never started from silently
(``journal.py`` refuses it, naming the file and the offset), because what no
longer reads back are changes the user was told were saved. Recovering is the
user's decision; when they make it, nothing is deleted:

- the damaged byte ranges, and whole records that can no longer be replayed (their
  blob is missing or does not match its name; a second header; records found inside
  damage that are out of order or carry another journal's seeds), are written to
  ``journal.bin.damaged-<offset>`` (0600, never overwriting one before) and fsynced;
- only then is the journal rewritten with the kept records (``Journal.rewrite``,
  crash-safe), and blobs are removed only if neither a kept record nor a set-aside
  file names them;
- a journal whose header record is lost gets it back from the records' own seeds
  (each request record keeps ``seed = seed_base + seq``), so ids after the
  recovery still never repeat one handed out before;
- ``Recovery`` says what happened (ranges, records set aside, what the damaged
  bytes probably were), for the daemon to report to ``local start --recover``.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace

from wildrydes_cli import faults
from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import journal_blobs
from wildrydes_cli.local.awsapi.journal_format import describe

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovery:
    """What a recovery kept and set aside (the daemon reports it to ``local start --recover``)."""

    journal: str
    kept_records: int
    damaged_ranges: list[tuple[int, int]] = field(default_factory=list)    # (offset, bytes)
    dropped_records: list[str] = field(default_factory=list)   # records set aside whole, and why
    probably_lost: list[str] = field(default_factory=list)     # requests the damaged bytes seem to have held
    set_aside: str | None = None
    header_rebuilt: bool = False

    def to_json(self) -> dict:
        return {"journal": self.journal, "kept_records": self.kept_records,
                "damaged_ranges": [list(r) for r in self.damaged_ranges],
                "dropped_records": self.dropped_records, "probably_lost": self.probably_lost,
                "set_aside": self.set_aside, "header_rebuilt": self.header_rebuilt}


def _replayable(records: list[jn.Record]) -> tuple[list[jn.Record], list[tuple[jn.Record, str]]]:
    """The records to keep, and those to set aside with the reason."""
    kept: list[jn.Record] = []
    dropped: list[tuple[jn.Record, str]] = []
    base = records[0].meta.get("seed_base") if records and records[0].meta.get("kind") == "header" else None
    last_seq = -1
    for i, record in enumerate(records):
        meta = record.meta
        if meta.get("kind") == "header" and i > 0:
            dropped.append((record, "a second header record"))
            continue
        if meta.get("kind") == "request":
            seq, seed = meta.get("seq"), meta.get("seed")
            if not (isinstance(seq, int) and isinstance(seed, int) and seq > last_seq
                    and (base is None or seed - seq == base)):
                dropped.append((record, "out of order, or another journal's"))
                continue
            base, last_seq = seed - seq, seq
        digest = meta.get("blob")
        if digest and record.blobs is not None and not journal_blobs.blob_intact(record.blobs / str(digest), str(digest)):
            dropped.append((record, f"its blob {digest} is missing or damaged"))
            continue
        kept.append(record)
    return kept, dropped


def recover(journal: jn.Journal, records: list[jn.Record]) -> tuple[list[jn.Record], Recovery | None]:
    """After ``journal.open(recover=True)``: the records to replay, and what was set aside (None: nothing)."""
    assert journal.opened is not None, "open the journal with recover=True first"
    data, found = journal.opened
    journal.opened = None
    kept, dropped = _replayable(records)
    header_lost = bool(kept) and kept[0].meta.get("kind") != "header"
    if not found.damaged and not dropped and not header_lost:
        journal.drop_unreferenced_blobs(records)
        return records, None
    recovery = Recovery(str(journal.path), len(kept), [(a, b - a) for a, b in found.damaged],
                        [f"{r.describe()} (record at byte {r.offset}: {why})" for r, why in dropped],
                        describe(b"".join(data[a:b] for a, b in found.damaged)))
    if found.damaged or dropped:
        ends = dict(zip((offset for offset, _, _ in found.frames), found.ends))
        pieces = [data[a:b] for a, b in found.damaged] + [data[r.offset:ends[r.offset]] for r, _ in dropped]
        first = min([a for a, _ in found.damaged] + [r.offset for r, _ in dropped])
        aside = journal.set_aside(b"".join(pieces), "damaged", first)
        recovery = replace(recovery, set_aside=str(aside))
        faults.point("recover-set-aside")
    if header_lost:
        kept = [jn.Record(_rebuilt_header(kept))] + kept
        recovery = replace(recovery, header_rebuilt=True)
    new = journal.rewrite(kept)
    journal.drop_unreferenced_blobs(new)
    recovery = replace(recovery, kept_records=len(new))
    LOG.warning("journal %s recovered: kept %d records; set aside %d damaged ranges and %d records%s%s",
                journal.path, len(new), len(found.damaged), len(dropped),
                f" in {recovery.set_aside}" if recovery.set_aside else "",
                "; rebuilt the header record" if header_lost else "")
    return new, recovery


def _rebuilt_header(records: list[jn.Record]) -> dict:
    """The header a journal lost, from its records' seeds (each request keeps seed_base + seq)."""
    requests = [r.meta for r in records if r.meta.get("kind") == "request"]
    base = (int(requests[0]["seed"]) - int(requests[0]["seq"]) if requests
            else int.from_bytes(os.urandom(6), "big") << 20)
    return {"kind": "header", "version": 1, "seed_base": base, "created": time.time(), "rebuilt": time.time(),
            "next_seq": max([int(m["seq"]) + 1 for m in requests] + [0])}
