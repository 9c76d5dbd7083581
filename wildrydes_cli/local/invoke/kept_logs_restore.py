"""The kept log events put back into the emulator at start, after the journal replay, stream by stream.

Why a module of its own: the store (kept_logs.py) only reads and writes its
files; putting what it kept back into moto's CloudWatch Logs is a step of the
daemon's start, between the journal replay and the first request, with its own
failure rule (a group moto refuses is logged and skipped, never a reason not to
start) and its own crash point. Kept apart, the store knows nothing of moto's
adapter, and the start knows nothing of the files.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wildrydes_cli import faults
from wildrydes_cli.local.invoke.kept_logs import LogStore

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestoreStats:
    groups: int
    events: int
    seconds: float


def restore(store: LogStore, put: Callable[[str, str, str, str, list[dict]], None],
            known: Iterable[tuple[str, str, str]] = ()) -> RestoreStats:
    """Put every kept event back into the emulator (after the journal replay), stream by stream.

    ``put(account, region, group, stream, events)`` is
    ``moto_backends.restore_log_events``; events keep their timestamps and,
    within a stream, their order.
    """
    t0 = time.perf_counter()
    total = 0
    kept = store.load(known)
    faults.point("logs-loaded")
    for found in kept:
        streams: dict[str, list[dict]] = {}
        for event in found.events:
            streams.setdefault(event["stream"], []).append(
                {"timestamp": event["timestamp"], "message": event["message"]})
        for stream, events in streams.items():
            try:
                put(found.account_id, found.region, found.group, stream, events)
            except Exception as exc:  # one group moto refuses must not keep the daemon from starting
                LOG.warning("log store: could not restore %d events of %s: %s", len(events), found.group, exc)
                continue
            total += len(events)
    stats = RestoreStats(len(kept), total, time.perf_counter() - t0)
    LOG.info("log store: restored %d events of %d log groups in %.2f s", stats.events, stats.groups, stats.seconds)
    return stats
