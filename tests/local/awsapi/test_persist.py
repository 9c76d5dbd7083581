"""Persistence: which requests are journaled, what of them, seeding that makes replayed ids
identical, failures, multipart upload ids, and the S3 replay fast path held equal to moto's
own PutObject."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from journal_records import iter_records

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import journal_format, persist, s3_uploads
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
    ("crc", b"with checksum", {"Content_Type": "application/json", "x_amz_checksum_crc32": "yH+NYg==",
                               "x_amz_sdk_checksum_algorithm": "CRC32"}),
    ("meta", b"m", {"X_Amz_Meta_Breed": "pegasus", "Content_MD5": "b49XcVCQ2iYyRTmI2aFQGw=="}),
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
    assert fast["crc"]["headers"].get("x-amz-checksum-crc32") == "yH+NYg=="


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


def test_a_change_the_disk_refused_is_saved_before_the_next_and_others_are_refused_meanwhile(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    real_fsync = p.journal._fsync

    def full(fd):
        raise OSError(28, "No space left on device")

    p.journal._fsync = full
    assert p.call(req("PUT", "/applied"), 0).status == 507        # applied in moto, not saved
    refused = p.call(req("PUT", "/refused"), 0)
    assert refused.status == 507 and b"refuses changes" in refused.body
    assert len(moto.created) == 1                                   # moto never saw the refused one
    assert p.call(req("GET", "/applied"), 0).status == 200          # reads still work
    p.journal._fsync = real_fsync
    assert p.call(req("PUT", "/later"), 0).status == 201
    p.close()
    replayed = FakeMoto()
    _persistence(tmp_path / "j", replayed).close()
    assert replayed.created == moto.created                         # both, in order, with their own ids
    assert [m.get("target") for m in iter_records(tmp_path / "j")] == [None, "/applied", "/later"]


def test_a_journal_without_its_header_is_refused_and_recover_rebuilds_it(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    for i in range(3):
        p.call(req("POST", "/restapis", b'{"name": "a%d"}' % i, "apigateway"), 0)
    p.close()
    data = (tmp_path / "j" / jn.JOURNAL_NAME).read_bytes()
    header_end = journal_format.scan(data).ends[0]
    (tmp_path / "j" / jn.JOURNAL_NAME).write_bytes(data[header_end:])   # the header record gone whole
    with pytest.raises(jn.JournalDamaged, match="does not start with its header record.*--recover"):
        _persistence(tmp_path / "j", FakeMoto())
    replayed = FakeMoto()
    q = persist.Persistence(jn.Journal(tmp_path / "j"), call=replayed, seed=replayed.seed, fast_s3=False)
    stats = q.replay(0, recover=True)
    assert stats.recovery["header_rebuilt"] is True and stats.recovery["kept_records"] == 4
    assert replayed.created == moto.created                         # the same ids: seeds from the records
    new = q.call(req("POST", "/restapis", b"{}", "apigateway"), 0).body.decode()
    assert new not in moto.created
    q.close()


def test_a_record_naming_a_damaged_blob_is_refused_at_start(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    p.call(req("PUT", "/b/big", b"z" * (jn.BLOB_THRESHOLD + 1)), 0)
    p.close()
    blob = next((tmp_path / "j" / "blobs").iterdir())
    blob.write_bytes(b"damaged")
    with pytest.raises(jn.JournalDamaged, match=f"missing or damaged: {blob}.*PUT /b/big"):
        _persistence(tmp_path / "j", FakeMoto())


def test_presigned_urls_are_journaled_without_their_signature(tmp_path):
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261126%2Fus-east-1%2Fs3%2F"
             "aws4_request&X-Amz-Date=20261126T000000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host"
             "&X-Amz-Security-Token=SECRET-TOKEN&X-Amz-Signature=" + "ab" * 32)
    presigned = HttpRequest("PUT", f"/b/k?versionId=&{query}", "HTTP/1.1", [("Host", "127.0.0.1:4566")], b"v")
    target, credential = persist.journal_target(presigned)
    assert target == "/b/k?versionId=" and credential == "AKIDEXAMPLE/20261126/us-east-1/s3/aws4_request"
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    p.call(presigned, 0)
    p.close()
    raw = (tmp_path / "j" / jn.JOURNAL_NAME).read_bytes()
    assert b"abab" not in raw and b"SECRET-TOKEN" not in raw and b"X-Amz-Signature" not in raw
    meta = list(iter_records(tmp_path / "j"))[1]
    assert dict(meta["headers"])["Authorization"] == ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/"
                                                      "s3/aws4_request, SignedHeaders=host, Signature=0")


def test_a_multipart_upload_keeps_its_id_across_a_restart(tmp_path, moto_reset):
    """A client uploading parts across `local stop`/`start` goes on with the id it was given."""
    from wildrydes_cli.local.awsapi import wsgi
    path = tmp_path / "mp"
    live = persist.Persistence(jn.Journal(path), call=wsgi.call_moto)
    live.replay(0)
    live.call(req("PUT", "/bucket-one"), 0)
    upload_id = s3_uploads.UPLOAD_ID.search(live.call(req("POST", "/bucket-one/big?uploads"), 0).body).group(1).decode()
    part = b"p" * (5 * 1024 * 1024)
    first = live.call(req("PUT", f"/bucket-one/big?partNumber=1&uploadId={upload_id}", part), 0)
    live.close()
    moto_reset()
    again = persist.Persistence(jn.Journal(path), call=wsgi.call_moto)
    assert again.replay(0).failed == 0
    listed = again.call(req("GET", "/bucket-one?uploads"), 0)
    assert f"<UploadId>{upload_id}</UploadId>".encode() in listed.body
    second = again.call(req("PUT", f"/bucket-one/big?partNumber=2&uploadId={upload_id}", b"tail"), 0)
    assert second.status == 200
    etags = [{k.lower(): v for k, v in r.headers}["etag"] for r in (first, second)]
    complete = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)) + \
        "</CompleteMultipartUpload>"
    assert again.call(req("POST", f"/bucket-one/big?uploadId={upload_id}", complete.encode()), 0).status == 200
    again.close()
    assert wsgi.call_moto(req("GET", "/bucket-one/big"), 0).body == part + b"tail"


def test_an_upload_id_the_bucket_does_not_hold_is_404_no_such_upload(tmp_path, moto_reset):
    """moto looks the id up unchecked (a 500, retried four times by SDKs); S3 answers 404 NoSuchUpload."""
    from wildrydes_cli.local.awsapi import wsgi
    live = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    live.replay(0)
    live.call(req("PUT", "/bucket-one"), 0)
    for method, target in (("PUT", "/bucket-one/k?partNumber=1&uploadId=gone"), ("POST", "/bucket-one/k?uploadId=gone"),
                           ("GET", "/bucket-one/k?uploadId=gone"), ("DELETE", "/bucket-one/k?uploadId=gone")):
        answer = live.call(req(method, target, b"<CompleteMultipartUpload/>" if method == "POST" else b"x"), 0)
        assert answer.status == 404, (method, answer.body)
        assert b"<Code>NoSuchUpload</Code>" in answer.body and b"<UploadId>gone</UploadId>" in answer.body
    missing_bucket = live.call(req("PUT", "/no-such-bucket/k?partNumber=1&uploadId=gone", b"x"), 0)
    assert b"NoSuchBucket" in missing_bucket.body     # moto's own answer
    live.close()


def test_a_change_the_disk_refused_is_saved_at_stop_when_there_is_room_again(tmp_path):
    moto = FakeMoto()
    p = _persistence(tmp_path / "j", moto)
    real_fsync = p.journal._fsync
    p.journal._fsync = lambda fd: (_ for _ in ()).throw(OSError(28, "No space left on device"))
    assert p.call(req("PUT", "/applied"), 0).status == 507
    p.journal._fsync = real_fsync
    p.close()
    assert [m.get("target") for m in iter_records(tmp_path / "j")] == [None, "/applied"]


def test_a_stack_updates_role_policies_are_applied_live_and_again_on_replay(tmp_path, moto_reset):
    """The journal's door to moto applies what CloudFormation's UpdateStack does to a role and moto's does
    not (stack_updates.py): the new inline policy, live, and after a restart's replay."""
    import json
    from urllib.parse import urlencode

    from wildrydes_cli.local.awsapi import moto_backends

    def template(sid: str) -> str:
        return json.dumps({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                "Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "P", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]}}}})

    def stack_call(action: str, sid: str) -> HttpRequest:
        form = urlencode({"Action": action, "Version": "2010-05-15", "StackName": "s", "TemplateBody": template(sid),
                          "Capabilities.member.1": "CAPABILITY_IAM"})
        return req("POST", "/", form.encode(), "cloudformation", Content_Type=FORM)

    def sid_of_the_roles_policy() -> str:
        facts = moto_backends.stack_facts(moto_backends.account_of("AKIDEXAMPLE"), "us-east-1", "s")
        assert facts is not None
        arn = f"arn:aws:iam::{moto_backends.account_of('AKIDEXAMPLE')}:role/{facts.resources['R']}"
        record = moto_backends.role_record(arn)
        assert record is not None
        return json.loads(record.inline[0][1])["Statement"][0]["Sid"]

    live = persist.Persistence(jn.Journal(tmp_path / "j"))          # the daemon's: the default call
    live.replay(0)
    assert live.call(stack_call("CreateStack", "Before"), 0).status == 200
    assert live.call(stack_call("UpdateStack", "After"), 0).status == 200
    assert sid_of_the_roles_policy() == "After"
    live.close()
    moto_reset()
    again = persist.Persistence(jn.Journal(tmp_path / "j"))
    assert again.replay(0).failed == 0
    again.close()
    assert sid_of_the_roles_policy() == "After"
