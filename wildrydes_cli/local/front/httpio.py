"""HTTP/1.1 requests off the wire, parsed by llhttp (``httptools``), and responses onto it.

Why a library: a hand-written reader accepted duplicate and signed
``Content-Length``, NUL bytes in headers, ``HTTP/1.9`` and junk chunk
terminators, and hung on bare-LF line endings. llhttp is Node.js's parser and
uvicorn's (through httptools): strict by default (CRLF only, one
Content-Length, no Content-Length with Transfer-Encoding, no obs-fold), in C,
so it costs less per request than the code it replaces (benchmarks/RESULTS.md).

``RequestParser`` is fed whatever bytes the socket gave and queues complete
requests; it enforces what llhttp does not: the versions we speak (1.0, 1.1),
the head size, the body limit for the route (known once the headers are in:
API Gateway's 10 MB for execute-api, a larger one for AWS API calls such as S3
uploads of function code), and the request-target form (origin-form, or
absolute-form naming this server). Bodies are refused as soon as their size
is known - from Content-Length, or from a chunk's declared size (a chunk that
would take the body over the limit is refused once its size line is in,
before its data; ``0xFFFFFFFFFF`` is a 413 at once, not a wait for the body
timeout), or as a chunked body crosses the limit - so no more than the limit
is ever held.

The chunk's size: llhttp reads it but httptools does not hand it over, only
the moment the size line ends (``on_chunk_header``, after its CRLF) and the
chunk's data after it. So when a feed ends inside a chunk whose size line it
contains, the line is the bytes before that data back to the previous LF
(llhttp is strict: CRLF line ends, no LF inside a size line), read from the
fed bytes and, for a line split across reads, from the end of the previous
one; a size line over ``MAX_CHUNK_LINE`` bytes (leading zeros or extensions)
is refused.

One malformed header is read rather than refused with a 400: an ``x-api-key``
whose value holds a control character other than tab (llhttp: "Invalid header
value char"), on an execute-api request. API Gateway answers a key it cannot
use with 403 ``{"message":"Forbidden"}`` on a method that requires one, so the
parser hands over the request as far as it was read (method, target, the
headers before the key), marked ``unreadable``: the dispatcher answers it
without running anything, and the connection closes, since the parser cannot
go on. Only that case: CR or LF in a value (llhttp's "Missing expected LF/CR",
the shape of header injection), a control character in any other header or in
a name, and a request whose start within the bytes is not known exactly (a
pipelined request behind another in one read) stay 400s.
"""
from __future__ import annotations

import json
import logging
import os
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import ClassVar, NoReturn

import httptools  # type: ignore[import-untyped]

from wildrydes_cli.local.http import HttpRequest, HttpResponse

LOG = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_CHUNK_LINE = 4096                            # a chunk's size line, extensions included
API_GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024     # API Gateway REST: 10 MB request payload
AWS_API_BODY_LIMIT = 256 * 1024 * 1024           # moto calls: an mxnet function zip is ~64 MB
EXECUTE_API_PREFIX = "/restapis/"
_LOCAL_HOSTS = (b"127.0.0.1", b"localhost")
_VERSIONS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")}
_BAD_VALUE_CHAR = b"Invalid header value char"      # llhttp's reason for a control character in a value
_CONTROL_BUT_TAB = frozenset(range(0x20)) - {0x09} | {0x7F}
API_KEY_HEADER = b"x-api-key"


class BadRequest(Exception):
    """The bytes on the wire are not an HTTP request we will serve; answered, then the connection closes."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """Sizes and timeouts of the front (seconds, bytes); see README "Local target limits".

    ``header_timeout`` runs from a request's first byte to the end of its head,
    ``body_timeout`` from there to the end of its body (a Content-Length larger
    than what is sent ends in 408, not a hang) and also bounds writing a
    response to a client that does not read; ``idle_timeout`` closes a
    keep-alive connection with no request in flight. ``max_connections`` 0
    means derived from the descriptor limit (``connection_cap``).
    """

    max_body: int = API_GATEWAY_PAYLOAD_LIMIT
    max_aws_body: int = AWS_API_BODY_LIMIT
    max_header_bytes: int = MAX_HEADER_BYTES
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 30.0
    max_connections: int = 0

    ENV: ClassVar[dict[str, str]] = {"header_timeout": "WILDRYDES_LOCAL_HEADER_TIMEOUT", "body_timeout": "WILDRYDES_LOCAL_BODY_TIMEOUT",
           "idle_timeout": "WILDRYDES_LOCAL_IDLE_TIMEOUT", "max_connections": "WILDRYDES_LOCAL_MAX_CONNECTIONS"}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Defaults, overridden by WILDRYDES_LOCAL_{HEADER,BODY,IDLE}_TIMEOUT / _MAX_CONNECTIONS.

        A bad value raises ValueError naming the variable; the daemon exits with it in its log.
        """
        source: Mapping[str, str] = os.environ if environ is None else environ
        values: dict = {}
        for field_name, var in cls.ENV.items():
            raw = source.get(var, "").strip()
            if not raw:
                continue
            kind = int if field_name == "max_connections" else float
            try:
                value: float = kind(raw)
            except ValueError:
                value = -1
            if not 0 < value < 86400 * 365 and not (field_name == "max_connections" and value == 0):
                raise ValueError(f"{var} must be a positive number, got {raw!r}")
            values[field_name] = value
        return cls(**values)


class RequestParser:
    """httptools callbacks -> complete ``HttpRequest`` objects in ``ready`` (pipelining keeps order).

    ``feed`` raises BadRequest for anything llhttp or our own checks refuse.
    ``phase`` tells the connection which timeout applies: ``idle`` (between
    requests), ``head``, ``body``. ``expect_continue`` is set when a request at
    the front of the line asked for ``100 Continue`` and its body is allowed.
    """

    def __init__(self, limits: Limits, port: int):
        self.limits = limits
        self.port = port
        self.parser = httptools.HttpRequestParser(self)
        self.ready: deque[HttpRequest] = deque()
        self.phase = "idle"
        self.head_bytes = 0
        self.upgraded = False
        self.stopped = False            # an unreadable request was handed over: nothing more is parsed
        self._began = False
        self._messages_begun = 0        # in the current feed
        self._head_raw: bytes | None = b""   # the current request's bytes from its first, while that is known
        self.expect_continue = False
        self._error: BadRequest | None = None
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._head_size = 0
        self._length = -1
        self._expect = False
        self._limit = 0
        self._request: HttpRequest | None = None
        self._chunked = False           # the body is chunked: track the chunk size lines (see the docstring)
        self._chunk_open = False        # inside a chunk: its size line read, its data not all in
        self._chunk_data = 0            # bytes of the open chunk's data so far
        self._chunk_began_here = False  # its size line ended in the current feed
        self._line_start = b""          # the previous feed's bytes after its last LF (at most MAX_CHUNK_LINE)

    def _fail(self, message: str, status: int = 400) -> NoReturn:
        self._error = BadRequest(message, status)
        raise self._error

    # --- httptools callbacks (per request: keep them lean, see bench_http_parse.py) ---
    def on_message_begin(self) -> None:
        self._reset()
        self._began = True
        self._messages_begun += 1
        self.phase = "head"

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.limits.max_header_bytes:
            self._fail(f"request head over {self.limits.max_header_bytes} bytes", 431)
        lowered = name.lower()
        if lowered == b"content-length":
            self._length = int(value)  # llhttp has checked: digits only, and only one
        elif lowered == b"expect":
            self._expect = value.lower() == b"100-continue"
        elif lowered == b"transfer-encoding":
            self._chunked = True       # llhttp refuses any coding but a final "chunked"
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        version = _VERSIONS.get(self.parser.get_http_version())
        if version is None:
            self._fail(f"unsupported HTTP version {self.parser.get_http_version()[:10]!r}; "
                       "this server speaks HTTP/1.1 and HTTP/1.0")
        target = self._origin_form(self._url)
        limits = self.limits
        self._limit = limits.max_body if target.startswith(EXECUTE_API_PREFIX) else limits.max_aws_body
        if self._length > self._limit:
            self._fail(f"request body of {self._length} bytes is over the {self._limit}-byte limit", 413)
        method = self.parser.get_method()
        self._request = HttpRequest(_METHODS.get(method) or method.decode("ascii", "replace"), target, version,
                                    self._headers)
        if self._expect and not self.ready:
            self.expect_continue = True
        self.phase = "body"

    def on_body(self, data: bytes) -> None:
        self._body_size += len(data)
        if self._body_size > self._limit:
            self._fail(f"request body is over the {self._limit}-byte limit", 413)
        self._chunk_data += len(data)
        self._body.append(data)

    def on_chunk_header(self) -> None:
        self._chunk_open = True
        self._chunk_began_here = True
        self._chunk_data = 0

    def on_chunk_complete(self) -> None:
        self._chunk_open = False

    def on_message_complete(self) -> None:
        request = self._request
        assert request is not None
        body = self._body
        request.body = body[0] if len(body) == 1 else b"".join(body)
        self.ready.append(request)
        self.phase = "idle"

    # --- our checks ---------------------------------------------------------
    def _origin_form(self, url: bytes) -> str:
        """The target as path[?query]; absolute-form is accepted only when it names this server."""
        if url.startswith(b"/"):
            return url.decode("latin-1")
        if url[:7].lower() == b"http://":
            try:
                parsed = httptools.parse_url(url)
            except httptools.HttpParserInvalidURLError:
                self._fail("malformed absolute-form request target")
            if parsed.host in _LOCAL_HOSTS and (parsed.port or 80) == self.port and not parsed.userinfo:
                path = (parsed.path or b"/").decode("latin-1")
                return path + ("?" + parsed.query.decode("latin-1") if parsed.query else "")
            self._fail("absolute-form request target for another server; this is not a proxy")
        self._fail(f"request target must start with '/', got {url[:40].decode('latin-1')!r}")

    def feed(self, data: bytes) -> None:
        """Parse ``data``; complete requests land in ``ready``. Raises BadRequest.

        llhttp does not bound the head, so we do: bytes fed while a head is
        incomplete are counted (over-counting by at most the part of one read
        that finished the previous request, which is under the bound).
        """
        if self.upgraded or self.stopped:
            return  # bytes after an Upgrade request or an unreadable one: the connection closes
        idle_before = self.phase == "idle"
        if self.phase == "head" and self._head_raw is not None:
            self._head_raw = self._head_raw + data if len(self._head_raw) <= self.limits.max_header_bytes else None
        self._began = False
        self._messages_begun = 0
        self._chunk_began_here = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.upgraded = True  # the request is served without switching protocols, then we close
        except httptools.HttpParserCallbackError:
            raise (self._error or BadRequest("bad request")) from None
        except httptools.HttpParserError as exc:
            if str(exc) == _BAD_VALUE_CHAR.decode() and self.phase == "head":
                head = data if idle_before and self._messages_begun == 1 else \
                    self._head_raw if not idle_before and self._messages_begun == 0 else None
                if head is not None and self._hand_over_bad_key(head, str(exc)):
                    return
            raise BadRequest(f"malformed HTTP request: {exc}") from None
        if self.phase == "head" and (idle_before or self._messages_begun):
            # a head begun in this read: where it began is known only if it is the read's first request
            self._head_raw = data if idle_before and self._messages_begun == 1 else None
        if self._chunked and self.phase == "body":
            self._check_open_chunk(data)
        if self.phase == "head":
            self.head_bytes = len(data) if self._began else self.head_bytes + len(data)
            if self.head_bytes > self.limits.max_header_bytes:
                raise BadRequest(f"request head over {self.limits.max_header_bytes} bytes", 431)


    def _hand_over_bad_key(self, head: bytes, reason: str) -> bool:
        """Queue the request llhttp stopped reading, marked unreadable, when what stopped it is a control
        character in its x-api-key header (see the docstring); False for anything else."""
        url = self._url
        if not url.startswith(EXECUTE_API_PREFIX.encode()):
            return False
        lines = head.lstrip(b"\r\n").split(b"\r\n")
        # llhttp read every line before the bad one: the first line holding a control character is it
        bad = next((line for line in lines[1:] if any(byte in _CONTROL_BUT_TAB for byte in line)), None)
        if bad is None or bad.partition(b":")[0].lower() != API_KEY_HEADER:
            return False
        version = _VERSIONS.get(self.parser.get_http_version())
        if version is None:
            return False
        method = self.parser.get_method()
        headers = [*self._headers, ("x-api-key", "")]
        self.ready.append(HttpRequest(_METHODS.get(method) or method.decode("ascii", "replace"),
                                      url.decode("latin-1"), version, headers,
                                      unreadable=f"malformed HTTP request: {reason} (in x-api-key)"))
        self.stopped = True
        self.phase = "idle"
        return True

    def _check_open_chunk(self, data: bytes) -> None:
        """Refuse a chunk whose declared size takes the body over the limit, before its data comes."""
        if self._chunk_open and self._chunk_began_here:
            end = len(data) - self._chunk_data - 2      # the size line's CRLF ends there
            start = data.rfind(b"\n", 0, max(0, end)) + 1
            line = data[start:end] if start else self._line_start + data[:max(0, end)]
            if len(line) > MAX_CHUNK_LINE or (not start and len(self._line_start) >= MAX_CHUNK_LINE):
                raise BadRequest(f"chunk size line over {MAX_CHUNK_LINE} bytes")
            size = int(line.split(b";", 1)[0], 16)     # llhttp has checked: hex digits
            if self._body_size - self._chunk_data + size > self._limit:
                raise BadRequest(f"a chunk of {size} bytes takes the request body over the {self._limit}-byte "
                                 "limit", 413)
        last = data.rfind(b"\n")
        if last >= 0:
            self._line_start = data[max(last + 1, len(data) - MAX_CHUNK_LINE):]
        else:
            self._line_start = (self._line_start + data[-MAX_CHUNK_LINE:])[-MAX_CHUNK_LINE:] \
                if len(self._line_start) < MAX_CHUNK_LINE else self._line_start


def error_response(exc: BadRequest) -> HttpResponse:
    body = json.dumps({"message": str(exc)}).encode()
    return HttpResponse(exc.status, [("Content-Type", "application/json")], body)


_SKIP = frozenset({"connection", "transfer-encoding", "keep-alive"})


def encode_response(response: HttpResponse, *, keep_alive: bool, head_only: bool = False) -> bytes:
    """Serialise a response; Content-Length from the body unless the app set one (HEAD)."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    has_length = False
    for name, value in response.headers:
        lowered = name.lower()
        if lowered in _SKIP:
            continue
        if lowered == "content-length":
            if not head_only:
                continue  # recomputed below from the body we actually send
            has_length = True
        lines.append(f"{name}: {value}")
    if not has_length and not (head_only and response.status in (204, 304)):
        lines.append(f"Content-Length: {len(response.body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    return head if head_only else head + response.body
