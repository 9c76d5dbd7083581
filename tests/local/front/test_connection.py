"""The connection cap and timeouts of ``connection.Connections``, on a real asyncio server and real sockets.

In-process (no daemon, no moto): the handler is ours, so a test can hold a
request "in service" for as long as it needs.
"""
from __future__ import annotations

import asyncio

from wildrydes_cli.local.front import connection, httpio
from wildrydes_cli.local.http import HttpResponse

REQUEST = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


async def serve(cap: int, limits: httpio.Limits | None = None):
    release = asyncio.Event()
    entered = asyncio.Event()

    async def handler(request, client):
        if request.path == "/slow":
            entered.set()
            await release.wait()
        return HttpResponse(200, [("Content-Type", "text/plain")], request.path.encode())

    front = connection.Connections(handler, limits or httpio.Limits(), 0, cap=cap)
    server = await asyncio.start_server(front.accept, "127.0.0.1", 0)
    return server, front, release, entered


async def read_all(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), 5)


def test_at_the_cap_the_longest_idle_connection_is_closed_for_a_new_one():
    async def go():
        server, front, _, _ = await serve(cap=2)
        port = server.sockets[0].getsockname()[1]
        idle_old = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.05)
        idle_new = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /served HTTP/1.1\r\nConnection: close\r\n\r\n")
        answer = await read_all(reader)
        evicted = await read_all(idle_old[0])  # closed by the server: EOF, no bytes
        idle_new[1].write(REQUEST)
        still_open = await asyncio.wait_for(idle_new[0].read(200), 5)
        for w in (idle_old[1], idle_new[1], writer):
            w.close()
        server.close()
        return answer, evicted, still_open, front.evicted
    answer, evicted, still_open, count = asyncio.run(go())
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"/served")
    assert evicted == b"" and still_open.startswith(b"HTTP/1.1 200 OK") and count == 1


def test_when_every_connection_is_busy_a_new_one_gets_503():
    async def go():
        server, front, release, entered = await serve(cap=1)
        port = server.sockets[0].getsockname()[1]
        busy_reader, busy_writer = await asyncio.open_connection("127.0.0.1", port)
        busy_writer.write(b"GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n")
        await asyncio.wait_for(entered.wait(), 5)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        refused = await read_all(reader)
        release.set()
        served = await read_all(busy_reader)
        for w in (busy_writer, writer):
            w.close()
        server.close()
        return refused, served
    refused, served = asyncio.run(go())
    assert refused.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in refused and b"Connection: close" in refused
    assert served.startswith(b"HTTP/1.1 200 OK") and served.endswith(b"/slow")


def test_a_client_that_does_not_read_its_response_is_cut_off():
    async def go():
        limits = httpio.Limits(body_timeout=0.5)
        big = b"x" * (64 * 1024 * 1024)

        async def handler(request, client):
            return HttpResponse(200, [], big)

        front = connection.Connections(handler, limits, 0, cap=4)
        server = await asyncio.start_server(front.accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)  # and never read
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while front.open and loop.time() - t0 < 10:
            await asyncio.sleep(0.05)
        took = loop.time() - t0
        writer.close()
        server.close()
        return took, len(front.open)
    took, still_open = asyncio.run(go())
    assert still_open == 0 and took < 5


def test_a_short_head_timeout_fires_on_time_after_a_long_idle_one_was_armed():
    async def go():
        server, _, _, _ = await serve(cap=4, limits=httpio.Limits(header_timeout=0.3, idle_timeout=30))
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.2)  # idle: its 30 s deadline is armed first
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        writer.write(b"GET /x HTTP/1.1\r\nHost")
        answer = await read_all(reader)
        took = loop.time() - t0
        writer.close()
        server.close()
        return answer, took
    answer, took = asyncio.run(go())
    assert answer.startswith(b"HTTP/1.1 408") and 0.25 <= took < 1.5
