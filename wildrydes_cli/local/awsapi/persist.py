"""Keep what the user made on the local target: journal mutating AWS calls, replay them at start.

Every AWS API request the daemon hands to moto goes through ``Persistence.call``.
A *mutating* one (not GET/HEAD/OPTIONS, and not a Describe/List/Get-style
action of the query and JSON protocols, which POST their reads) that moto
answers 2xx is appended to the journal (``journal.py``) and fsynced before the
client gets its answer, so a crash loses at most the request in flight.
execute-api traffic never reaches this module (the gateway serves it), so the
endpoint's throughput does not pay for persistence.

Same ids after a restart: moto draws every id (REST API and deployment ids,
stack ids, role ids, request ids, Lambda revision ids) from one seedable
``mock_random``. Reads draw from it too, so instead of hoping the stream lines
up we seed it before each journaled request with ``seed_base + seq`` (stored
in the record) both live and on replay, and we run moto calls one at a time
(a lock) so no other request can draw between the seed and the mutation. The
base is random per journal, so a journal started afresh does not hand out the
ids of a wiped one (an old invoke URL must not reach a new API).

One id is not drawn from ``mock_random``: S3 multipart upload ids use
``os.urandom``. The record of a CreateMultipartUpload keeps the id moto gave,
and the replay gives the upload that id back (``s3_uploads.py``), so a client
uploading parts across a restart goes on with the id it holds.

A change that cannot be saved (a full disk) is answered 507 in the protocol's
own error shape (``aws_errors.py``): moto has applied it, so it is kept in
memory and saved before the next change, and until that succeeds every further
change is refused (507, nothing applied). The journal is cut back to its last
whole record after a failed append (``journal.py``), so nothing acknowledged
ever sits behind a partial record; and what the journal holds is always what
was acknowledged, in order, so the replay can rebuild it.

What is journaled is what moto needs and nothing secret: not the signature
(of an Authorization header or of a presigned URL, whose query keeps only the
request's own parameters; its credential scope becomes the header moto routes
by), not session tokens, not connection headers.

At start a damaged journal (or one whose record names a damaged blob, or one
without its header record) is refused (``JournalDamaged``: the daemon does not
start and says why) unless the start asks to recover: then every intact record
is kept and the header is rebuilt from the records' own seeds.

A large body's blob (``journal_blobs.py``) is written in a second thread while moto
applies the request: the two cost about the same (hashing, copying, writing) and
both release the GIL, so a large PutObject is answered sooner. The order that
matters holds: the blob is durable before the frame that names it, and the frame
before the answer; a blob whose request moto refused is removed at once.

The journal is compacted before the replay when that pays (``compact.py``:
records whose effect a later record replaced are dropped).

Limits: timestamps (LastModified, CreationTime) are those of the replay;
changes made to moto's backends in-process without an HTTP request are not
journaled.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote

from wildrydes_cli import faults
from wildrydes_cli.local.awsapi import aws_errors, compact, journal_recovery, moto_backends, replay_s3, s3_uploads
from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi.s3_digests import declared_md5
from wildrydes_cli.local.awsapi.s3_digests import refusal as refusal_of_digests
from wildrydes_cli.local.http import HttpRequest, HttpResponse

LOG = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ACTION_PREFIXES = ("Describe", "List", "Get", "Validate", "Estimate", "Filter", "Lookup", "BatchGet")
# Log events arrive once per function invocation: journaling them would put an fsync on the
# execute-api path. Their events are kept apart, in batches, without an fsync per request (invoke/kept_logs.py).
NOT_KEPT_ACTIONS = frozenset({"PutLogEvents"})
# Not needed to rebuild state, or credentials that must not sit on disk; Content-Length is recomputed.
DROP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "expect", "content-length",
                          "user-agent", "x-amz-security-token", "amz-sdk-invocation-id", "amz-sdk-request",
                          "authorization"})
_LAMBDA_INVOKE = re.compile(r"^/\d{4}-\d\d-\d\d/functions/[^/]+/invocations/?$|^/\d{4}-\d\d-\d\d/functions/[^/]+/invoke-async/?$")
_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")
_UPLOAD_ID_QUERY = re.compile(r"(^|&)uploadId=([^&]*)")
# A presigned URL's authentication: never journaled (its credential scope becomes an Authorization header).
PRESIGNED_PARAMS = frozenset({"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
                              "x-amz-signedheaders", "x-amz-signature", "x-amz-security-token"})
NOT_SAVED = ("LocalTargetStorageError",) * 3
MAX_FORM_SCAN = 1024 * 1024

T = TypeVar("T")
MotoCall = Callable[[HttpRequest, int, "tuple[str, int] | None"], HttpResponse]


def _action(request: HttpRequest) -> str | None:
    """The API action for the JSON (X-Amz-Target) and query (Action=) protocols, else None (REST)."""
    target = request.header("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    values = parse_qs(request.query).get("Action")
    if values:
        return values[0]
    ctype = (request.header("content-type") or "").lower()
    if ctype.startswith("application/x-www-form-urlencoded") and request.body:
        values = parse_qs(request.body[:MAX_FORM_SCAN].decode("utf-8", "replace")).get("Action")
        if values:
            return values[0]
    return None


def is_mutating(request: HttpRequest) -> bool:
    """Whether replaying this request can be needed to rebuild state (when in doubt: yes)."""
    if request.method in READ_METHODS:
        return False
    if _LAMBDA_INVOKE.match(request.path):
        return False  # running code is not state; the runner does it, not moto
    action = _action(request)
    return not (action and (action.startswith(READ_ACTION_PREFIXES) or action in NOT_KEPT_ACTIONS))


def journal_headers(headers: list[tuple[str, str]], credential: str | None = None) -> list[list[str]]:
    """Headers moto needs to redo the request, without secrets.

    Authorization keeps only its credential scope (access key id, date,
    region, service): moto routes by the service and picks the account from
    the key; it does not check signatures, and a signature has no business on
    disk. ``credential``: a presigned URL's, which becomes such a header.
    """
    kept = [[name, value] for name, value in headers if name.lower() not in DROP_HEADERS]
    for name, value in headers:
        if name.lower() == "authorization":
            match = _CREDENTIAL.search(value)
            if match:
                credential = match.group(1)
    if credential:
        kept.append(["Authorization", f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0"])
    return kept


def journal_target(request: HttpRequest) -> tuple[str, str | None]:
    """The target to journal, without a presigned URL's authentication; and that URL's credential scope."""
    query = request.query
    if "x-amz-" not in query.lower():
        return request.target, None
    kept, credential = [], None
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if unquote(name).lower() not in PRESIGNED_PARAMS:
            kept.append(part)
        elif unquote(name).lower() == "x-amz-credential":
            credential = unquote(value)
    return request.path + ("?" + "&".join(kept) if kept else ""), credential


@dataclass(frozen=True)
class ReplayStats:
    records: int
    failed: int
    seconds: float
    journal_bytes: int
    recovery: dict | None = None     # what ``recover`` kept and set aside (None: nothing was damaged)


def _staged(staging: Future | None) -> jn.StagedBlob | None:
    """The blob written ahead, or None when there is none or writing it failed (``append`` then tries
    again itself and reports the failure as any other)."""
    if staging is None:
        return None
    try:
        return staging.result()
    except OSError as exc:
        LOG.warning("journal: writing a blob ahead failed (%s); the append tries again", exc)
        return None


def _not_saved(request: HttpRequest, exc: Exception, applied: bool) -> HttpResponse:
    """507 in the caller's protocol: the change could not be saved (``applied``) or was refused."""
    if applied:
        message = (f"The local target applied this change but could not save it ({exc}). Free space there: "
                   "the change is saved with the next one, and until then the local target refuses changes "
                   "(reads still work). If the emulator stops first, this change is not kept.")
    else:
        message = (f"The local target refuses changes until it can save an earlier one ({exc}). Free space "
                   "there and retry; nothing was changed.")
    return aws_errors.error_response(request, aws_errors.service_of(request), 507, NOT_SAVED, message)


class Persistence:
    """The one door to moto: serialises calls, journals mutations, replays them at start.

    ``journal`` None means no persistence (calls are still serialised, so ids
    behave the same either way).
    """

    def __init__(self, journal: jn.Journal | None, call: MotoCall | None = None,
                 seed: Callable[[int | None], None] | None = None, fast_s3: bool = True):
        if call is None:   # moto, and what CloudFormation's updates do that moto's do not
            from wildrydes_cli.local.awsapi import stack_updates
            call = stack_updates.call_moto
        if seed is None:
            from wildrydes_cli.local.awsapi import moto_backends
            seed = moto_backends.seed_ids
        self.journal = journal
        self.fast_s3 = fast_s3  # plain PutObject records straight into moto's backend (replay_s3.py)
        self._call = call
        self._seed = seed
        self._lock = threading.Lock()
        self.seed_base = 0
        self.next_seq = 0
        self.unsaved: tuple[dict, bytes] | None = None   # applied in moto, not yet in the journal (disk full)
        self.stats: ReplayStats | None = None            # of the replay at start
        self._stager: ThreadPoolExecutor | None = None   # writes a large body's blob while moto applies it

    # --- live traffic ---------------------------------------------------------------------------
    def call(self, request: HttpRequest, port: int, client: tuple[str, int] | None = None) -> HttpResponse:
        """Blocking (the server runs it in a thread): moto's answer, journaled first when it changed state."""
        refused = refusal_of_digests(request)     # a body its Content-MD5 or checksum does not describe
        if refused is not None:
            return refused
        plain = self._large_plain_put(request)
        large: AbstractContextManager[moto_backends.LargePut | None] = nullcontext(None)
        if plain is not None:   # its ETag before the lock: another upload's turn goes on (moto_backends.s3_puts)
            etag = declared_md5(request) or hashlib.md5(request.body, usedforsecurity=False).hexdigest()
            large = moto_backends.large_put(plain.key, len(request.body), etag)
        with self._lock, large as put:
            if "uploadId=" in request.query:
                missing = s3_uploads.missing_upload(request)
                if missing is not None:
                    return missing
            if self.journal is None or not is_mutating(request):
                return self._call(request, port, client)
            if self.unsaved is not None:
                try:
                    self.journal.append(*self.unsaved)
                except jn.JournalError as exc:
                    LOG.error("%s; refusing %s %s until the change before it is saved",
                              exc, request.method, request.path[:200])
                    return _not_saved(request, exc, applied=False)
                LOG.info("journal: saved the change the disk refused before")
                self.unsaved = None
            seq = self.next_seq
            staging = self._stage(request.body, request.body_sha256())
            self._seed(self.seed_base + seq)
            try:
                response = self._call(request, port, client)
            except BaseException:
                self.journal.discard(_staged(staging))
                raise
            staged = _staged(staging)
            if not 200 <= response.status < 300:
                self.journal.discard(staged)
                return response
            target, credential = journal_target(request)
            meta = {"kind": "request", "seq": seq, "seed": self.seed_base + seq, "method": request.method,
                    "target": target, "version": request.version,
                    "headers": journal_headers(request.headers, credential), "status": response.status}
            upload_id = s3_uploads.created_upload_id(request, response.body)
            if upload_id:
                meta["upload_id"] = upload_id
            self.next_seq = seq + 1      # moto drew ids from this seed: the next change must not reuse it
            try:
                self.journal.append(meta, request.body, staged)
            except jn.JournalError as exc:
                self.unsaved = (meta, request.body)
                LOG.error("%s; %s %s is applied and will be saved before the next change (changes are refused "
                          "until then)", exc, request.method, request.path[:200])
                return _not_saved(request, exc, applied=True)
            if staged is not None and plain is not None:   # a training job's Downloading links this file,
                replay_s3.remember_blob(plain, self.journal.blobs / staged.digest, staged.size)
                if put is not None:                         # and moto's object reads its bytes from it
                    put.keep_in(self.journal.blobs / staged.digest)
            return response

    def _large_plain_put(self, request: HttpRequest) -> replay_s3.PlainPut | None:
        """A PutObject of the plain shape (``replay_s3``) with a body the journal keeps as a blob, else None."""
        if self.journal is None or len(request.body) <= jn.BLOB_THRESHOLD or request.method != "PUT":
            return None
        target, credential = journal_target(request)
        return replay_s3.plain_put({"method": request.method, "target": target,
                                    "headers": journal_headers(request.headers, credential)})

    def _stage(self, body: bytes, digest: str | None = None) -> Future | None:
        """Start writing a large body's blob in the second thread (None: the body goes inline)."""
        if self.journal is None or len(body) <= jn.BLOB_THRESHOLD:
            return None
        if self._stager is None:
            self._stager = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-blob")
        return self._stager.submit(self.journal.stage, body, digest)

    def exclusive(self, change: Callable[[], T]) -> T:
        """Run an in-process change to moto's backends (a function's AssumeRole) between two requests."""
        with self._lock:
            return change()

    # --- start --------------------------------------------------------------------------------------
    def replay(self, port: int, recover: bool = False) -> ReplayStats:
        """Open the journal and redo its requests in order (before the daemon reports ready).

        Raises ``JournalDamaged`` (nothing is served; the journal is closed again) when the
        journal or a blob it names is damaged, or its header record is missing, unless ``recover``.
        """
        assert self.journal is not None
        try:
            return self._replay(port, recover)
        except BaseException:
            self.journal.close()
            raise

    def _replay(self, port: int, recover: bool) -> ReplayStats:
        assert self.journal is not None
        t0 = time.perf_counter()
        records = self.journal.open(recover=recover)
        recovery = None
        if recover:
            records, found = journal_recovery.recover(self.journal, records)
            recovery = found.to_json() if found is not None else None
        if records and records[0].meta.get("kind") != "header":
            raise jn.JournalDamaged(f"The local target's journal {self.journal.path} does not start with its "
                                    f"header record (it holds {len(records)} other records)")
        records = compact.at_start(self.journal, records)
        if not records:
            self.seed_base = int.from_bytes(os.urandom(6), "big") << 20
            self.journal.append({"kind": "header", "version": 1, "seed_base": self.seed_base,
                                 "created": time.time()})
            return ReplayStats(0, 0, time.perf_counter() - t0, self.journal.size_bytes(), recovery)
        header = records[0].meta
        self.seed_base = int(header["seed_base"])
        failed = 0
        upload_ids: dict[str, str] = {}
        requests = [r for r in records[1:] if r.meta.get("kind") == "request"]
        with self._lock:
            for record in requests:
                faults.point("replay-record")
                meta = record.meta
                target = meta["target"]
                if upload_ids and "uploadId=" in target:
                    path, _, query = target.partition("?")
                    query = _UPLOAD_ID_QUERY.sub(lambda m: m.group(1) + "uploadId=" +
                                                 upload_ids.get(m.group(2), m.group(2)), query)
                    target = f"{path}?{query}"
                try:
                    body = record.body()
                except jn.JournalError as exc:
                    if not recover:
                        raise jn.JournalDamaged(
                            f"The local target's journal {self.journal.path} names a blob that is missing or "
                            f"damaged: {self.journal.blobs / str(meta.get('blob'))} (the record at byte "
                            f"{record.offset}: {record.describe()})") from exc
                    failed += 1
                    LOG.error("journal replay: skipping record %s: %s", meta.get("seq"), exc)
                    continue
                request = HttpRequest(meta["method"], target, meta.get("version", "HTTP/1.1"),
                                      [(k, v) for k, v in meta["headers"]], body)
                self._seed(int(meta["seed"]))
                try:
                    blob = self.journal.blobs / str(meta["blob"]) if meta.get("blob") else None
                    if self.fast_s3 and replay_s3.put_object(meta, body, blob):
                        continue
                    response = self._call(request, port, None)
                except Exception:  # one bad record must not keep the user from the rest of their work
                    failed += 1
                    LOG.exception("journal replay: record %s (%s %s) raised", meta.get("seq"), meta["method"],
                                  target[:200])
                    continue
                if not 200 <= response.status < 300:
                    failed += 1
                    LOG.warning("journal replay: record %s (%s %s) answered %d now (was %s): %s",
                                meta.get("seq"), meta["method"], target[:200], response.status,
                                meta.get("status"), response.body[:300])
                new_id = s3_uploads.keep_id(meta, response.body)
                if new_id:
                    upload_ids[meta["upload_id"]] = new_id
            self._seed(None)
        # A compaction may have dropped the last requests: the header keeps the next seq (and seed).
        self.next_seq = max(int(header.get("next_seq", 0)), (int(requests[-1].meta["seq"]) + 1) if requests else 0)
        stats = ReplayStats(len(requests), failed, time.perf_counter() - t0, self.journal.size_bytes(),
                            recovery)
        LOG.info("journal replay: %d records in %.2f s (%d failed), journal %.1f MB",
                 stats.records, stats.seconds, stats.failed, stats.journal_bytes / 1e6)
        return stats

    def close(self) -> None:
        if self._stager is not None:       # its thread, idle between large bodies, ends with the journal
            self._stager.shutdown(wait=True)
            self._stager = None
        if self.journal is not None:
            if self.unsaved is not None:   # one last try: there may be room now
                try:
                    self.journal.append(*self.unsaved)
                    self.unsaved = None
                except jn.JournalError as exc:
                    LOG.error("%s; the change the disk refused is not kept", exc)
            self.journal.close()


PERSIST_ENV = "WILDRYDES_LOCAL_PERSIST"


def open_persistence(state_dir: Path, port: int, recover: bool = False) -> Persistence:
    """The daemon's Persistence: journal under the state directory, replayed (``JournalError``: not usable).

    ``WILDRYDES_LOCAL_PERSIST=0`` keeps nothing (the journal on disk is left
    alone, neither read nor written): for throwaway runs and for comparison.
    """
    if os.environ.get(PERSIST_ENV, "").strip() == "0":
        LOG.info("%s=0: nothing is kept across restarts", PERSIST_ENV)
        return Persistence(None)
    persistence = Persistence(jn.Journal(jn.journal_dir(state_dir)))
    persistence.stats = persistence.replay(port, recover=recover)
    return persistence
