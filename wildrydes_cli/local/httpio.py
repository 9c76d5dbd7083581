"""Minimal HTTP/1.1 over asyncio streams, for the daemon's one port.

Why not werkzeug or http.server: the endpoint has to sustain more than 1,000
requests/s on two cores next to its Lambda workers, which wants keep-alive and
no thread per connection. This module does only what clients of the emulator
send: Content-Length and chunked bodies, ``Expect: 100-continue`` (boto3 sends
it for S3 uploads), keep-alive per HTTP/1.0 and 1.1 rules.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from http import HTTPStatus

from wildrydes_cli.local.gateway import HttpResponse

LOG = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024 * 1024


class BadRequest(Exception):
    """The bytes on the wire are not an HTTP request we can read."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class HttpRequest:
    method: str
    target: str           # as sent: path plus optional ?query, still percent-encoded
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def keep_alive(self) -> bool:
        connection = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    total = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest("bad chunk size") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY_BYTES:
            raise BadRequest("request body too large", 413)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> HttpRequest | None:
    """The next request on a connection, or None when the client closed it cleanly."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large", 431) from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise BadRequest(f"bad request line {lines[0][:80]!r}") from None
    if not version.startswith("HTTP/1."):
        raise BadRequest(f"unsupported protocol {version[:20]!r}", 505)
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"bad header line {line[:80]!r}")
        headers.append((name, value.strip()))
    request = HttpRequest(method.upper(), target, version, headers)
    if (request.header("expect") or "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in (request.header("transfer-encoding") or "").lower():
        request.body = await _read_chunked(reader)
    else:
        length_text = request.header("content-length")
        if length_text:
            try:
                length = int(length_text)
            except ValueError:
                raise BadRequest("bad Content-Length") from None
            if length < 0:
                raise BadRequest("bad Content-Length")
            if length > MAX_BODY_BYTES:
                raise BadRequest("request body too large", 413)
            request.body = await reader.readexactly(length)
    return request


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
