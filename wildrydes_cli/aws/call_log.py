"""``--debug``'s one line per AWS API call: service, operation, HTTP status (or why none came), milliseconds.

Why botocore's event hooks: they fire once per API call whatever the service, with the
retries inside the time, on real AWS and the emulator alike; a wrapper around each of
``Aws``'s methods would miss the calls a paginator or a waiter makes. Logged at DEBUG on
``CALLS``; the CLI edge shows it on stderr under ``--debug`` (cli/main.py).
"""
from __future__ import annotations

import logging
import time
from typing import Any

CALLS = logging.getLogger("wildrydes_cli.aws.calls")
_STARTED = "wildrydes_started"


def _call_started(context: dict, **_: Any) -> None:
    context[_STARTED] = time.perf_counter()   # returns None: botocore goes on to send the request


def _call_done(event_name: str, http_response: Any, parsed: dict, context: dict, **_: Any) -> None:
    error = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    status = getattr(http_response, "status_code", "?")
    CALLS.debug("aws call %s %s -> %s%s in %.0f ms", *_service_operation(event_name), status,
                f" {error}" if error else "", _elapsed_ms(context))


def _call_failed(event_name: str, exception: BaseException, context: dict, **_: Any) -> None:
    CALLS.debug("aws call %s %s -> failed (%s) in %.0f ms", *_service_operation(event_name),
                type(exception).__name__, _elapsed_ms(context))


def _service_operation(event_name: str) -> tuple[str, str]:
    _, service, operation = (event_name.split(".", 2) + ["?", "?"])[:3]
    return service, operation


def _elapsed_ms(context: dict) -> float:
    started = context.get(_STARTED)
    return (time.perf_counter() - started) * 1000.0 if started is not None else 0.0


def log_calls(client: Any) -> Any:
    """Log each call of ``client`` (service, operation, HTTP status or error, milliseconds) to ``CALLS``.

    botocore's own event hooks, once per API call (retries included in the time): ``after-call``
    when an answer came back (any status), ``after-call-error`` when none did (no connection).
    """
    events = client.meta.events
    events.register("before-call", _call_started)
    events.register("after-call", _call_done)
    events.register("after-call-error", _call_failed)
    return client
