"""S3 requests -> IAM actions, resources and condition keys, on requests exactly as botocore sends them.

The mapping is S3's ("Actions, resources, and condition keys for Amazon S3" and
its API-operations table): GetObject and HeadObject need s3:GetObject (with a
version: s3:GetObjectVersion), ListObjects(V2) and HeadBucket need
s3:ListBucket on the bucket, with s3:prefix/s3:delimiter/s3:max-keys on list
requests only, CopyObject needs s3:GetObject on the source too, DeleteObjects
s3:DeleteObject per key.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import boto3
import pytest

from wildrydes_cli.local.awsapi import s3_actions

HOST = "127.0.0.1:4566"


class _Captured(Exception):
    pass


def classify(call, host: str = HOST) -> s3_actions.S3Call:
    client = boto3.client("s3", endpoint_url=f"http://{HOST}", region_name="us-east-1",
                          aws_access_key_id="k", aws_secret_access_key="s")
    holder = {}

    def grab(request, **_):
        holder["request"] = request
        raise _Captured()

    client.meta.events.register("before-send", grab)
    with pytest.raises(_Captured):
        call(client)
    prepared = holder["request"]
    parts = urlsplit(prepared.url)
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()}
    headers["host"] = host
    body = prepared.body or b""
    if hasattr(body, "read"):
        body = body.read()
    return s3_actions.classify(prepared.method, parts.path, parts.query, headers,
                               body.encode() if isinstance(body, str) else body, "us-east-1")


B = "arn:aws:s3:::data"


def test_object_reads():
    get = classify(lambda c: c.get_object(Bucket="data", Key="a b/c+d.tar.gz"))
    assert get.checks == (("s3:GetObject", f"{B}/a b/c+d.tar.gz"),) and get.keys == {} and get.missing_key_is_403
    assert get.bucket == "data" and get.bucket_arn == B and get.key == "a b/c+d.tar.gz"
    head = classify(lambda c: c.head_object(Bucket="data", Key="k"))
    assert head.checks == (("s3:GetObject", f"{B}/k"),) and head.missing_key_is_403
    versioned = classify(lambda c: c.get_object(Bucket="data", Key="k", VersionId="v1"))
    assert versioned.checks == (("s3:GetObjectVersion", f"{B}/k"),) and versioned.keys == {"s3:versionid": ("v1",)}
    ranged = classify(lambda c: c.get_object(Bucket="data", Key="k", Range="bytes=0-9", ResponseContentType="x/y"))
    assert ranged.checks == (("s3:GetObject", f"{B}/k"),)
    tags = classify(lambda c: c.get_object_tagging(Bucket="data", Key="k"))
    assert tags.checks == (("s3:GetObjectTagging", f"{B}/k"),) and not tags.missing_key_is_403


def test_listings_carry_the_prefix_keys_and_nothing_else_does():
    listing = classify(lambda c: c.list_objects_v2(Bucket="data", Prefix="breeds/", Delimiter="/", MaxKeys=5))
    assert listing.checks == (("s3:ListBucket", B),)
    assert listing.keys == {"s3:prefix": ("breeds/",), "s3:delimiter": ("/",), "s3:max-keys": ("5",)}
    assert classify(lambda c: c.list_objects(Bucket="data", Prefix="x")).keys == {"s3:prefix": ("x",)}
    assert classify(lambda c: c.list_objects_v2(Bucket="data")).keys == {}      # no prefix sent: no s3:prefix
    head = classify(lambda c: c.head_bucket(Bucket="data"))
    assert head.checks == (("s3:ListBucket", B),) and head.keys == {}
    versions = classify(lambda c: c.list_object_versions(Bucket="data", Prefix="p"))
    assert versions.checks == (("s3:ListBucketVersions", B),) and versions.keys == {"s3:prefix": ("p",)}
    assert classify(lambda c: c.list_buckets()).checks == (("s3:ListAllMyBuckets", "*"),)
    assert classify(lambda c: c.get_bucket_location(Bucket="data")).checks == (("s3:GetBucketLocation", B),)


def test_writes_copies_and_deletes():
    put = classify(lambda c: c.put_object(Bucket="data", Key="k", Body=b"x", Tagging="a=b", ACL="private"))
    assert put.checks == (("s3:PutObject", f"{B}/k"), ("s3:PutObjectTagging", f"{B}/k"),
                          ("s3:PutObjectAcl", f"{B}/k"))
    copy = classify(lambda c: c.copy_object(Bucket="data", Key="new", CopySource={"Bucket": "src", "Key": "old k"}))
    assert copy.checks == (("s3:GetObject", "arn:aws:s3:::src/old k"), ("s3:PutObject", f"{B}/new"))
    copy_version = classify(lambda c: c.copy_object(Bucket="data", Key="new",
                                                    CopySource={"Bucket": "src", "Key": "k", "VersionId": "v"}))
    assert copy_version.checks[0] == ("s3:GetObjectVersion", "arn:aws:s3:::src/k")
    delete = classify(lambda c: c.delete_object(Bucket="data", Key="k"))
    assert delete.checks == (("s3:DeleteObject", f"{B}/k"),) and not delete.missing_key_is_403
    many = classify(lambda c: c.delete_objects(Bucket="data", Delete={"Objects": [
        {"Key": "a"}, {"Key": "b", "VersionId": "v"}]}))
    assert many.checks == (("s3:DeleteObject", f"{B}/a"), ("s3:DeleteObjectVersion", f"{B}/b"))
    assert classify(lambda c: c.create_multipart_upload(Bucket="data", Key="k")).checks == (("s3:PutObject", f"{B}/k"),)
    part = classify(lambda c: c.upload_part(Bucket="data", Key="k", UploadId="u", PartNumber=1, Body=b"x"))
    assert part.checks == (("s3:PutObject", f"{B}/k"),)
    abort = classify(lambda c: c.abort_multipart_upload(Bucket="data", Key="k", UploadId="u"))
    assert abort.checks == (("s3:AbortMultipartUpload", f"{B}/k"),)
    assert classify(lambda c: c.put_bucket_policy(Bucket="data", Policy="{}")).checks == (("s3:PutBucketPolicy", B),)
    assert classify(lambda c: c.delete_bucket(Bucket="data")).checks == (("s3:DeleteBucket", B),)


def test_what_is_not_known_is_unclassified():
    with pytest.raises(s3_actions.Unclassified, match="analytics"):
        classify(lambda c: c.get_bucket_analytics_configuration(Bucket="data", Id="x"))
    with pytest.raises(s3_actions.Unclassified, match="virtual-hosted"):
        classify(lambda c: c.get_object(Bucket="data", Key="k"), host="data.s3.example.com")
    with pytest.raises(s3_actions.Unclassified, match="DTD"):
        s3_actions.classify("POST", "/data", "delete", {}, b"<!DOCTYPE x><Delete/>", "us-east-1")
    with pytest.raises(s3_actions.Unclassified, match="not XML"):
        s3_actions.classify("POST", "/data", "delete", {}, b"<Delete", "us-east-1")


def test_path_style_hosts_and_partitions():
    for host in ("127.0.0.1:4566", "localhost:4566", "[::1]:4566", "emulator"):
        assert classify(lambda c: c.get_object(Bucket="data", Key="k"), host=host).bucket == "data"
    china = s3_actions.classify("GET", "/data/k", "", {"host": HOST}, b"", "cn-north-1")
    assert china.checks == (("s3:GetObject", "arn:aws-cn:s3:::data/k"),)
