"""What real Lambda writes to CloudWatch Logs for each invocation, written into the emulator.

Why: ``wildrydes logs`` and ``aws logs filter-log-events`` must read the same
thing on both targets. On AWS, Lambda's runtime writes, per invocation, into
log group ``/aws/lambda/<function>`` and one stream per execution environment
(``YYYY/MM/DD/[$LATEST]<32 hex>``; a published version's number instead of $LATEST when an
alias or a version ARN was invoked)::

    START RequestId: <id> Version: $LATEST
    ...the function's own output...
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 1.84 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 51 MB\tInit Duration: 353.28 ms

(``Init Duration`` only on an environment's first invocation; Lambda bills
duration in whole milliseconds, rounded up.) The daemon runs moto in-process,
so the lines go straight into moto's CloudWatch Logs backend through the
moto adapter (``moto_backends.append_log_events``); no HTTP round trip, and
no SigV4 gate, on the request path.
"""
from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from wildrydes_cli.layout import function_log_group

LOG = logging.getLogger(__name__)

MAX_LINE_CHARS = 256 * 1024   # CloudWatch Logs' event size limit is 256 KB


def stream_name(now: float | None = None, token: str | None = None, version: str = "$LATEST") -> str:
    """A new execution environment's stream name, in Lambda's format (the version it runs in brackets)."""
    day = time.strftime("%Y/%m/%d", time.gmtime(time.time() if now is None else now))
    return f"{day}/[{version}]{token or secrets.token_hex(16)}"


@dataclass(frozen=True)
class Invocation:
    """One finished invocation, as the runner measured it."""

    request_id: str
    output: tuple[str, ...]          # the function's own lines, in order
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    version: str = "$LATEST"         # the published version that ran (a canary's alias runs two)


def invocation_lines(invocation: Invocation) -> list[str]:
    """The START / output / END / REPORT lines Lambda writes for one invocation."""
    rid = invocation.request_id
    report = (f"REPORT RequestId: {rid}\tDuration: {invocation.duration_ms:.2f} ms"
              f"\tBilled Duration: {max(1, math.ceil(invocation.duration_ms))} ms"
              f"\tMemory Size: {invocation.memory_size_mb} MB"
              f"\tMax Memory Used: {invocation.max_memory_used_mb} MB")
    if invocation.init_duration_ms is not None:
        report += f"\tInit Duration: {invocation.init_duration_ms:.2f} ms"
    output = [line[:MAX_LINE_CHARS] for line in invocation.output]
    return [f"START RequestId: {rid} Version: {invocation.version}", *output, f"END RequestId: {rid}", report]


class LogSink:
    """Buffers invocation lines and writes them into the emulator's CloudWatch Logs.

    Lines are written in one batch per stream at most every ``FLUSH_SECONDS``
    (Lambda's own log delivery is asynchronous too), so an invocation pays a
    list append, not a moto call. Each stream keeps at most
    ``MAX_EVENTS_PER_STREAM`` events, oldest dropped first, so a load test
    cannot grow the daemon without bound (a retention by count, where AWS has
    one by days).

    ``write(account_id, region, group, stream, events, keep)`` is
    ``moto_backends.append_log_events`` in the daemon; ``schedule(delay,
    callback)`` is the event loop's ``call_later`` (None writes at once).
    """

    FLUSH_SECONDS = 0.2
    MAX_EVENTS_PER_STREAM = 5_000

    def __init__(self, write: Callable[..., None], schedule: Callable[[float, Callable[[], None]], object] | None = None):
        self.write = write
        self.schedule = schedule
        self.pending: dict[tuple[str, str, str, str], list[dict]] = {}
        self.flush_scheduled = False

    def add(self, account_id: str, region: str, function_name: str, stream: str, lines: list[str],
            now_ms: int | None = None) -> None:
        stamp = int(time.time() * 1000) if now_ms is None else now_ms
        events = self.pending.setdefault((account_id, region, function_log_group(function_name), stream), [])
        events.extend({"timestamp": stamp, "message": line} for line in lines)
        if self.schedule is None:
            self.flush()
        elif not self.flush_scheduled:
            self.flush_scheduled = True
            self.schedule(self.FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write every pending batch; a logging failure is logged and never fails an invocation."""
        self.flush_scheduled = False
        pending, self.pending = self.pending, {}
        for (account_id, region, group, stream), events in pending.items():
            try:
                self.write(account_id, region, group, stream, events, self.MAX_EVENTS_PER_STREAM)
            except Exception as exc:  # moto changed, or refused the batch: keep serving
                LOG.warning("could not write %d log events to %s: %s", len(events), group, exc)
