"""CloudWatch Logs written as Lambda's runtime writes them, bounded, and put back after a restart.

Log streams are bounded here (``append_log_events``): one per execution environment, and a
function that crashes on every request makes a new environment each time.

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

MAX_STREAMS_PER_GROUP = 16


def append_log_events(account_id: str, region: str, group: str, stream: str, events: list[dict],
                      keep: int, keep_streams: int = MAX_STREAMS_PER_GROUP) -> None:
    """Append events to a log stream, creating group and stream as Lambda does; keep the newest ``keep``.

    A group keeps its ``keep_streams`` most recently written streams (one per
    execution environment; the runner starts a new one for each worker it
    replaces, so a function that dies on every request would add one a
    request): at most ``keep`` x ``keep_streams`` events per group in memory.
    """
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]   # the function's own account and region
    if group not in backend.groups:
        backend.create_log_group(group, {})
    streams = backend.groups[group].streams
    if stream not in streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, events)
    if len(streams) > keep_streams:
        others = sorted((item for item in streams.items() if item[0] != stream),
                        key=lambda item: item[1].last_ingestion_time or item[1].creation_time)
        for name, _ in others[:len(streams) - keep_streams]:   # the least recently written
            del streams[name]
    stored = streams[stream].events
    if len(stored) > keep:
        del stored[:len(stored) - keep]


def restore_log_events(account_id: str, region: str, group: str, stream: str, events: list[dict],
                       keep: int) -> int:
    """Put back events kept on disk (kept_logs.py) with their own timestamps; how many were put.

    Unlike ``append_log_events`` this skips PutLogEvents' ingestion window
    (events older than 14 days are refused there): these were accepted when
    they were written. The group's retention, when it has one, still applies,
    as CloudWatch would have expired them meanwhile.
    """
    import time

    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]
    if group not in backend.groups:
        backend.create_log_group(group, {})
    log_group = backend.groups[group]
    if stream not in log_group.streams:
        backend.create_log_stream(group, stream)
    events = sorted(events, key=lambda e: e["timestamp"])   # stable: one timestamp keeps write order
    days = log_group.retention_in_days
    if days:
        oldest = int((time.time() - int(days) * 86400) * 1000)
        events = [e for e in events if e["timestamp"] >= oldest]
    events = events[max(0, len(events) - keep):]
    if events:
        log_group.put_log_events(stream, events)
    return len(events)


def log_group_exists(account_id: str, region: str, group: str) -> bool:
    """Whether moto holds this log group (False once DeleteLogGroup or a stack's deletion removed it)."""
    from moto.logs.models import logs_backends

    per_account = dict.get(logs_backends, account_id)
    backend = dict.get(per_account, region) if per_account is not None else None
    return backend is not None and group in backend.groups


def log_groups() -> list[tuple[str, str, str]]:
    """(account, region, group) of every log group moto holds (to name a kept-events file whose header is damaged)."""
    from moto.logs.models import logs_backends

    return [(account_id, region, group) for account_id, per_account in list(dict.items(logs_backends))
            for region, backend in list(dict.items(per_account)) for group in list(backend.groups)]


def install_filter_log_events() -> None:
    """FilterLogEvents as CloudWatch Logs answers it, where moto does not (installed once, by the daemon):

    - ``logStreamNamePrefix``, which moto ignores: it answered every stream's events, so `wildrydes logs
      --training JOB` (streams ``JOB/algo-N-<time>``) showed every job's lines. Now only the streams whose
      names start with the prefix are searched, none when no stream does. The prefix together with
      ``logStreamNames`` is an InvalidParameterException (FilterLogEvents, API Reference);
    - ``filterPattern``, which moto evaluates only when it starts with a letter or a quote, and otherwise
      matches every event. Now it is read by ``log_filter_pattern`` (terms, phrases, ``?any``, ``-excluded``;
      refusing ``%regex%``), and a pattern it does not read is an InvalidParameterException that says so.
    """
    import json

    from moto.logs import models
    from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
    from moto.logs.responses import LogsResponse

    from wildrydes_cli.local.awsapi import log_filter_pattern

    moto_filter = LogsResponse.filter_log_events
    if getattr(moto_filter, "installed_by_wildrydes", False):
        return

    class EventMessageFilter:     # what moto's streams call for each event, with the request's pattern
        def __init__(self, pattern: str | None) -> None:
            self.pattern = _checked(pattern)     # parsed once per pattern (cached)

        def matches(self, message: str) -> bool:
            return self.pattern.matches(message)

    def _checked(pattern: str | None) -> log_filter_pattern.Pattern:
        try:
            return log_filter_pattern.parse(pattern)
        except ValueError as exc:
            raise InvalidParameterException(msg=f"Invalid filter pattern: {exc}") from None

    def filter_log_events(self: LogsResponse) -> str:
        _checked(self._get_param("filterPattern"))      # refused before any stream is read, events or not
        prefix = self._get_param("logStreamNamePrefix")
        if prefix is None:
            return moto_filter(self)
        if self._get_param("logStreamNames"):
            raise InvalidParameterException(msg="logStreamNamePrefix and logStreamNames are mutually exclusive: "
                                                "pass one of them")
        group_name = self._get_param("logGroupName")
        group = self.logs_backend.groups.get(group_name)
        if group is None:
            raise ResourceNotFoundException()
        names = [name for name in group.streams if name.startswith(prefix)]
        if not names:      # moto reads an empty list as "every stream"
            return json.dumps({"events": [], "searchedLogStreams": []})
        events, next_token, searched = self.logs_backend.filter_log_events(
            group_name, names, self._get_param("startTime"), self._get_param("endTime"),
            self._get_param("limit"), self._get_param("nextToken"), self._get_param("filterPattern"),
            self._get_param("interleaved", False))
        return json.dumps({"events": events, "nextToken": next_token, "searchedLogStreams": searched})

    filter_log_events.installed_by_wildrydes = True   # type: ignore[attr-defined]
    models.EventMessageFilter = EventMessageFilter   # type: ignore[misc,assignment]
    LogsResponse.filter_log_events = filter_log_events   # type: ignore[method-assign]
