"""An S3 body is checked against its Content-MD5 and x-amz-checksum-* header before the journal and moto, as S3
checks it: a damaged body is refused (400) and leaves nothing. The header values come from botocore's own
checksum classes (the oracle), not from the code under test."""
from __future__ import annotations

import base64
import hashlib

import emulated
import pytest
from botocore.exceptions import ClientError
from botocore.httpchecksum import Crc32Checksum, Sha1Checksum, Sha256Checksum
from test_persist import moto_reset, req  # noqa: F401  (the fixture is used by name)

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import persist, s3_digests, wsgi

BODY = b"heavy_utilization,distance\n1,30\n"
OTHER = b"heavy_utilization,distance\n0,30\n"     # one byte changed on its way


def _sdk(kind, body: bytes) -> str:
    checksum = kind()
    checksum.update(body)
    return checksum.b64digest()


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def _code(response) -> tuple[int, str, str]:
    text = response.body.decode()
    return (response.status, text.split("<Code>")[1].split("</Code>")[0],
            text.split("<Message>")[1].split("</Message>")[0])


HEADERS = [("content_md5", _md5), ("x_amz_checksum_crc32", lambda b: _sdk(Crc32Checksum, b)),
           ("x_amz_checksum_sha1", lambda b: _sdk(Sha1Checksum, b)),
           ("x_amz_checksum_sha256", lambda b: _sdk(Sha256Checksum, b))]


@pytest.mark.parametrize("header, value", HEADERS, ids=[h for h, _ in HEADERS])
def test_a_header_that_describes_the_body_passes(header, value):
    assert s3_digests.refusal(req("PUT", "/bkt/k", BODY, **{header: value(BODY)})) is None
    assert s3_digests.refusal(req("PUT", "/bkt/k?partNumber=1&uploadId=u", BODY, **{header: value(BODY)})) is None


@pytest.mark.parametrize("header, value, message", [
    ("content_md5", _md5, "The Content-MD5 you specified did not match what we received."),
    ("x_amz_checksum_crc32", lambda b: _sdk(Crc32Checksum, b),
     "The CRC32 you specified did not match the calculated checksum."),
    ("x_amz_checksum_sha1", lambda b: _sdk(Sha1Checksum, b),
     "The SHA1 you specified did not match the calculated checksum."),
    ("x_amz_checksum_sha256", lambda b: _sdk(Sha256Checksum, b),
     "The SHA256 you specified did not match the calculated checksum."),
])
def test_a_body_its_header_does_not_describe_is_bad_digest(header, value, message):
    for target in ("/bkt/k", "/bkt/k?partNumber=1&uploadId=u"):     # PutObject, UploadPart
        refused = s3_digests.refusal(req("PUT", target, OTHER, **{header: value(BODY)}))
        assert refused is not None and _code(refused) == (400, "BadDigest", message)


@pytest.mark.parametrize("header, value, code, message", [
    ("content_md5", "not base64!", "InvalidDigest", "The Content-MD5 you specified is not valid."),
    ("content_md5", base64.b64encode(b"x" * 15).decode(), "InvalidDigest",
     "The Content-MD5 you specified is not valid."),
    ("x_amz_checksum_crc32", "", "InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid."),
    ("x_amz_checksum_crc32", base64.b64encode(b"xyz").decode(), "InvalidRequest",
     "Value for x-amz-checksum-crc32 header is invalid."),
    ("x_amz_checksum_sha256", _md5(BODY), "InvalidRequest", "Value for x-amz-checksum-sha256 header is invalid."),
    ("x_amz_checksum_crc32c", "AAAAAAAA", "InvalidRequest", "Value for x-amz-checksum-crc32c header is invalid."),
])
def test_a_malformed_value_is_refused_whatever_the_body(header, value, code, message):
    refused = s3_digests.refusal(req("PUT", "/bkt/k", BODY, **{header: value}))
    assert refused is not None and _code(refused) == (400, code, message)


def test_without_awscrt_a_crc32c_or_crc64nvme_is_kept_as_declared(monkeypatch):
    """The two CRCs the standard library lacks: well-formed values pass unchecked, as before (awscrt is not a
    dependency); with it, a wrong one is refused like any other."""
    monkeypatch.setitem(s3_digests.ALGORITHMS, "crc32c", ("CRC32C", 4, None))
    monkeypatch.setitem(s3_digests.ALGORITHMS, "crc64nvme", ("CRC64NVME", 8, None))
    assert s3_digests.refusal(req("PUT", "/bkt/k", OTHER, x_amz_checksum_crc32c="AAAAAA==")) is None
    assert s3_digests.refusal(req("PUT", "/bkt/k", OTHER, x_amz_checksum_crc64nvme="AAAAAAAAAAA=")) is None
    monkeypatch.setitem(s3_digests.ALGORITHMS, "crc32c", ("CRC32C", 4, lambda body: b"\x01\x02\x03\x04"))
    refused = s3_digests.refusal(req("PUT", "/bkt/k", OTHER, x_amz_checksum_crc32c="AAAAAA=="))
    assert refused is not None and _code(refused)[:2] == (400, "BadDigest")


@pytest.mark.parametrize("request_", [
    # CompleteMultipartUpload: its checksum is the whole object's, not its XML body's
    req("POST", "/bkt/k?uploadId=u", b"<CompleteMultipartUpload/>", x_amz_checksum_crc32="AAAAAA=="),
    # CreateMultipartUpload and CopyObject name an algorithm, not a value
    req("POST", "/bkt/k?uploads", b"", x_amz_checksum_algorithm="CRC32"),
    req("PUT", "/bkt/k", b"", x_amz_copy_source="/bkt/other", x_amz_checksum_crc32="AAAAAA=="),
    # aws-chunked: the checksum is in a trailer of the framed body
    req("PUT", "/bkt/k", b"5;chunk-signature=0\r\nhello\r\n", x_amz_content_sha256="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        x_amz_checksum_crc32="AAAAAA=="),
    # not S3, and not a body-carrying method
    req("POST", "/2015-03-31/functions", OTHER, service="lambda", content_md5=_md5(BODY)),
    req("GET", "/bkt/k", b"", x_amz_checksum_mode="ENABLED"),
], ids=["complete-multipart", "create-multipart", "copy", "aws-chunked", "lambda", "get"])
def test_requests_whose_body_the_headers_do_not_describe_are_left_alone(request_):
    assert s3_digests.refusal(request_) is None


def test_a_refused_body_is_neither_journaled_nor_stored(tmp_path, moto_reset):  # noqa: F811
    p = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    p.replay(0)
    assert p.call(req("PUT", "/bkt"), 0).status == 200
    refused = p.call(req("PUT", "/bkt/k", OTHER, x_amz_checksum_crc32=_sdk(Crc32Checksum, BODY)), 0)
    assert _code(refused)[:2] == (400, "BadDigest")
    assert wsgi.call_moto(req("HEAD", "/bkt/k"), 0).status == 404
    assert p.call(req("PUT", "/bkt/k", BODY, x_amz_checksum_crc32=_sdk(Crc32Checksum, BODY)), 0).status == 200
    p.close()
    moto_reset()
    again = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    assert again.replay(0).records == 2         # the bucket and the good PUT: the refused one was never written
    assert wsgi.call_moto(req("GET", "/bkt/k"), 0).body == BODY
    again.close()


def test_a_large_body_with_a_content_md5_is_hashed_once(tmp_path, moto_reset, monkeypatch):  # noqa: F811
    """The Content-MD5 checked is the ETag of the large PutObject (persist.py): one MD5 of the body, not two."""
    big = bytes(range(256)) * ((jn.BLOB_THRESHOLD // 256) + 3)
    p = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    p.replay(0)
    assert p.call(req("PUT", "/bkt"), 0).status == 200
    real_md5, sizes = hashlib.md5, []

    def md5(data=b"", **kw):
        sizes.append(len(data))
        return real_md5(data, **kw)

    monkeypatch.setattr(hashlib, "md5", md5)
    answer = p.call(req("PUT", "/bkt/big", big, content_md5=base64.b64encode(real_md5(big).digest()).decode()), 0)
    p.close()
    assert answer.status == 200 and dict(answer.headers)["ETag"] == f'"{real_md5(big).hexdigest()}"'
    assert sizes.count(len(big)) == 1


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with emulated.emulator(tmp_path_factory.mktemp("digests")) as status:
        client = emulated.clients(status.endpoint_url, services=("s3",))["s3"]
        client.create_bucket(Bucket="digest-bucket")
        yield client


def test_over_http_a_damaged_upload_is_refused_as_s3_refuses_it(s3):
    """A real daemon and boto3: the checksum the caller declares is checked, and a refused object is not there."""
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="digest-bucket", Key="rides.csv", Body=OTHER, ChecksumCRC32=_sdk(Crc32Checksum, BODY))
    assert refused.value.response["Error"]["Code"] == "BadDigest"
    assert refused.value.response["Error"]["Message"] == "The CRC32 you specified did not match the calculated checksum."
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="digest-bucket", Key="rides.csv")
    assert missing.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as invalid:
        s3.put_object(Bucket="digest-bucket", Key="rides.csv", Body=BODY, ContentMD5="bm90IGFuIG1kNQ==")
    assert invalid.value.response["Error"]["Code"] == "InvalidDigest"


def test_over_http_an_upload_its_checksum_describes_is_stored(s3):
    s3.put_object(Bucket="digest-bucket", Key="good.csv", Body=BODY, ChecksumSHA256=_sdk(Sha256Checksum, BODY))
    s3.put_object(Bucket="digest-bucket", Key="good-md5.csv", Body=BODY, ContentMD5=_md5(BODY))
    assert s3.get_object(Bucket="digest-bucket", Key="good.csv")["Body"].read() == BODY
    assert s3.get_object(Bucket="digest-bucket", Key="good-md5.csv")["Body"].read() == BODY
