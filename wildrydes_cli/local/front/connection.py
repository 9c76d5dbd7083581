"""One client connection of the daemon's front, and the bound on how many are open.

Timeouts like a gateway's, cheap enough for thousands of requests a second: a
connection keeps one deadline for its current phase (``idle`` between
requests, ``head``, ``body``, ``write``) and one timer. The timer is never
scheduled further than the shortest timeout ahead, so it always fires at or
before any deadline a phase can set later, and when it fires early it just
re-arms. A request therefore costs a few ``loop.time()`` reads, not a task
per read (``asyncio.wait_for``) nor a timer per phase. On
expiry a connection waiting for a head or body is answered 408 and closed;
an idle one is closed; one whose client does not read its response is aborted.
While a request is being served (``busy``) no front timeout applies: the
function's own timeout does.

``Connections`` bounds how many are open below the descriptor limit, so idle
sockets can no longer starve the workers' pipes and moto of descriptors: at
the cap, a new connection evicts the longest-waiting one that has no request
in service (idle, or still sending its head); when every connection is busy,
the newcomer gets 503 and is closed.
"""
from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Awaitable, Callable

from wildrydes_cli.local.front import httpio
from wildrydes_cli.local.http import HttpRequest, HttpResponse

LOG = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
LINGER_SECONDS = 1.0        # after a 4xx, read and drop what the client still sends, at most this long
LINGER_BYTES = 1024 * 1024  # ... and this much, so that closing does not reset the answer away
DESCRIPTOR_HEADROOM = 128   # workers' pipes, moto's files, the log, the listening socket

Handler = Callable[[HttpRequest, tuple | None], Awaitable[HttpResponse]]


def connection_cap(limits: httpio.Limits) -> int:
    """``max_connections`` when set, else (and never above) the descriptor soft limit minus headroom."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    derived = max(8, soft - max(DESCRIPTOR_HEADROOM, soft // 8)) if soft != resource.RLIM_INFINITY else 65536
    return min(limits.max_connections, derived) if limits.max_connections else derived


class Connection:
    """Reads requests with ``RequestParser``, hands them to ``handler``, writes the responses in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler,
                 limits: httpio.Limits, port: int):
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.limits = limits
        self.loop = asyncio.get_running_loop()
        self.client = writer.get_extra_info("peername")
        self.parser = httpio.RequestParser(limits, port)
        self.phase = "idle"
        self.since = self.loop.time()
        self.deadline: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timed_out = False
        self._timeouts = {"idle": limits.idle_timeout, "head": limits.header_timeout, "body": limits.body_timeout,
                          "write": limits.body_timeout}
        self._tick = min(self._timeouts.values())
        self._arm("idle")

    # --- deadlines ------------------------------------------------------------
    def _arm(self, phase: str) -> None:
        self.phase = phase
        now = self.loop.time()
        self.since = now
        timeout = self._timeouts.get(phase)
        self.deadline = None if timeout is None else now + timeout
        if self.deadline is not None and self.timer is None:
            self.timer = self.loop.call_at(min(self.deadline, now + self._tick), self._expire)

    def _expire(self) -> None:
        self.timer = None
        if self.deadline is None or self.writer.is_closing():
            return
        now = self.loop.time()
        if now < self.deadline:
            self.timer = self.loop.call_at(min(self.deadline, now + self._tick), self._expire)
            return
        self.timed_out = True
        transport = self.writer.transport
        if self.phase in ("head", "body"):
            LOG.info("closing connection from %s: request %s not received within its timeout", self.client,
                     self.phase)
            what = "headers" if self.phase == "head" else "body"
            transport.write(httpio.encode_response(
                httpio.error_response(httpio.BadRequest(f"request {what} not received in time", 408)),
                keep_alive=False))
            transport.close()
        elif self.phase == "write":
            transport.abort()
        else:
            transport.close()

    def close(self) -> None:
        """Close now (eviction); the serve loop sees end-of-file and ends."""
        self.deadline = None
        self.writer.transport.close()

    @property
    def evictable(self) -> bool:
        return self.phase in ("idle", "head") and not self.parser.ready

    # --- serving --------------------------------------------------------------
    async def _next_request(self) -> HttpRequest | None:
        parser = self.parser
        while not parser.ready:
            if parser.upgraded:
                return None
            if parser.phase != self.phase:
                # Phases are read at read boundaries, not from parser callbacks: a request that
                # arrives in one read arms nothing, and a head's deadline still counts from the
                # read that began it (a slow sender cannot push it back).
                self._arm(parser.phase)
            data = await self.reader.read(READ_SIZE)
            if not data:
                return None
            parser.feed(data)
            if parser.expect_continue:
                parser.expect_continue = False
                if not parser.ready:
                    self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return parser.ready.popleft()

    async def _linger(self) -> None:
        """Half-close, then drain briefly: closing a socket with unread input sends a reset,
        which can destroy the 4xx we just wrote before the client reads it (nginx's lingering close)."""
        try:
            if self.writer.can_write_eof():
                self.writer.write_eof()
            end = self.loop.time() + LINGER_SECONDS
            dropped = 0
            while dropped < LINGER_BYTES and (left := end - self.loop.time()) > 0:
                data = await asyncio.wait_for(self.reader.read(READ_SIZE), left)
                if not data:
                    break
                dropped += len(data)
        except (TimeoutError, ConnectionError, OSError):
            pass

    async def serve(self) -> None:
        writer = self.writer
        try:
            while True:
                try:
                    request = await self._next_request()
                except httpio.BadRequest as exc:
                    LOG.debug("bad request from %s: %s", self.client, exc)
                    self._arm("write")
                    writer.write(httpio.encode_response(httpio.error_response(exc), keep_alive=False))
                    await writer.drain()
                    await self._linger()
                    break
                if request is None:
                    break
                self.phase, self.deadline = "busy", None  # the function's timeout applies, not ours
                try:
                    response = await self.handler(request, self.client)
                except Exception:
                    LOG.exception("unhandled error serving %s %s", request.method, request.target)
                    response = HttpResponse(500, [("Content-Type", "application/json")],
                                            b'{"message": "Internal server error"}')
                keep = request.keep_alive and not self.parser.upgraded and not self.timed_out
                writer.write(httpio.encode_response(response, keep_alive=keep, head_only=request.method == "HEAD"))
                if writer.transport.get_write_buffer_size():  # the socket did not take it all: bound the wait
                    self._arm("write")
                    await writer.drain()
                if not keep:
                    if request.unreadable is not None:   # its unread bytes must not reset the answer
                        await writer.drain()
                        await self._linger()
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # shutdown with the connection idle in keep-alive
            pass
        finally:
            self.deadline = None
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            writer.close()


class Connections:
    """Open connections, bounded by ``cap``."""

    def __init__(self, handler: Handler, limits: httpio.Limits, port: int, cap: int | None = None):
        self.handler = handler
        self.limits = limits
        self.port = port
        self.cap = cap if cap is not None else connection_cap(limits)
        self.open: set[Connection] = set()
        self.evicted = 0
        self.refused = 0

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.open) >= self.cap and not self._evict_one():
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                LOG.warning("%d connections open, all busy (cap %d): refusing new ones with 503", len(self.open),
                            self.cap)
            body = b'{"message": "Too many connections; try again"}'
            writer.write(httpio.encode_response(HttpResponse(503, [("Content-Type", "application/json"),
                                                                   ("Retry-After", "1")], body), keep_alive=False))
            writer.close()
            return
        connection = Connection(reader, writer, self.handler, self.limits, self.port)
        self.open.add(connection)
        try:
            await connection.serve()
        finally:
            self.open.discard(connection)

    def _evict_one(self) -> bool:
        candidates = [c for c in self.open if c.evictable]
        if not candidates:
            return False
        victim = min(candidates, key=lambda c: c.since)
        self.open.discard(victim)
        victim.close()
        self.evicted += 1
        if self.evicted == 1 or self.evicted % 1000 == 0:
            LOG.warning("connection cap %d reached: closed the longest-idle connection (%d so far)", self.cap,
                        self.evicted)
        return True
