"""Persistence: which requests are journaled, what of them, seeding that makes replayed ids
identical, failures, multipart upload ids, and the S3 replay fast path held equal to moto's
own PutObject."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from journal_records import iter_records

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import persist, s3_uploads
from wildrydes_cli.local.http import HttpRequest, HttpResponse

AUTH = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/{service}/aws4_request, " \
       "SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"


def req(method: str, target: str, body: bytes = b"", service: str = "s3", **headers: str) -> HttpRequest:
    hdrs = [("Host", "127.0.0.1:4566"), ("Authorization", AUTH.format(service=service))]
    hdrs += [(k.replace("_", "-"), v) for k, v in headers.items()]
    return HttpRequest(method, target, "HTTP/1.1", hdrs, body)


FORM = "application/x-www-form-urlencoded; charset=utf-8"


@pytest.mark.parametrize("request_, mutating", [
    (req("GET", "/bucket/key"), False),
    (req("HEAD", "/bucket"), False),
    (req("PUT", "/bucket"), True),
    (req("PUT", "/bucket/key", b"data"), True),
    (req("DELETE", "/bucket/key"), True),
    (req("POST", "/bucket?delete", b"<Delete/>"), True),
    (req("POST", "/", b"Action=DescribeStacks&Version=2010-05-15", "cloudformation", Content_Type=FORM), False),
    (req("POST", "/", b"Action=CreateStack&StackName=s", "cloudformation", Content_Type=FORM), True),
    (req("POST", "/?Action=ListRoles", b"", "iam"), False),
    (req("POST", "/", b"Action=GetCallerIdentity", "sts", Content_Type=FORM), False),
    (req("POST", "/", b"{}", "logs", X_Amz_Target="Logs_20140328.DescribeLogGroups"), False),
    (req("POST", "/", b"{}", "logs", X_Amz_Target="Logs_20140328.PutLogEvents"), False),
    (req("POST", "/", b"{}", "logs", X_Amz_Target="Logs_20140328.CreateLogGroup"), True),
    (req("POST", "/2015-03-31/functions/fn/invocations", b"{}", "lambda"), False),
    (req("POST", "/2015-03-31/functions", b"{}", "lambda"), True),
    (req("POST", "/restapis", b"{}", "apigateway"), True),
    (req("PATCH", "/restapis/abc/stages/prod", b"{}", "apigateway"), True),
])
def test_which_requests_are_journaled(request_, mutating):
    assert persist.is_mutating(request_) is mutating


def test_journaled_headers_keep_the_credential_scope_and_drop_secrets():
    request = req("PUT", "/b/k", b"x", X_Amz_Security_Token="SECRET-TOKEN", Content_Type="text/plain",
                  User_Agent="Boto3/1.40", X_Amz_Meta_Owner="me")
    kept = dict(persist.journal_headers(request.headers))
    assert kept["Authorization"] == ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/s3/aws4_request, "
                                     "SignedHeaders=host, Signature=0")
    assert "X-Amz-Security-Token" not in kept and "User-Agent" not in kept
    assert kept["Content-Type"] == "text/plain" and kept["X-Amz-Meta-Owner"] == "me"
    assert "SECRET-TOKEN" not in repr(kept) and "5d672d79" not in repr(kept)


class FakeMoto:
    """Draws an id from a seedable Random on every call (reads too), as moto's request ids do."""

    def __init__(self):
        self.rng = random.Random()
        self.created: list[str] = []
        self.fail_next = False

    def seed(self, value):
        self.rng.seed(value)

    def __call__(self, request: HttpRequest, port: int, client) -> HttpResponse:
        drawn = f"{self.rng.getrandbits(32):08x}"
        if request.method == "GET":
            return HttpResponse(200, [], b"read " + drawn.encode())
        if self.fail_next:
            self.fail_next = False
            return HttpResponse(409, [], b"conflict")
        self.created.append(drawn)
        return HttpResponse(201, [], drawn.encode())


def _persistence(path: Path, moto: FakeMoto) -> persist.Persistence:
    p = persist.Persistence(jn.Journal(path), call=moto, seed=moto.seed, fast_s3=False)
    p.replay(0)
    return p


def test_replay_gives_the_same_ids_although_reads_drew_in_between(tmp_path):
    live = FakeMoto()
    p = _persistence(tmp_path / "j", live)
    ids = []
    for i in range(5):
        for _ in range(i):  # reads between mutations move the random stream
            p.call(req("GET", "/restapis"), 0)
        ids.append(p.call(req("POST", "/restapis", b'{"name": "a%d"}' % i, "apigateway"), 0).body.decode())
    p.close()
    replayed = FakeMoto()
    q = _persistence(tmp_path / "j", replayed)
    assert replayed.created == ids
    # New mutations continue the sequence (no seed reused): a different id than any before.
    new = q.call(req("POST", "/restapis", b"{}", "apigateway"), 0).body.decode()
    assert new not in ids
    q.close()


def test_a_fresh_journal_does_not_hand_out_the_ids_of_a_wiped_one(tmp_path):
    first, second = FakeMoto(), FakeMoto()
    a = _persistence(tmp_path / "a", first)
    b = _persistence(tmp_path / "b", second)
    assert a.call(req("POST", "/restapis", b"{}", "apigateway"), 0).body != \
        b.call(req("POST", "/restapis", b"{}", "apigateway"), 0).body
    a.close()
    b.close()


def test_failed_mutations_and_reads_are_not_journaled(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    p.call(req("GET", "/b"), 0)
    moto.fail_next = True
    assert p.call(req("PUT", "/b"), 0).status == 409
    assert p.call(req("PUT", "/b"), 0).status == 201
    p.close()
    metas = list(iter_records(tmp_path / "j"))
    assert [m["kind"] for m in metas] == ["header", "request"]
    assert metas[1]["method"] == "PUT" and metas[1]["status"] == 201 and metas[1]["seq"] == 0


def test_a_journal_write_failure_is_a_507_naming_the_consequence(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)

    def broken(fd):
        raise OSError(28, "No space left on device")

    p.journal._fsync = broken
    response = p.call(req("PUT", "/b"), 0)
    assert response.status == 507
    assert b"<Code>LocalTargetStorageError</Code>" in response.body   # S3's own error shape
    assert b"applied this change but could not save it" in response.body and b"No space left" in response.body
    p.close()


def test_without_a_journal_nothing_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(persist.PERSIST_ENV, "0")
    p = persist.open_persistence(tmp_path, 0)
    assert p.journal is None
    assert not jn.journal_dir(tmp_path).exists()


# --- with moto itself (in this process) -------------------------------------------------------------

@pytest.fixture
def moto_reset():
    from wildrydes_cli.local.awsapi import wsgi

    def reset():
        assert wsgi.call_moto(HttpRequest("POST", "/moto-api/reset", "HTTP/1.1", [("Host", "127.0.0.1")]), 0).status == 200

    reset()
    yield reset
    reset()


def _object_view(key: str) -> dict:
    from wildrydes_cli.local.awsapi import wsgi
    got = wsgi.call_moto(req("GET", f"/bucket-one/{key}", x_amz_checksum_mode="ENABLED"), 0)
    headers = {k.lower(): v for k, v in got.headers
               if k.lower() not in ("date", "last-modified", "x-amzn-requestid", "x-amz-id-2", "x-amz-request-id")}
    return {"status": got.status, "body": got.body, "headers": headers}


PUTS = [
    ("plain", b"hello", {}),
    ("models/a%20b/model.tar.gz", b"\x1f\x8b" + bytes(300), {"Content_Type": "application/x-gzip"}),
    ("crc", b"with checksum", {"Content_Type": "application/json", "x_amz_checksum_crc32": "sQ2e2Q==",
                               "x_amz_sdk_checksum_algorithm": "CRC32"}),
    ("meta", b"m", {"X_Amz_Meta_Breed": "pegasus", "Content_MD5": "b1uYtcRMBbUvzC0LHxKGiQ=="}),
    ("tagged", b"t", {"x_amz_tagging": "a=b"}),  # not the plain shape: goes through moto
]


def _replay_puts(tmp_path: Path, fast: bool, reset) -> dict:
    from wildrydes_cli.local.awsapi import wsgi
    path = tmp_path / ("fast" if fast else "slow")
    live = persist.Persistence(jn.Journal(path), call=wsgi.call_moto)
    live.replay(0)
    assert live.call(req("PUT", "/bucket-one"), 0).status == 200
    for key, body, headers in PUTS:
        assert live.call(req("PUT", f"/bucket-one/{key}", body, **headers), 0).status == 200, key
    live.close()
    reset()
    again = persist.Persistence(jn.Journal(path), call=wsgi.call_moto, fast_s3=fast)
    stats = again.replay(0)
    again.close()
    assert stats.failed == 0
    views = {key: _object_view(key) for key, _, _ in PUTS}
    reset()
    return views


def test_s3_fast_path_replays_equal_to_moto(tmp_path, moto_reset):
    slow = _replay_puts(tmp_path, False, moto_reset)
    fast = _replay_puts(tmp_path, True, moto_reset)
    assert slow == fast
    assert fast["plain"]["body"] == b"hello"
    assert fast["models/a%20b/model.tar.gz"]["headers"]["content-type"] == "application/x-gzip"
    assert fast["meta"]["headers"]["x-amz-meta-breed"] == "pegasus"
    assert fast["crc"]["headers"].get("x-amz-checksum-crc32") == "sQ2e2Q=="


def test_fast_path_takes_only_the_plain_shape():
    from wildrydes_cli.local.awsapi import replay_s3
    auth = [["Host", "127.0.0.1:1"], ["Authorization", AUTH.format(service="s3")]]
    assert replay_s3.put_object({"method": "PUT", "target": "/b/k?tagging", "headers": auth}, b"") is False
    assert replay_s3.put_object({"method": "PUT", "target": "/b/k", "headers": auth + [["x-amz-acl", "public-read"]]},
                                b"") is False
    assert replay_s3.put_object({"method": "POST", "target": "/b/k", "headers": auth}, b"") is False
    streaming = auth + [["X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]]
    assert replay_s3.put_object({"method": "PUT", "target": "/b/k", "headers": streaming}, b"") is False


def test_multipart_upload_ids_are_mapped_on_replay(tmp_path, moto_reset):
    from wildrydes_cli.local.awsapi import wsgi
    path = tmp_path / "mp"
    live = persist.Persistence(jn.Journal(path), call=wsgi.call_moto)
    live.replay(0)
    live.call(req("PUT", "/bucket-one"), 0)
    created = live.call(req("POST", "/bucket-one/big?uploads"), 0)
    upload_id = s3_uploads.UPLOAD_ID.search(created.body).group(1).decode()
    part = b"p" * (5 * 1024 * 1024)
    etags = []
    for number, data in ((1, part), (2, b"tail")):
        answer = live.call(req("PUT", f"/bucket-one/big?partNumber={number}&uploadId={upload_id}", data), 0)
        assert answer.status == 200
        etags.append({k.lower(): v for k, v in answer.headers}["etag"])
    complete = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)) + \
        "</CompleteMultipartUpload>"
    assert live.call(req("POST", f"/bucket-one/big?uploadId={upload_id}", complete.encode()), 0).status == 200
    live.close()
    moto_reset()
    again = persist.Persistence(jn.Journal(path), call=wsgi.call_moto)
    assert again.replay(0).failed == 0
    again.close()
    got = wsgi.call_moto(req("GET", "/bucket-one/big"), 0)
    assert got.status == 200 and got.body == part + b"tail"


def test_a_record_that_raises_on_replay_is_skipped_and_counted(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    for i in range(3):
        p.call(req("PUT", f"/b{i}"), 0)
    p.close()
    replayed = FakeMoto()
    original = replayed.__call__

    def flaky(request, port, client):
        if request.target == "/b1":
            raise RuntimeError("moto changed")
        return original(request, port, client)

    q = persist.Persistence(jn.Journal(tmp_path / "j"), call=flaky, seed=replayed.seed, fast_s3=False)
    stats = q.replay(0)
    q.close()
    assert (stats.records, stats.failed) == (3, 1)
    assert replayed.created == [moto.created[0], moto.created[2]]
