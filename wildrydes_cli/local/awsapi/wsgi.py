"""Hand an AWS API request to moto's WSGI application (in-process).

moto's server is a WSGI app that picks the service from the request's SigV4
credential scope, so boto3 with ``endpoint_url`` talks to it exactly as to
AWS. We build the WSGI environ the way werkzeug's dev server does (including
``RAW_URI`` for S3 keys with encoded slashes and moto's preserved
``x-amz-meta-*`` header spellings) and collect the response.
"""
from __future__ import annotations

import io
import logging
import sys
from typing import ClassVar
from urllib.parse import unquote_to_bytes

from wildrydes_cli.local.http import HttpRequest, HttpResponse

LOG = logging.getLogger(__name__)

_app = None


def moto_app():
    """moto's dispatcher app, created once (importing moto takes ~0.5 s)."""
    global _app
    if _app is None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        class CachedDispatcher(DomainDispatcherApplication):
            """moto lists its package directory (~100 stat calls) twice per request to map a host to
            a service; the mapping never changes, so remember it (a third of a replayed S3 PUT)."""

            _hosts: ClassVar[dict] = {}

            def get_backend_for_host(self, host):
                if host not in self._hosts:
                    self._hosts[host] = super().get_backend_for_host(host)
                return self._hosts[host]

        _app = CachedDispatcher(lambda service: _recording_requests(create_backend_app(service)))
    return _app


def build_environ(request: HttpRequest, server_port: int, client: tuple[str, int] | None) -> dict:
    from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, should_preserve_original_header_name

    environ = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(request.path).decode("latin-1"),
        "QUERY_STRING": request.query,
        "RAW_URI": request.target,
        "REQUEST_URI": request.target,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": request.version,
        "REMOTE_ADDR": client[0] if client else "127.0.0.1",
        "REMOTE_PORT": str(client[1]) if client else "0",
        "CONTENT_LENGTH": str(len(request.body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        # The front has read the whole body (de-chunked, counted against its limit): werkzeug may read
        # the stream as it is, in one piece, instead of through a LimitedStream in 64 KB reads
        # (a quarter of a large PutObject's time in moto).
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    preserved: dict[str, str] = {}
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "content-type":
            environ["CONTENT_TYPE"] = value
            continue
        if lowered in ("content-length", "transfer-encoding"):
            continue  # the body is already de-chunked and counted
        key = "HTTP_" + name.upper().replace("-", "_")
        if "_" in name:
            if not should_preserve_original_header_name(name):
                continue  # like werkzeug: X_Foo must not pose as X-Foo
            preserved.setdefault(key, name)
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
    return environ


def call_moto(request: HttpRequest, server_port: int, client: tuple[str, int] | None = None) -> HttpResponse:
    """Run one request through moto; blocking, so the server calls it in a thread."""
    environ = build_environ(request, server_port, client)
    captured: dict = {}

    def start_response(status: str, headers: list, exc_info=None):
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = [(str(k), str(v)) for k, v in headers]
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result = moto_app()(environ, start_response)
    try:
        for chunk in result:
            if chunk:
                chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
        _release(environ)
    return HttpResponse(captured.get("status", 500), captured.get("headers", []), b"".join(chunks))


REQUEST_KEY = "wildrydes.request"


def _recording_requests(app):
    """moto's Flask app for one service, its request objects findable from the environ (see ``_release``)."""
    base = app.request_class

    class RecordedRequest(base):   # type: ignore[valid-type, misc]
        def __init__(self, environ, *args, **kwargs):
            super().__init__(environ, *args, **kwargs)
            environ[REQUEST_KEY] = self

    app.request_class = RecordedRequest
    return app


def _release(environ: dict) -> None:
    """Free the request's body now, not at the collector's next full pass.

    The request object moto's Flask apps make keeps the body it read
    (``request.data``) and sits in a reference cycle: moto runs Flask in debug
    mode, where Flask gives each request a class of its own for
    ``request.files`` whose method refers back to the request. Only the cyclic
    collector frees that, rarely by the daemon's thresholds (``server.py``), so
    each upload kept copies of its body for a while: ~2 MB of resident memory
    per 1 MB PutObject. Emptying the request (recorded in the environ by
    ``_recording_requests``) once the response is read breaks the cycle.
    """
    request = environ.get(REQUEST_KEY)
    if request is not None and hasattr(request, "__dict__"):
        vars(request).clear()
    body = environ.get("wsgi.input")
    if body is not None:
        body.close()
    environ.clear()
