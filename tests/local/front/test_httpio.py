"""The daemon's HTTP/1.1 reader (httptools/llhttp + our checks) and writer, fed bytes directly.

Over a real socket against a real daemon: tests/local/front/test_front.py.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wildrydes_cli.local.front import httpio
from wildrydes_cli.local.http import HttpRequest, HttpResponse

PORT = 4566


def parse(*pieces: bytes, limits: httpio.Limits | None = None) -> httpio.RequestParser:
    parser = httpio.RequestParser(limits or httpio.Limits(), PORT)
    for piece in pieces:
        parser.feed(piece)
    return parser


def one(*pieces: bytes) -> HttpRequest:
    parser = parse(*pieces)
    assert len(parser.ready) == 1
    return parser.ready[0]


def test_content_length_body_query_and_headers():
    req = one(b"POST /restapis/a/prod/_user_request_/?x=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\n"
              b"Content-Length: 5\r\n\r\nhello")
    assert req.method == "POST" and req.path == "/restapis/a/prod/_user_request_/" and req.query == "x=1"
    assert req.body == b"hello" and req.headers.count(("X-A", "1")) == 1 and req.header("x-a") == "1"
    assert req.keep_alive


def test_bytes_one_at_a_time_give_the_same_request():
    raw = b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
    req = one(*[raw[i:i + 1] for i in range(len(raw))])
    assert req.body == b"abcde" and req.method == "PUT" and req.target == "/b/k"


def test_expect_continue_is_flagged_for_the_connection():
    parser = parse(b"PUT /b/k HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    assert parser.expect_continue and not parser.ready and parser.phase == "body"


def test_pipelined_requests_queue_in_order():
    parser = parse(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTT")
    assert [r.target for r in parser.ready] == ["/a", "/b"] and parser.phase == "head"


def test_keep_alive_rules():
    assert not one(b"GET / HTTP/1.0\r\n\r\n").keep_alive
    assert one(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive
    assert not one(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive


def test_absolute_form_naming_this_server_becomes_origin_form():
    req = one(b"GET http://127.0.0.1:%d/restapis/a/prod/_user_request_/?q=1 HTTP/1.1\r\n\r\n" % PORT)
    assert req.target == "/restapis/a/prod/_user_request_/?q=1"


def test_body_limit_depends_on_the_route():
    limits = httpio.Limits(max_body=10, max_aws_body=20)
    aws_call = parse(b"PUT /bucket/key HTTP/1.1\r\nContent-Length: 15\r\n\r\n" + b"x" * 15, limits=limits)
    assert aws_call.ready[0].body == b"x" * 15
    with pytest.raises(httpio.BadRequest, match="15 bytes is over the 10-byte limit") as info:
        parse(b"POST /restapis/a/prod/_user_request_/ HTTP/1.1\r\nContent-Length: 15\r\n\r\n", limits=limits)
    assert info.value.status == 413


def test_chunked_body_is_refused_when_it_crosses_the_limit():
    parser = httpio.RequestParser(httpio.Limits(max_body=10), PORT)
    parser.feed(b"POST /restapis/a/p/_user_request_/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    parser.feed(b"8\r\n12345678\r\n")
    with pytest.raises(httpio.BadRequest, match="over the 10-byte limit") as info:
        parser.feed(b"8\r\n12345678\r\n")
    assert info.value.status == 413


def test_incomplete_head_over_the_bound_is_431_before_it_ends():
    parser = httpio.RequestParser(httpio.Limits(max_header_bytes=1000), PORT)
    parser.feed(b"GET / HTTP/1.1\r\nX-A: ")
    with pytest.raises(httpio.BadRequest) as info:
        for _ in range(20):
            parser.feed(b"a" * 100)
    assert info.value.status == 431


@pytest.mark.parametrize("raw, message, status", [
    (b"GARBAGE\r\n\r\n", "malformed HTTP request", 400),
    (b"GET / SPDY/3\r\n\r\n", "malformed HTTP request", 400),
    (b"GET / HTTP/1.9\r\n\r\n", "malformed HTTP request: Invalid HTTP version", 400),
    (b"GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version '2.0'", 400),
    (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "malformed HTTP request", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "Invalid character in Content-Length", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", "Invalid character in Content-Length", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", "Invalid character in Content-Length", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "Duplicate Content-Length", 400),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size", 400),
    (b"GET / HTTP/1.1\nHost: x\n\n", "malformed HTTP request", 400),
    (b"GET http://example.com/ HTTP/1.1\r\n\r\n", "not a proxy", 400),
    (b"GET http://127.0.0.1:1/ HTTP/1.1\r\n\r\n", "not a proxy", 400),
    (b"GET * HTTP/1.1\r\n\r\n", "must start with '/'", 400),
])
def test_bad_requests(raw, message, status):
    with pytest.raises(httpio.BadRequest, match=message) as info:
        parse(raw)
    assert info.value.status == status


def test_limits_from_the_environment():
    limits = httpio.Limits.from_env({"WILDRYDES_LOCAL_HEADER_TIMEOUT": "2.5", "WILDRYDES_LOCAL_MAX_CONNECTIONS": "50"})
    assert limits.header_timeout == 2.5 and limits.max_connections == 50 and limits.idle_timeout == 30.0
    with pytest.raises(ValueError, match="WILDRYDES_LOCAL_BODY_TIMEOUT must be a positive number, got '-1'"):
        httpio.Limits.from_env({"WILDRYDES_LOCAL_BODY_TIMEOUT": "-1"})
    with pytest.raises(ValueError, match="WILDRYDES_LOCAL_IDLE_TIMEOUT"):
        httpio.Limits.from_env({"WILDRYDES_LOCAL_IDLE_TIMEOUT": "soon"})


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


# --- a chunk's declared size: refused when its size line is in, before its data -------------------

EXECUTE = b"POST /restapis/a/p/_user_request_/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("pieces", [
    [EXECUTE + b"FFFFFFFFFF\r\n"],                               # the size line alone
    [EXECUTE + b"FFFFFFFFFF\r\nabc"],                            # and a little data
    [EXECUTE, b"FFFFFFFFFF\r\n"],                                # after the head, in a read of its own
    [EXECUTE + b"FFFFF", b"FFFFF\r\nab"],                        # the size line split across reads
    [EXECUTE + b"FFFFFFFFFF\r", b"\nab"],                        # ... between its CR and LF
    [EXECUTE + b"FFFFFFFFFF;name=value\r\n"],                    # with an extension
    [EXECUTE + b"2\r\nab\r\n" + b"0" * 50 + b"FFFFFFFFFF\r\n"],  # leading zeros, after a first chunk
    [EXECUTE + b"a00001\r\n"],                                   # one byte over 10 MB
])
def test_a_chunk_declared_over_the_limit_is_413_before_its_data(pieces):
    parser = httpio.RequestParser(httpio.Limits(), PORT)
    with pytest.raises(httpio.BadRequest, match="takes the request body over the 10485760-byte limit") as info:
        for piece in pieces:
            parser.feed(piece)
    assert info.value.status == 413


def test_a_chunk_declared_within_the_limit_waits_for_its_data():
    parser = httpio.RequestParser(httpio.Limits(), PORT)
    parser.feed(EXECUTE + b"a00000\r\n" + b"x" * 1000)     # exactly 10 MB declared
    assert parser.phase == "body" and not parser.ready


def test_the_declared_size_counts_what_came_before():
    parser = httpio.RequestParser(httpio.Limits(max_body=10), PORT)
    parser.feed(EXECUTE + b"6\r\n123456\r\n")
    with pytest.raises(httpio.BadRequest, match="a chunk of 5 bytes takes") as info:
        parser.feed(b"5\r\n")
    assert info.value.status == 413


def test_an_over_long_chunk_size_line_is_refused():
    parser = httpio.RequestParser(httpio.Limits(), PORT)
    with pytest.raises(httpio.BadRequest, match="chunk size line over 4096 bytes") as info:
        parser.feed(EXECUTE + b"0" * 3000)
        parser.feed(b"0" * 3000 + b"5\r\n")
    assert info.value.status == 400


def test_pipelined_chunked_requests_are_each_checked():
    parser = httpio.RequestParser(httpio.Limits(max_body=10), PORT)
    parser.feed(EXECUTE + b"3\r\nabc\r\n0\r\n\r\n" + EXECUTE + b"3\r\ndef\r\n0\r\n\r\n" + EXECUTE)
    assert [r.body for r in parser.ready] == [b"abc", b"def"]
    with pytest.raises(httpio.BadRequest, match="a chunk of 11 bytes") as info:
        parser.feed(b"b\r\n")
    assert info.value.status == 413


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(0, 40), min_size=1, max_size=6), limit=st.integers(1, 120),
       extensions=st.booleans(), zeros=st.integers(0, 3), cuts=st.lists(st.integers(1, 400), max_size=12))
def test_chunked_bodies_split_anywhere(sizes, limit, extensions, zeros, cuts):
    """Refused (413) exactly when the declared sizes add up past the limit, however the bytes arrive."""
    body = b""
    raw = EXECUTE
    for i, size in enumerate(s for s in sizes if s):
        data = bytes([97 + i % 26]) * size
        raw += b"0" * zeros + b"%x" % size + (b";e=%d" % i if extensions else b"") + b"\r\n" + data + b"\r\n"
        body += data
    raw += b"0\r\n\r\n"
    pieces, last = [], 0
    for cut in sorted(set(c for c in cuts if c < len(raw))):
        pieces.append(raw[last:cut])
        last = cut
    pieces.append(raw[last:])
    parser = httpio.RequestParser(httpio.Limits(max_body=limit), PORT)
    if len(body) > limit:
        with pytest.raises(httpio.BadRequest) as info:
            for piece in pieces:
                parser.feed(piece)
        assert info.value.status == 413
    else:
        for piece in pieces:
            parser.feed(piece)
        assert [r.body for r in parser.ready] == [body]


# --- an x-api-key holding a control character: handed over unreadable, not a 400 -------------

KEYED = b"/restapis/api1/prod/_user_request_/"


@pytest.mark.parametrize("char", [b"\x00", b"\x01", b"\x08", b"\x0b", b"\x1b", b"\x1f", b"\x7f"])
def test_a_control_character_in_x_api_key_hands_the_request_over_unreadable(char):
    parser = parse(b"POST " + KEYED + b" HTTP/1.1\r\nHost: x\r\nX-Api-Key: ab" + char + b"cd\r\nX-After: 1\r\n"
                   b"Content-Length: 2\r\n\r\n{}")
    request = parser.ready[0]
    assert (request.method, request.target, request.headers) == ("POST", KEYED.decode(),
                                                                 [("Host", "x"), ("x-api-key", "")])
    assert request.unreadable == "malformed HTTP request: Invalid header value char (in x-api-key)"
    assert not request.keep_alive and request.body == b""
    parser.feed(b"GET / HTTP/1.1\r\n\r\n")        # nothing more is read on this connection
    assert len(parser.ready) == 1


def test_the_key_header_split_across_reads_is_still_handed_over():
    request = one(b"GET " + KEYED + b" HTTP/1.1\r\nHo", b"st: x\r\nx-api-", b"key: a\x01", b"b\r\n\r\n")
    assert request.unreadable is not None and request.header("host") == "x"


@pytest.mark.parametrize("raw, message", [
    # CR or LF in the key: the shape of header injection, refused as before
    (b"GET %s HTTP/1.1\r\nx-api-key: a\rInjected: 1\r\n\r\n", "Missing expected LF after header value"),
    (b"GET %s HTTP/1.1\r\nx-api-key: a\nInjected: 1\r\n\r\n", "Missing expected CR after header value"),
    # a control character in another header, in a header name, or before the key's own
    (b"GET %s HTTP/1.1\r\nX-Other: a\x01b\r\n\r\n", "Invalid header value char"),
    (b"GET %s HTTP/1.1\r\nX-Other: a\x01b\r\nx-api-key: a\x01b\r\n\r\n", "Invalid header value char"),
    (b"GET %s HTTP/1.1\r\nx-api\x01-key: ab\r\n\r\n", "Invalid header token"),
    # not an execute-api request
    (b"GET /bucket/key HTTP/1.1\r\nx-api-key: a\x01b\r\n\r\n", "Invalid header value char"),
])
def test_other_malformed_headers_stay_400(raw, message):
    with pytest.raises(httpio.BadRequest, match=message) as info:
        parse(raw.replace(b"%s", KEYED))
    assert info.value.status == 400


def test_a_pipelined_request_behind_another_in_the_same_read_stays_400():
    """Where the second request began in the read is not known, so its bad key is not read: a 400."""
    first = b"GET " + KEYED + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    with pytest.raises(httpio.BadRequest, match="Invalid header value char"):
        parse(first + b"GET " + KEYED + b" HTTP/1.1\r\nx-api-key: a\x01b\r\n\r\n")
    # in a read of its own, it is handed over
    parser = parse(first, b"GET " + KEYED + b" HTTP/1.1\r\nx-api-key: a\x01b\r\n\r\n")
    assert [r.unreadable is not None for r in parser.ready] == [False, True]
