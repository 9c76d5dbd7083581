"""``wildrydes logs``: the deployed function's CloudWatch Logs events, on either target.

Why one code path: the local target's Lambda runner writes what real Lambda
writes (``START``/``END``/``REPORT`` and the function's own lines, see
``local/invoke/lambda_log_lines.py``) into the emulator's CloudWatch Logs, so reading is
the same ``FilterLogEvents`` call against AWS or the emulator.

Events are grouped by invocation: a line carries its request id (``START
RequestId: …``, the runtime's ``[LEVEL]\\t<time>\\t<id>\\t…`` format), and the
lines between a stream's ``START`` and ``END`` belong to that request. That
is what ``--breed`` filters on: the function logs one line per request with
``breed=NAME``, and every line of those requests is kept.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from wildrydes_cli import layout
from wildrydes_cli import linear_learner as ll
from wildrydes_cli.aws.found_deployment import deployment_in_use
from wildrydes_cli.errors import NotFoundError, UsageError
from wildrydes_cli.results import LogsResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

_DURATION = re.compile(r"\A(\d{1,6})([smhd])\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SINCE_SECONDS = 30 * 86400
_REQUEST_ID = re.compile(r"\A(?:START|END|REPORT) RequestId: ([0-9A-Za-z-]+)|\A\[[A-Z]+\]\t[^\t]*\t([0-9A-Za-z-]+)\t")
FOLLOW_POLL_SECONDS = 2.0          # FilterLogEvents allows a few calls a second per account: poll gently
MAX_EVENTS = 10_000                # one command's read, across pages
_FUNCTION_NAME = re.compile(r"\A(?:arn:[a-z-]+:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]+)?\Z")


def parse_since(text: str) -> int:
    """'10m' -> 600 seconds; anything else is a usage error that shows the form."""
    match = _DURATION.match(text.strip().lower())
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else 0
    if not match or not 0 < seconds <= MAX_SINCE_SECONDS:
        raise UsageError(f"--since {text!r}: give a duration up to 30 days such as 30s, 10m, 2h or 1d.")
    return seconds


@dataclass(frozen=True)
class LogsRequest:
    """What ``wildrydes logs`` asks for, checked before anything starts (a typo starts no emulator)."""

    since_seconds: int
    breed: str | None = None
    filter_pattern: str | None = None
    follow: bool = False
    function: str | None = None     # any function's logs, deployed by wildrydes or not
    compact: bool = False           # one line per request: time, status, breed, ms

    @classmethod
    def checked(cls, since: str, breed: str | None, filter_pattern: str | None, follow: bool,
                function: str | None = None, compact: bool = False) -> "LogsRequest":
        if breed is not None and not layout.is_breed_name(breed):
            raise UsageError(f"--breed {breed!r}: a breed name is {layout.BREED_RULE}.")
        if function is not None and not _FUNCTION_NAME.match(function):
            raise UsageError(f"--function {function!r} is not a Lambda function name (letters, digits, - and _, "
                             "at most 64; or its ARN).")
        return cls(parse_since(since), breed, filter_pattern, follow, function, compact)


def function_name(settings: Settings, aws, request: LogsRequest) -> str:
    """--function, else the deployed function: recorded by deploy, or found in the function stacks."""
    if request.function:
        return request.function.rsplit(":function:", 1)[-1].split(":", 1)[0]   # an ARN names it too
    deployment, _ = deployment_in_use(settings, aws)
    if deployment is None:
        raise NotFoundError("Nothing is deployed on this target and region (no state recorded, and no function "
                            "in the stacks wildrydes-ml-mod3-4 or wildrydes-ml-mod0-4), so there is no function "
                            "to read logs of: run `wildrydes deploy` first, or name one with --function NAME.")
    return deployment.function_name


def show_training_logs(aws, job: str, show: Callable[[LogsResult], None]) -> None:
    """``logs --training JOB``: every line of the job's log streams (one per instance), oldest first."""
    if not ll.JOB_NAME.match(job):
        raise UsageError(f"--training {job!r} is not a training job's name: {ll.JOB_NAME_RULE}; "
                         "`wildrydes jobs` lists them")
    if aws.describe_training_job(job) is None:
        raise NotFoundError(f"No training job {job} in this account and region: `wildrydes jobs` lists them.")
    raw: list[dict] = []
    token = None
    while True:
        page = aws.training_log_events(job, 0, token)
        raw.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token or len(raw) >= MAX_EVENTS:
            break
    events = [LogEvent(e.get("timestamp", 0), e.get("message", "").rstrip("\n"), e.get("logStreamName", ""),
                       e.get("eventId", ""), None) for e in sorted(raw[:MAX_EVENTS], key=lambda e: e.get("timestamp", 0))]
    show(LogsResult(TRAINING_LOG_GROUP, events, training=True))


TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def show_logs(settings: Settings, aws, request: LogsRequest, show: Callable[[LogsResult], None]) -> None:
    """Hand the function's events to ``show``: once, or with ``follow`` per new batch until Ctrl-C."""
    group = layout.function_log_group(function_name(settings, aws, request))
    reader = LogReader(aws, group, request.filter_pattern)
    try:
        if not request.follow:
            show(_result(group, recent(reader, request.since_seconds, request.breed), request))
            return
        show(LogsResult(group, [], follow=True, waiting=True))   # say so before the first poll
        for batch in follow(reader, request.since_seconds, request.breed):
            show(_result(group, batch, request, follow=True))
    except NotFoundError:
        raise NotFoundError(f"No logs yet: log group {group} does not exist. Invoke the function first "
                            "(wildrydes predict ...); Lambda creates the group on its first run.") from None
    except KeyboardInterrupt:   # the way out of --follow: not an error
        return


def _result(group: str, events: list["LogEvent"], request: LogsRequest, follow: bool = False) -> LogsResult:
    return LogsResult(group, events, follow=follow, compact=request.compact,
                      requests=request_lines(events) if request.compact else [])


@dataclass(frozen=True)
class LogEvent:
    timestamp: int          # ms since the epoch
    message: str
    stream: str
    event_id: str
    request_id: str | None

    def to_json(self) -> dict:
        return {"timestamp": self.timestamp, "message": self.message, "logStreamName": self.stream,
                "eventId": self.event_id, "requestId": self.request_id}


def request_id_of(message: str) -> str | None:
    match = _REQUEST_ID.match(message)
    return (match.group(1) or match.group(2)) if match else None


def attach_request_ids(raw: list[dict]) -> list[LogEvent]:
    """LogEvents newest last, each with the request id of the invocation it belongs to."""
    current: dict[str, str | None] = {}
    events = []
    # stable: events with one timestamp keep the order CloudWatch returned them in (ingestion order)
    for item in sorted(raw, key=lambda e: e.get("timestamp", 0)):
        message = item.get("message", "").rstrip("\n")
        stream = item.get("logStreamName", "")
        rid = request_id_of(message)
        if message.startswith("START RequestId: "):
            current[stream] = rid
        rid = rid or current.get(stream)
        if message.startswith("REPORT RequestId: "):
            current[stream] = None
        events.append(LogEvent(item.get("timestamp", 0), message, stream, item.get("eventId", ""), rid))
    return events


_REQUEST_LINE = re.compile(r"request (\S+) (.*) breed=(\S+) status=(\d{3}) ms=([0-9.]+)\s*\Z")


@dataclass(frozen=True)
class RequestLine:
    """One request as the function logged it (``--compact``): when, how it ended, which breed, how long."""

    timestamp: int          # ms since the epoch
    status: int
    breed: str | None
    ms: float
    method: str
    path: str
    request_id: str | None

    def to_json(self) -> dict:
        return {"timestamp": self.timestamp, "status": self.status, "breed": self.breed, "ms": self.ms,
                "method": self.method, "path": self.path, "requestId": self.request_id}


def request_lines(events: list[LogEvent]) -> list[RequestLine]:
    """The function's one line per request (lambda/index.py ``_request_line``), parsed; other lines dropped."""
    found = []
    for event in events:
        match = _REQUEST_LINE.search(event.message)
        if match:
            method, path, breed, status, ms = match.groups()
            found.append(RequestLine(event.timestamp, int(status), None if breed == "-" else breed, float(ms),
                                     method, path, event.request_id))
    return found


def only_breed(events: list[LogEvent], breed: str) -> list[LogEvent]:
    """Every line of the invocations whose request line names this breed."""
    marker = re.compile(rf"(?:^|\s)breed={re.escape(breed)}(?:\s|$)")
    wanted = {e.request_id for e in events if e.request_id and marker.search(e.message)}
    return [e for e in events if e.request_id in wanted]


class LogReader:
    """Reads one log group through ``aws.log_events`` (one page per call)."""

    def __init__(self, aws, group: str, filter_pattern: str | None = None) -> None:
        self.aws = aws
        self.group = group
        self.filter_pattern = filter_pattern

    def read(self, start_ms: int) -> list[dict]:
        """All raw events since ``start_ms`` (pages followed, bounded by MAX_EVENTS)."""
        events: list[dict] = []
        token = None
        while True:
            page = self.aws.log_events(self.group, start_ms, self.filter_pattern, token)
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token or len(events) >= MAX_EVENTS:
                return events[:MAX_EVENTS]


def recent(reader: LogReader, since_seconds: int, breed: str | None = None,
           now: Callable[[], float] = time.time) -> list[LogEvent]:
    events = attach_request_ids(reader.read(int((now() - since_seconds) * 1000)))
    return only_breed(events, breed) if breed else events


def follow(reader: LogReader, since_seconds: int, breed: str | None = None, *,
           now: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
           polls: int | None = None) -> Iterator[list[LogEvent]]:
    """Yield new events batch by batch, every FOLLOW_POLL_SECONDS, until interrupted (or ``polls`` run out).

    Each poll asks from the newest timestamp seen (CloudWatch may deliver
    late events with an older timestamp within a second or so, hence a
    one-second overlap) and drops event ids already shown.
    """
    start_ms = int((now() - since_seconds) * 1000)
    seen: dict[str, int] = {}            # event id -> timestamp, pruned as the window moves
    done = 0
    while polls is None or done < polls:
        raw = [e for e in reader.read(start_ms) if e.get("eventId") not in seen]
        seen.update((e.get("eventId", ""), e.get("timestamp", 0)) for e in raw)
        seen = {k: t for k, t in seen.items() if t >= start_ms - 1000}
        events = attach_request_ids(raw)
        if breed:
            events = only_breed(events, breed)
        if events:
            start_ms = max(start_ms, max(e.timestamp for e in events) - 1000)
            yield events
        done += 1
        if polls is None or done < polls:
            sleep(FOLLOW_POLL_SECONDS)
