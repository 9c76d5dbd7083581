"""A training job's Downloading links the journal's blob of a channel object instead of copying it
out of moto: only while that blob holds the object's bytes, read-only, and never by writing through
a file that may be a blob's link."""
from __future__ import annotations

import hashlib
import os
import stat

import pytest
from test_persist import moto_reset, req  # noqa: F401  (the fixture is used by name)

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import moto_backends, persist, wsgi

ACCOUNT = "123456789012"
BIG = bytes(range(256)) * ((jn.BLOB_THRESHOLD // 256) + 40)
OTHER = b"o" * (jn.BLOB_THRESHOLD + 7)


def _live(tmp_path) -> persist.Persistence:
    p = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    p.replay(0)
    assert p.call(req("PUT", "/channels"), 0).status == 200
    return p


def _blob(tmp_path, body: bytes):
    return tmp_path / "j" / "blobs" / hashlib.sha256(body).hexdigest()


def test_a_journaled_put_is_linked_read_only_not_copied(tmp_path, moto_reset):  # noqa: F811
    p = _live(tmp_path)
    assert p.call(req("PUT", "/channels/train/part-0", BIG), 0).status == 200
    dest = tmp_path / "job" / "part-0"
    dest.parent.mkdir()
    assert moto_backends.copy_s3_object(ACCOUNT, "channels", "train/part-0", dest) == len(BIG)
    p.close()
    assert dest.read_bytes() == BIG
    assert os.path.samefile(dest, _blob(tmp_path, BIG))
    assert stat.S_IMODE(dest.stat().st_mode) == 0o400


def test_an_object_replaced_another_way_is_copied_and_the_old_blob_is_untouched(tmp_path, moto_reset):  # noqa: F811
    """A tagged PUT is not the plain shape (no blob is remembered for it): the new bytes are copied,
    and a link to the old blob already at the destination is replaced, not written through."""
    p = _live(tmp_path)
    assert p.call(req("PUT", "/channels/k", BIG), 0).status == 200
    dest = tmp_path / "k"
    moto_backends.copy_s3_object(ACCOUNT, "channels", "k", dest)
    assert p.call(req("PUT", "/channels/k", OTHER, x_amz_tagging="a=b"), 0).status == 200
    assert moto_backends.copy_s3_object(ACCOUNT, "channels", "k", dest) == len(OTHER)
    p.close()
    assert dest.read_bytes() == OTHER and not os.path.samefile(dest, _blob(tmp_path, BIG))
    assert _blob(tmp_path, BIG).read_bytes() == BIG


def test_the_link_is_known_again_after_a_restart(tmp_path, moto_reset):  # noqa: F811
    p = _live(tmp_path)
    assert p.call(req("PUT", "/channels/k", BIG), 0).status == 200
    p.close()
    moto_reset()
    again = persist.Persistence(jn.Journal(tmp_path / "j"), call=wsgi.call_moto)
    assert again.replay(0).failed == 0
    dest = tmp_path / "k"
    assert moto_backends.copy_s3_object(ACCOUNT, "channels", "k", dest) == len(BIG)
    again.close()
    assert os.path.samefile(dest, _blob(tmp_path, BIG))


def test_a_file_of_another_size_is_not_taken_for_the_object(tmp_path, moto_reset):  # noqa: F811
    p = _live(tmp_path)
    assert p.call(req("PUT", "/channels/k", BIG), 0).status == 200
    p.close()
    wrong = tmp_path / "wrong"
    wrong.write_bytes(b"x")
    assert not moto_backends.remember_object_file("AKIDEXAMPLE", "us-east-1", "channels", "k", wrong, 1)
    assert not moto_backends.remember_object_file("AKIDEXAMPLE", "us-east-1", "channels", "missing", wrong, 1)


def test_a_blob_removed_since_is_copied_from_moto(tmp_path, moto_reset):  # noqa: F811
    p = _live(tmp_path)
    assert p.call(req("PUT", "/channels/k", BIG), 0).status == 200
    p.close()
    _blob(tmp_path, BIG).unlink()
    dest = tmp_path / "k"
    assert moto_backends.copy_s3_object(ACCOUNT, "channels", "k", dest) == len(BIG)
    assert dest.read_bytes() == BIG and stat.S_IMODE(dest.stat().st_mode) != 0o400


@pytest.mark.parametrize("missing", [("nobucket", "k"), ("channels", "nokey")])
def test_a_missing_object_is_none(tmp_path, moto_reset, missing):  # noqa: F811
    _live(tmp_path).close()
    assert moto_backends.copy_s3_object(ACCOUNT, *missing, tmp_path / "x") is None


def test_what_the_cli_sends_for_a_channel_object_is_linked_and_hashed_ahead(tmp_path, moto_reset, monkeypatch):  # noqa: F811
    """The PutObject the CLI's own client sends to the local target (its headers: Content-Type, Expect,
    no CRC32) is of the plain shape: its MD5 is computed before the lock and its blob is linked."""
    from botocore.config import Config
    from test_auth import captured

    from wildrydes_cli.aws.target import LocalTarget

    request = captured("s3", lambda c: c.put_object(Bucket="channels", Key="training/job/train/part-00000.pbr",
                                                    Body=BIG, ContentType="application/x-recordio-protobuf"),
                       "AKIDEXAMPLE", "secret", config=Config(**LocalTarget.checksums))
    assert request.header("expect") and request.header("content-type") and not request.header("x-amz-checksum-crc32")
    hashed: list[int] = []
    real_md5 = hashlib.md5
    monkeypatch.setattr(persist.hashlib, "md5", lambda data=b"", **kw: hashed.append(len(data)) or real_md5(data, **kw))
    p = _live(tmp_path)
    assert p.call(request, 0).status == 200
    dest = tmp_path / "part"
    assert moto_backends.copy_s3_object(ACCOUNT, "channels", "training/job/train/part-00000.pbr", dest) == len(BIG)
    p.close()
    assert hashed == [len(BIG)]
    assert os.path.samefile(dest, _blob(tmp_path, BIG))
