"""The daemon's minimal HTTP/1.1 reader and writer."""
from __future__ import annotations

import asyncio

import pytest

from wildrydes_cli.local import httpio
from wildrydes_cli.local.gateway import HttpResponse


class Sink:
    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += data


def parse(raw: bytes):
    async def go():
        reader = asyncio.StreamReader(limit=httpio.MAX_HEADER_BYTES)
        reader.feed_data(raw)
        reader.feed_eof()
        sink = Sink()
        return await httpio.read_request(reader, sink), sink.data
    return asyncio.run(go())


def test_content_length_body_query_and_headers():
    req, _ = parse(b"POST /restapis/a/prod/_user_request_/?x=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\n"
                   b"Content-Length: 5\r\n\r\nhello")
    assert req.method == "POST" and req.path == "/restapis/a/prod/_user_request_/" and req.query == "x=1"
    assert req.body == b"hello" and req.headers.count(("X-A", "1")) == 1 and req.header("x-a") == "1"
    assert req.keep_alive


def test_chunked_body_and_expect_continue():
    req, sent = parse(b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
                      b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
    assert req.body == b"abcde" and sent == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_keep_alive_rules():
    assert not parse(b"GET / HTTP/1.0\r\n\r\n")[0].keep_alive
    assert parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")[0].keep_alive
    assert not parse(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")[0].keep_alive


def test_clean_eof_is_none():
    assert parse(b"")[0] is None


@pytest.mark.parametrize("raw, message, status", [
    (b"GARBAGE\r\n\r\n", "bad request line", 400),
    (b"GET / SPDY/3\r\n\r\n", "unsupported protocol", 505),
    (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "bad header line", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "bad Content-Length", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", "bad Content-Length", 400),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size", 400),
    (b"GET / HTTP/1.1\r\nHost", "incomplete request head", 400),
])
def test_bad_requests(raw, message, status):
    with pytest.raises(httpio.BadRequest, match=message) as info:
        parse(raw)
    assert info.value.status == status


def test_encode_response_sets_length_and_connection():
    data = httpio.encode_response(HttpResponse(200, [("Content-Type", "application/json"), ("Content-Length", "99"),
                                                     ("Transfer-Encoding", "chunked")], b"{}"), keep_alive=True)
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: 2" in head and b"Connection: keep-alive" in head
    assert b"99" not in head and b"chunked" not in head and body == b"{}"


def test_head_response_keeps_the_apps_length_and_sends_no_body():
    data = httpio.encode_response(HttpResponse(200, [("Content-Length", "1234")], b""), keep_alive=False,
                                  head_only=True)
    assert data.endswith(b"\r\n\r\n") and b"Content-Length: 1234" in data and b"Connection: close" in data
