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
and replay maps it to the new one in the later UploadPart/Complete requests.

The journal is compacted before the replay when that pays (``compact.py``:
records whose effect a later record replaced are dropped).

Limits: timestamps (LastModified, CreationTime) are those of the replay;
changes made to moto's backends in-process without an HTTP request are not
journaled.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs

from wildrydes_cli.local.awsapi import compact, replay_s3
from wildrydes_cli.local.awsapi import journal as jn
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
_UPLOAD_ID = re.compile(rb"<UploadId>([^<]+)</UploadId>")
_UPLOAD_ID_QUERY = re.compile(r"(^|&)uploadId=([^&]*)")
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


def journal_headers(headers: list[tuple[str, str]]) -> list[list[str]]:
    """Headers moto needs to redo the request, without secrets.

    Authorization keeps only its credential scope (access key id, date,
    region, service): moto routes by the service and picks the account from
    the key; it does not check signatures, and a signature has no business on
    disk.
    """
    kept = [[name, value] for name, value in headers if name.lower() not in DROP_HEADERS]
    for name, value in headers:
        if name.lower() == "authorization":
            match = _CREDENTIAL.search(value)
            if match:
                kept.append([name, f"AWS4-HMAC-SHA256 Credential={match.group(1)}, SignedHeaders=host, Signature=0"])
    return kept


@dataclass(frozen=True)
class ReplayStats:
    records: int
    failed: int
    seconds: float
    journal_bytes: int


class Persistence:
    """The one door to moto: serialises calls, journals mutations, replays them at start.

    ``journal`` None means no persistence (calls are still serialised, so ids
    behave the same either way).
    """

    def __init__(self, journal: jn.Journal | None, call: MotoCall | None = None,
                 seed: Callable[[int | None], None] | None = None, fast_s3: bool = True):
        if call is None:
            from wildrydes_cli.local.awsapi import wsgi
            call = wsgi.call_moto
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

    # --- live traffic ---------------------------------------------------------------------------
    def call(self, request: HttpRequest, port: int, client: tuple[str, int] | None = None) -> HttpResponse:
        """Blocking (the server runs it in a thread): moto's answer, journaled first when it changed state."""
        with self._lock:
            if self.journal is None or not is_mutating(request):
                return self._call(request, port, client)
            seq = self.next_seq
            self._seed(self.seed_base + seq)
            response = self._call(request, port, client)
            if not 200 <= response.status < 300:
                return response
            meta = {"kind": "request", "seq": seq, "seed": self.seed_base + seq, "method": request.method,
                    "target": request.target, "version": request.version,
                    "headers": journal_headers(request.headers), "status": response.status}
            if request.method == "POST" and "uploads" in parse_qs(request.query, keep_blank_values=True):
                match = _UPLOAD_ID.search(response.body)
                if match:
                    meta["upload_id"] = match.group(1).decode()
            try:
                self.journal.append(meta, request.body)
            except jn.JournalError as exc:
                LOG.error("%s; %s %s is applied until the emulator stops, then lost",
                          exc, request.method, request.target[:200])
                return HttpResponse(507, [("Content-Type", "application/json")],
                                    b'{"message": "The local target could not save this change to its journal '
                                    b'(see the emulator log); it is applied but will not survive a restart."}')
            self.next_seq = seq + 1
            return response

    def exclusive(self, change: Callable[[], T]) -> T:
        """Run an in-process change to moto's backends (a function's AssumeRole) between two requests."""
        with self._lock:
            return change()

    # --- start --------------------------------------------------------------------------------------
    def replay(self, port: int) -> ReplayStats:
        """Open the journal and redo its requests in order (before the daemon reports ready)."""
        assert self.journal is not None
        t0 = time.perf_counter()
        records = compact.at_start(self.journal, self.journal.open())
        header = records[0].meta if records and records[0].meta.get("kind") == "header" else None
        if header is None:
            if records:
                raise jn.JournalError(f"{self.journal.path} does not start with a header record")
            self.seed_base = int.from_bytes(os.urandom(6), "big") << 20
            self.journal.append({"kind": "header", "version": 1, "seed_base": self.seed_base,
                                 "created": time.time()})
            return ReplayStats(0, 0, time.perf_counter() - t0, self.journal.size_bytes())
        self.seed_base = int(header["seed_base"])
        failed = 0
        upload_ids: dict[str, str] = {}
        requests = [r for r in records[1:] if r.meta.get("kind") == "request"]
        with self._lock:
            for record in requests:
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
                    failed += 1
                    LOG.error("journal replay: skipping record %s: %s", meta.get("seq"), exc)
                    continue
                request = HttpRequest(meta["method"], target, meta.get("version", "HTTP/1.1"),
                                      [(k, v) for k, v in meta["headers"]], body)
                self._seed(int(meta["seed"]))
                try:
                    if self.fast_s3 and replay_s3.put_object(meta, body):
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
                if meta.get("upload_id"):
                    match = _UPLOAD_ID.search(response.body)
                    if match:
                        upload_ids[meta["upload_id"]] = match.group(1).decode()
            self._seed(None)
        # A compaction may have dropped the last requests: the header keeps the next seq (and seed).
        self.next_seq = max(int(header.get("next_seq", 0)), (int(requests[-1].meta["seq"]) + 1) if requests else 0)
        stats = ReplayStats(len(requests), failed, time.perf_counter() - t0, self.journal.size_bytes())
        LOG.info("journal replay: %d records in %.2f s (%d failed), journal %.1f MB",
                 stats.records, stats.seconds, stats.failed, stats.journal_bytes / 1e6)
        return stats

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()


PERSIST_ENV = "WILDRYDES_LOCAL_PERSIST"


def open_persistence(state_dir: Path, port: int) -> Persistence:
    """The daemon's Persistence: journal under the state directory, replayed.

    ``WILDRYDES_LOCAL_PERSIST=0`` keeps nothing (the journal on disk is left
    alone, neither read nor written): for throwaway runs and for comparison.
    """
    if os.environ.get(PERSIST_ENV, "").strip() == "0":
        LOG.info("%s=0: nothing is kept across restarts", PERSIST_ENV)
        return Persistence(None)
    persistence = Persistence(jn.Journal(jn.journal_dir(state_dir)))
    persistence.replay(port)
    return persistence
