"""Compact the local target's journal: drop the records a later record wholly replaced.

Why: the journal (``journal.py``) only grows, so its size and the replay at
``local start`` grow with history, not with what exists: every retrain of a
breed rewrites ``breeds/<b>/latest.json``, every cleanup deletes what earlier
uploads wrote. Compaction keeps the records that still make the state, in
their order, and drops the rest; the header keeps ``next_seq`` so new requests
never reuse the seed (and so the ids) of a dropped one.

What may go (S3 objects only, for now; every other record is kept as is):

1. **A superseded object write**: a PutObject, a CopyObject (its destination)
   or a completed multipart upload (its CreateMultipartUpload, UploadParts and
   Complete; the object appears at the Complete) to bucket B, key K, followed
   by a later write or delete of B/K, *when nothing in between may have read
   B/K*. Readers: a CopyObject or UploadPartCopy whose source is B/K, a
   conditional write of B/K (If-Match, ...), and any request to a service that
   can read S3 objects itself (Lambda takes code from S3; CloudFormation
   templates, function code). Such a request pins the
   object as it stood then, and a pinned write is kept: replaying the reader
   must find the same bytes. The later write replaces the object whole (body,
   metadata, tags, ACL), so nothing of the dropped one is visible afterwards.
   Except for tags, in moto: they live under the key's name, not the object,
   survive a delete, and a CopyObject adds the source's tags to them, so a copy
   onto the key (now or in a later session) sees tags of objects long gone. A
   key that is ever tagged (PutObjectTagging, an ``x-amz-tagging`` header) or
   copied onto keeps every record.
2. **Requests that changed only that object** (PutObjectAcl) go with the
   write they applied to.
3. **A delete that deletes nothing**: a DeleteObject, or a DeleteObjects all
   of whose keys are already absent at that point *in the compacted journal*
   (their writes were dropped). Deleting a missing key of an unversioned
   bucket changes nothing. A delete of a key this journal never wrote is kept:
   moto might spell a key we parsed differently the same.
4. **An aborted multipart upload** (create, parts, abort): nothing of it remains.

State equality: for every key, its state at each reader and at the end of the
compacted journal is the same as in the original; no other request looks at
object contents; each record replays with its own seed, so dropping one moves
no id of another. ``tests/local/awsapi/test_compact.py`` replays both
journals into moto and compares.

When unsure, keep. A bucket's objects are compacted only if the bucket is
*plain* for the whole journal: no bucket-level request but CreateBucket
(without object lock), DeleteBucket, DeleteObjects without version ids, and
settings that do not touch objects (``compact_s3.SAFE_BUCKET_SETTINGS``):
versioning keeps old versions (state), object lock refuses overwrites,
logging and notifications act on each request; all requests to it signed with one access
key (bucket names are global in moto); every multipart record names an upload
this journal created; no object sub-resource but tagging and ACL. A bucket
that CloudFormation made is plain only if no CloudFormation request mentions
versioning, object lock, logging, notification or replication, or takes its
template from a URL. A request of a service not in ``KNOWN_SERVICES`` (it might
write objects), or one whose service or bucket cannot be told (no credential
scope, a virtual-hosted bucket, moto's own ``/moto-api``), stops S3 compaction
for the whole journal. Records that are not requests (the header, kinds a
newer version wrote) are kept.
"""
from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi.compact_s3 import S3Op, classify, headers_of, partition

LOG = logging.getLogger(__name__)

COMPACT_ENV = "WILDRYDES_LOCAL_COMPACT"   # "0": never compact at start
MIN_FREED_BYTES = 1 << 20
# Services whose requests never write S3 objects; of them, these may read objects at replay.
KNOWN_SERVICES = frozenset({"s3", "iam", "sts", "logs", "apigateway", "lambda", "cloudformation"})
READS_S3 = frozenset({"lambda", "cloudformation"})
_CFN_CONFIGURES = re.compile(rb"versioning|objectlock|loggingconfiguration|notificationconfiguration|"
                             rb"replicationconfiguration|templateurl", re.IGNORECASE)
_SCOPE = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
MAX_ROUNDS = 8


@dataclass
class Plan:
    """Which records (by index) go, and why the rest of S3 stays when it does."""

    drop: set[int] = field(default_factory=set)
    opaque_buckets: set[str] = field(default_factory=set)
    disabled: str | None = None     # why nothing at all is dropped


@dataclass(frozen=True)
class Outcome:
    """What one compaction did (or would do: ``compacted`` False)."""

    compacted: bool
    records_before: int
    records_after: int
    bytes_before: int               # journal file + blobs
    bytes_after: int
    seconds: float
    reason: str


@dataclass
class _Key:
    present: bool = False           # as of the kept records so far
    written: bool = False           # a write of this key was seen (a delete of an unseen key is kept)
    pending: list[int] | None = None  # the last write (and its modifiers), not yet kept or dropped
    pending_epoch: int = 0
    pinned: bool = False


class _Tracker:
    """Per-key state through the journal (rules 1-4 of the module docstring)."""

    def __init__(self, drop: set[int]):
        self.drop = drop
        self.keys: dict[tuple[str, str], _Key] = {}
        self.epoch = 0              # bumped by every request that may read any object

    def _resolve(self, state: _Key) -> None:
        if state.pending is None:
            return
        if state.pinned or state.pending_epoch != self.epoch:
            state.present = True    # read meanwhile: kept
        else:
            self.drop.update(state.pending)
        state.pending = None

    def write(self, bk: tuple[str, str], indices: list[int]) -> None:
        state = self.keys.setdefault(bk, _Key())
        self._resolve(state)
        state.pending, state.pending_epoch, state.pinned = list(indices), self.epoch, False
        state.written = True

    def delete(self, bk: tuple[str, str]) -> bool:
        """Whether the delete is needed: the key is present in the compacted journal, or this journal
        never wrote it as we name it (moto might spell a key we parsed differently the same)."""
        state = self.keys.setdefault(bk, _Key())
        self._resolve(state)
        needed, state.present = state.present or not state.written, False
        return needed

    def modify(self, bk: tuple[str, str], index: int) -> None:
        state = self.keys.get(bk)
        if state is not None and state.pending is not None:
            state.pending.append(index)

    def read(self, bk: tuple[str, str]) -> None:
        state = self.keys.get(bk)
        if state is not None:
            state.pinned = True


@dataclass
class _Survey:
    """What a first pass over the journal learns: each S3 request's meaning and which buckets stay whole."""

    result: Plan
    ops: dict[int, S3Op] = field(default_factory=dict)
    readers: set[int] = field(default_factory=set)     # requests of services that may read any object
    sticky: set[tuple[str, str]] = field(default_factory=set)   # keys ever tagged or copied onto
    signers: dict[str, set[tuple[str, str]]] = field(default_factory=dict)   # bucket -> (key id, partition)
    uploads: dict[str, tuple[str, str]] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    made_by_s3: set[str] = field(default_factory=set)
    cfn_configures: bool = False

    def add(self, i: int, record: jn.Record) -> str | None:
        """Take one record in; returns why S3 compaction must stop for the whole journal, if it must."""
        meta = record.meta
        headers = headers_of(meta)
        scope = _SCOPE.search(headers.get("authorization", ""))
        if scope is None or str(meta.get("target", "")).startswith("/moto-api"):
            return f"record {meta.get('seq')} has no credential scope (service unknown)"
        service = scope.group(3)
        if service not in KNOWN_SERVICES:
            return f"record {meta.get('seq')} is for {service}, which might write objects"
        if service in READS_S3:
            self.readers.add(i)
        if service == "cloudformation" and not self.cfn_configures:
            self.cfn_configures = bool(meta.get("blob")) or bool(_CFN_CONFIGURES.search(record.inline))
        if service != "s3":
            return None
        op = classify(meta, headers, _delete_body(record))
        if op is None:
            return f"record {meta.get('seq')}: the bucket of {meta.get('target', '')[:80]} is not known"
        self.ops[i] = op
        self.signers.setdefault(op.bucket, set()).add((scope.group(1), partition(scope.group(2))))
        self._note(op)
        return None

    def _note(self, op: S3Op) -> None:
        """What one S3 request says about its bucket: tags, bucket settings, multipart uploads."""
        if op.tags_key:
            self.sticky.add((op.bucket, op.key))
        if op.kind in ("bucket_bad", "object_bad"):
            self.result.opaque_buckets.add(op.bucket)
        elif op.kind == "bucket_create":
            self.made_by_s3.add(op.bucket)
        elif op.kind == "mp_create":
            self.uploads[op.upload_id] = (op.bucket, op.key)
        elif op.kind in ("mp_part", "mp_complete", "mp_abort"):
            if self.uploads.get(op.upload_id) != (op.bucket, op.key) or op.upload_id in self.finished:
                self.result.opaque_buckets.add(op.bucket)
            if op.kind != "mp_part":
                self.finished.add(op.upload_id)

    def close(self) -> None:
        """Buckets written with several keys, or made by a CloudFormation template that configures S3: kept."""
        for bucket, signers in self.signers.items():
            if len(signers) > 1 or (self.cfn_configures and bucket not in self.made_by_s3):
                self.result.opaque_buckets.add(bucket)


def _delete_body(record: jn.Record) -> bytes:
    """A DeleteObjects' body (its keys; many long keys may sit in a blob); other requests need none."""
    if not str(record.meta.get("target", "")).endswith("?delete"):
        return b""
    try:
        return record.body()
    except jn.JournalError:
        return b""     # unreadable: not parsed, so the bucket is left alone


def plan(records: list[jn.Record]) -> Plan:
    """Decide which records go (a pure function of the records; nothing is written)."""
    survey = _Survey(Plan())
    for i, record in enumerate(records):
        if record.meta.get("kind") != "request":
            continue
        survey.result.disabled = survey.add(i, record)
        if survey.result.disabled:
            return survey.result
    survey.close()
    _track(survey)
    return survey.result


def _track(survey: _Survey) -> None:
    """Walk the S3 requests in order with the per-key tracker; what it finds superseded is dropped."""
    result, ops = survey.result, survey.ops
    tracker = _Tracker(result.drop)
    groups: dict[str, list[int]] = {}
    for i in sorted(set(ops) | survey.readers):
        if i in survey.readers:
            tracker.epoch += 1
            continue
        op = ops[i]
        if op.source_unknown:
            tracker.epoch += 1
        elif op.source is not None:
            tracker.read(op.source)
        if op.bucket in result.opaque_buckets:
            continue
        if op.kind == "delete_many":
            needed = [tracker.delete((op.bucket, key)) or (op.bucket, key) in survey.sticky for key in op.keys]
            if not any(needed):
                result.drop.add(i)
        elif (op.bucket, op.key) not in survey.sticky:
            _apply(tracker, groups, i, op)
    # Writes still pending at the end are the live objects: kept. Uploads still open: kept.


def _apply(tracker: _Tracker, groups: dict[str, list[int]], i: int, op: S3Op) -> None:
    """One request to one key of a plain bucket (rules 1-4)."""
    bk = (op.bucket, op.key)
    if op.reads_itself:
        tracker.read(bk)
    if op.kind in ("put", "copy"):
        tracker.write(bk, [i])
    elif op.kind == "delete":
        if not tracker.delete(bk):
            tracker.drop.add(i)
    elif op.kind == "modify":
        tracker.modify(bk, i)
    elif op.kind == "mp_create":
        groups[op.upload_id] = [i]
    elif op.upload_id not in groups:
        return          # a part, completion or abort of an upload this walk did not see begin
    elif op.kind == "mp_part":
        groups[op.upload_id].append(i)
    elif op.kind == "mp_complete":
        tracker.write(bk, groups.pop(op.upload_id) + [i])
    elif op.kind == "mp_abort":
        tracker.drop.update(groups.pop(op.upload_id) + [i])


def _frame_sizes(journal: jn.Journal, records: list[jn.Record]) -> list[int]:
    end = journal.path.stat().st_size
    offsets = [r.offset for r in records] + [end]
    return [offsets[i + 1] - offsets[i] for i in range(len(records))]


def _blob_sizes(journal: jn.Journal, digests: set) -> int:
    total = 0
    for digest in digests:
        try:
            total += (journal.blobs / str(digest)).stat().st_size
        except OSError:
            pass
    return total


def _header(records: list[jn.Record]) -> dict:
    header = dict(records[0].meta)
    seqs = [int(r.meta["seq"]) for r in records if r.meta.get("kind") == "request" and "seq" in r.meta]
    header["next_seq"] = max([int(header.get("next_seq", 0))] + [s + 1 for s in seqs])
    header["compactions"] = int(header.get("compactions", 0)) + 1
    header["compacted"] = time.time()
    return header


def compact(journal: jn.Journal, records: list[jn.Record], *, force: bool) -> tuple[list[jn.Record], Outcome]:
    """Compact an open journal (its lock held) when it pays, or always when ``force``.

    It pays when the bytes freed are at least ``MIN_FREED_BYTES`` and at least
    the bytes the rewrite copies (the kept part of the journal file; blobs are
    never copied): each compaction then writes no more than it frees, so over a
    journal's life compaction at most doubles the bytes written, while the
    journal (and the replay) stays within twice the live state plus that floor.
    Returns the records to replay (the new ones when it compacted).
    """
    t0 = time.perf_counter()
    sizes = _frame_sizes(journal, records) if records else []
    blobs = {r.meta["blob"] for r in records if r.meta.get("blob")}
    bytes_before = sum(sizes) + _blob_sizes(journal, blobs)

    def outcome(compacted: bool, after: list[jn.Record], bytes_after: int, reason: str) -> Outcome:
        return Outcome(compacted, len(records), len(after), bytes_before, bytes_after,
                       round(time.perf_counter() - t0, 3), reason)

    dropped, why_not = _superseded(records)
    if not dropped:
        return records, outcome(False, records, bytes_before, why_not)
    kept_blobs = {r.meta.get("blob") for i, r in enumerate(records) if i not in dropped} - {None}
    freed = sum(sizes[i] for i in dropped) + _blob_sizes(journal, blobs - kept_blobs)
    rewrite_bytes = sum(sizes) - sum(sizes[i] for i in dropped)
    if not force and (freed < MIN_FREED_BYTES or freed < rewrite_bytes):
        reason = (f"{len(dropped)} superseded records ({freed / 1e6:.1f} MB) do not pay for rewriting "
                  f"{rewrite_bytes / 1e6:.1f} MB yet")
        return records, outcome(False, records, bytes_before, reason)
    LOG.info("journal compaction: dropping %d of %d records (%.1f MB of %.1f MB); rewriting %.1f MB",
             len(dropped), len(records), freed / 1e6, bytes_before / 1e6, rewrite_bytes / 1e6)
    new = _rewrite(journal, records, dropped)
    result = outcome(True, new, journal.size_bytes(), f"dropped {len(dropped)} superseded records")
    LOG.info("journal compaction: %d -> %d records, %.1f -> %.1f MB in %.2f s", result.records_before,
             result.records_after, result.bytes_before / 1e6, result.bytes_after / 1e6, result.seconds)
    return new, result


def _superseded(records: list[jn.Record]) -> tuple[set[int], str]:
    """The indices of the records that may go, and (when none) why not.

    Planned in rounds: a dropped copy no longer pins its source, so another round may free that too.
    """
    if not records or records[0].meta.get("kind") != "header":
        return set(), "no header record"
    dropped: set[int] = set()
    decided = Plan()
    for _ in range(MAX_ROUNDS):
        remaining = [i for i in range(len(records)) if i not in dropped]
        decided = plan([records[i] for i in remaining])
        if not decided.drop:
            break
        dropped |= {remaining[j] for j in decided.drop}
    return dropped, decided.disabled or "nothing superseded"


def _rewrite(journal: jn.Journal, records: list[jn.Record], dropped: set[int]) -> list[jn.Record]:
    """Write the kept records (a new header first) in place of the journal; the freed blobs go after."""
    kept = [jn.Record(_header(records), records[0].inline)]
    kept += [r for i, r in enumerate(records) if i and i not in dropped]
    new = journal.rewrite(kept)
    try:
        journal.drop_unreferenced_blobs(new)
    except OSError as exc:   # they stay until the next open removes them
        LOG.warning("journal compaction: could not remove freed blobs yet: %s", exc)
    return new


def at_start(journal: jn.Journal, records: list[jn.Record]) -> list[jn.Record]:
    """Before the replay (``persist.Persistence.replay``): compact when it pays; never fail the start."""
    if os.environ.get(COMPACT_ENV, "").strip() == "0":
        return records
    try:
        new, outcome = compact(journal, records, force=False)
    except (OSError, jn.JournalError) as exc:   # raised before the rename: the old journal is whole
        LOG.warning("journal compaction skipped: %s", exc)
        return records
    except Exception:   # a bug here must not keep the user from their work: replay it as it is
        LOG.exception("journal compaction failed; replaying the journal as it is")
        return records
    if not outcome.compacted:
        LOG.info("journal compaction: not now (%s)", outcome.reason)
    return new
