"""Model archives are untrusted input: bombs, huge members, many members, late bad members.

The hostile archives are built here, cheaply: gzip allows concatenated members,
so "1 GiB of zeros" is ~1 KiB of gzip repeated; headers are written with
tarfile's own ``TarInfo.tobuf``; nothing large is ever written to disk.
tracemalloc shows the reader's peak memory stays near the bounds, whatever
the archive claims.
"""
from __future__ import annotations

import gzip
import io
import struct
import tarfile
import tracemalloc
import zipfile
import zlib

import archive
import artifact
import pytest
from lambda_helpers import WORKSHOP_WEIGHTS, workshop_archive

MiB = 1024 * 1024
_ZEROS_MIB_GZ = gzip.compress(b"\0" * MiB, compresslevel=9, mtime=0)   # ~1 KiB of gzip
_TAR_END = b"\0" * 1024


def _header(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, fmt=tarfile.GNU_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=fmt)


def _pad(size: int) -> bytes:
    return b"\0" * (-size % 512)


def _member(name: str, data: bytes) -> bytes:
    return _header(name, len(data)) + data + _pad(len(data))


def _algo() -> bytes:
    """The tar member model_algo-1 of a good model, as raw tar bytes."""
    with tarfile.open(fileobj=io.BytesIO(workshop_archive()), mode="r:gz") as tar:
        data = tar.extractfile("model_algo-1").read()
    return _member("model_algo-1", data)


def _gz(*parts: bytes) -> bytes:
    return gzip.compress(b"".join(parts), mtime=0)


def _zeros_gz(mib: int) -> bytes:
    """gzip members that inflate to ``mib`` MiB of zeros, for ~1 KiB each."""
    return _ZEROS_MIB_GZ * mib


def _peak(call) -> tuple[int, Exception | None]:
    """(peak bytes Python allocated, the exception raised) while running ``call``."""
    tracemalloc.start()
    try:
        call()
        error = None
    except Exception as exc:  # noqa: BLE001 - returned for the test to check
        error = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, error


# -------------------------------------------------------------- the bounds


def test_bounds_are_sized_from_what_linear_learner_writes():
    assert archive.MAX_PARAM_VALUES >= 1_000_000 + 1                    # 1M features and a bias
    assert archive.MAX_PARAMS_BYTES >= archive.MAX_PARAM_VALUES * 8      # even as float64
    assert archive.MAX_ZIP_BYTES >= archive.MAX_PARAMS_BYTES + 3 * archive.MAX_JSON_BYTES
    assert archive.MAX_UNPACKED_BYTES >= archive.MAX_ZIP_BYTES + archive.MAX_TAR_MEMBERS * 1024
    # and stay well inside a 128 MB function: archive + tar stream + zip + params + decoded floats
    peak = (archive.MAX_ARCHIVE_BYTES + archive.MAX_ZIP_BYTES + archive.MAX_PARAMS_BYTES
            + 32 * archive.MAX_PARAM_VALUES)
    assert peak < 80 * MiB


def test_a_model_with_1m_features_is_read_and_one_more_number_is_refused():
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    dimension = archive.MAX_PARAM_VALUES - 1       # + the bias = exactly the limit
    data = write_model_archive([0.5] * dimension, 0.25, "regressor")
    model = artifact.read_model_archive(data)
    assert model.dimension == dimension and model.bias == 0.25
    too_many = write_model_archive([0.5] * (dimension + 1), 0.25, "regressor")
    with pytest.raises(artifact.ArtifactError, match=r"mx-mod-0000.params holds more than 1,048,576 numbers"):
        artifact.read_model_archive(too_many)


def test_params_that_claim_a_huge_array_are_refused_before_decoding():
    params = struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Iii", 0xF993FAC9, 0, 2)
    params += struct.pack("<qq", 1 << 40, 1) + struct.pack("<iii", 1, 0, 3)   # uint8, no data
    with pytest.raises(artifact.ArtifactError, match=r"more than 1,048,576 numbers \(an array of shape"):
        artifact.parse_params(params)


def test_a_compressed_archive_over_the_limit_is_refused_unread():
    data = b"\x1f\x8b" + b"\0" * archive.MAX_ARCHIVE_BYTES
    with pytest.raises(artifact.ArtifactError, match=r"model archive is 16,777,218 bytes; the limit is 16 MiB"):
        artifact.read_model_archive(data)


def test_an_empty_file_says_so():
    with pytest.raises(artifact.ArtifactError, match=r"model archive is empty \(0 bytes\)"):
        artifact.read_model_archive(b"")


@pytest.mark.parametrize("cut", [1, 8, 9, 100, 400])
def test_a_truncated_archive_is_refused_even_when_the_model_is_complete(cut):
    """The last bytes are gzip's CRC and length: reading stops only at the end of the stream."""
    data = workshop_archive()
    with pytest.raises(artifact.ArtifactError, match="truncated"):
        artifact.read_model_archive(data[:-cut])


def test_a_corrupt_byte_is_refused():
    data = bytearray(workshop_archive())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(artifact.ArtifactError, match="corrupt|truncated|not a"):
        artifact.read_model_archive(bytes(data))


# --------------------------------------------------------------- the bombs


def test_gzip_bomb_stops_at_the_unpacked_limit_without_inflating_it():
    """A GNU long-name header tarfile would read whole: 1 GiB of zeros in ~1 MiB of gzip."""
    bomb = _gz(_header("././@LongLink", 1024 * MiB, tarfile.GNUTYPE_LONGNAME)) + _zeros_gz(1024)
    assert len(bomb) < 2 * MiB
    peak, error = _peak(lambda: artifact.read_model_archive(bomb))
    assert isinstance(error, artifact.ArtifactError)
    assert "model archive inflates to more than 16 MiB" in str(error)
    assert peak < 3 * archive.MAX_UNPACKED_BYTES


def test_padding_member_declared_at_2_gb_is_refused_at_its_header():
    """After a good model_algo-1: the padding's 2 GiB of zeros are never inflated."""
    bomb = _gz(_algo(), _header("padding", 2048 * MiB)) + _zeros_gz(2048) + _gz(_TAR_END)
    assert len(bomb) < 4 * MiB
    with tarfile.open(fileobj=io.BytesIO(bomb), mode="r|gz") as oracle:   # a real tar, says tarfile
        headers = [(m.name, m.size) for _, m in zip(range(2), oracle)]
    assert headers[0][0] == "model_algo-1" and headers[1] == ("padding", 2048 * MiB)
    peak, error = _peak(lambda: artifact.read_model_archive(bomb))
    assert isinstance(error, artifact.ArtifactError)
    assert "model archive members declare 2,147," in str(error) and "'padding'" in str(error)
    assert peak < 2 * archive.MAX_UNPACKED_BYTES


def test_model_algo_declared_over_its_limit_is_refused_at_its_header():
    bomb = _gz(_header("model_algo-1", 100 * MiB)) + _zeros_gz(100) + _gz(_TAR_END)
    with pytest.raises(artifact.ArtifactError, match=r"model_algo-1 declares 104,857,600 bytes; the limit is 12 MiB"):
        artifact.read_model_archive(bomb)


def test_300000_members_are_refused_after_the_member_limit():
    """A good model first, then 300,000 empty members (150 MB of headers in ~1.6 MB of gzip: level 1
    compresses them in a fifth of level 9's time, for 2.4 times its ~670 KB)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    pads = _header("pad") * 10_000
    chunks = [compressor.compress(_algo())] + [compressor.compress(pads) for _ in range(30)]
    bomb = b"".join(chunks) + compressor.compress(_TAR_END) + compressor.flush()
    with tarfile.open(fileobj=io.BytesIO(bomb), mode="r|gz") as oracle:
        names = [m.name for _, m in zip(range(100), oracle)]
    assert names[0] == "model_algo-1" and names[1:] == ["pad"] * 99
    peak, error = _peak(lambda: artifact.read_model_archive(bomb))
    assert isinstance(error, artifact.ArtifactError)
    assert "model archive has more than 64 members; SageMaker writes one (model_algo-1)" in str(error)
    assert peak < 8 * MiB


@pytest.mark.parametrize("late, message", [
    (_header("../evil"), "unsafe member path '../evil'"),
    (_header("/etc/cron.d/x"), "unsafe member path '/etc/cron.d/x'"),
    (_header("link", kind=tarfile.SYMTYPE), "member 'link' is not a regular file or directory (a link)"),
    (_header("dev", kind=tarfile.CHRTYPE), "member 'dev' is not a regular file or directory (of tar type b'3')"),
    (_member("model_algo-1", b"again"), "two model_algo-1 members"),
])
def test_every_member_is_checked_not_only_those_before_the_model(late, message):
    data = _gz(_algo(), _member("notes.txt", b"fine"), late, _TAR_END)
    with pytest.raises(artifact.ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        artifact.read_model_archive(data)


def test_directories_and_dot_slash_names_are_fine():
    algo = _algo()
    data = _gz(_header("./", kind=tarfile.DIRTYPE), b"".join([_header("./model_algo-1", len(algo) - 512)]),
               algo[512:], _TAR_END)
    assert artifact.read_model_archive(data).dimension == len(WORKSHOP_WEIGHTS)


def test_a_plain_uncompressed_tar_is_read_too():
    assert artifact.read_model_archive(_algo() + _TAR_END).dimension == len(WORKSHOP_WEIGHTS)


# ------------------------------------------------------------ the inner ZIP


def _inner(members: dict[str, bytes], **kwargs) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", **kwargs) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _with_inner(inner: bytes) -> bytes:
    return _gz(_member("model_algo-1", inner), _TAR_END)


def _good_members() -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(workshop_archive()), mode="r:gz") as tar:
        inner = tar.extractfile("model_algo-1").read()
    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_zip_with_too_many_entries_is_refused_before_zipfile_reads_its_directory():
    members = dict(_good_members(), **{f"x{i}": b"" for i in range(100)})
    with pytest.raises(artifact.ArtifactError, match="model_algo-1 has 104 entries; the limit is 64"):
        artifact.read_model_archive(_with_inner(_inner(members)))


def test_zip_whose_directory_is_oversized_is_refused():
    members = dict(_good_members(), **{"n" * 2000 + str(i): b"" for i in range(40)})
    with pytest.raises(artifact.ArtifactError, match=r"model_algo-1's directory is [\d,]+ bytes; the limit is 65,536"):
        artifact.read_model_archive(_with_inner(_inner(members)))


def test_zip_deflate_bomb_member_is_refused_by_its_declared_size():
    members = dict(_good_members(), **{"mx-mod-symbol.json": b" " * (2 * MiB)})
    data = _with_inner(_inner(members, compression=zipfile.ZIP_DEFLATED))
    with pytest.raises(artifact.ArtifactError, match="mx-mod-symbol.json declares 2,097,152 bytes; the limit is 1,048,576"):
        artifact.read_model_archive(data)


def test_zip_members_declaring_more_than_the_zip_limit_are_refused():
    members = dict(_good_members(), **{f"junk{i}": b"\0" * (4 * MiB) for i in range(4)})
    data = _with_inner(_inner(members, compression=zipfile.ZIP_DEFLATED))
    with pytest.raises(artifact.ArtifactError, match=r"model_algo-1's members declare more than 12 MiB \(at 'junk"):
        artifact.read_model_archive(data)


def test_zip64_is_refused():
    """A ZIP64 locator sits just before the end record; zipfile would then trust the ZIP64 counts."""
    inner = _inner(_good_members())
    inner = inner[:-22] + b"PK\x06\x07" + b"\0" * 16 + inner[-22:]
    with pytest.raises(artifact.ArtifactError, match="model_algo-1 is a ZIP64 archive"):
        artifact.read_model_archive(_with_inner(inner))


@pytest.mark.parametrize("comment", [b"", b"hello", b"x" * 65535])
def test_zip_directory_check_reads_the_end_record_as_zipfile_does(comment):
    """zipfile is the oracle: a ZIP it reads passes the check when its entries are within the limit."""
    for count in (0, 1, 4, archive.MAX_ZIP_MEMBERS):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for i in range(count):
                zf.writestr(f"m{i}", b"x")
            zf.comment = comment
        data = out.getvalue()
        assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == count
        archive._check_zip_directory(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i in range(archive.MAX_ZIP_MEMBERS + 1):
            zf.writestr(f"m{i}", b"x")
        zf.comment = comment
    with pytest.raises(artifact.ArtifactError, match="65 entries"):
        archive._check_zip_directory(out.getvalue())


def test_deeply_nested_json_member_is_a_bad_member_not_a_crash():
    members = dict(_good_members(), **{"mx-mod-symbol.json": b"[" * 100_000})
    with pytest.raises(artifact.ArtifactError, match="mx-mod-symbol.json is not an MXNet graph .*nested too deeply"):
        artifact.read_model_archive(_with_inner(_inner(members)))


def test_weights_that_are_not_finite_are_refused(unchecked_archive):
    """What a diverged training saves: float32 infinity in the weights or the bias."""
    inf = float("inf")
    with pytest.raises(artifact.ArtifactError, match="weight fc0_weight holds values that are not finite"):
        artifact.read_model_archive(unchecked_archive([1.0, inf, 1.0], 0.0))
    with pytest.raises(artifact.ArtifactError, match=r"bias fc0_bias is not a finite number \(inf\)"):
        artifact.read_model_archive(unchecked_archive([1.0, 1.0, 1.0], inf))


def test_inline_breed_model_goes_through_the_same_bounds(function_bucket):
    """A breed's latest.json may carry its model inline: a bomb there is a 503 naming the bound."""
    import base64
    import hashlib
    import json

    import index
    from lambda_helpers import BUCKET, answer, event

    bomb = _gz(_header("././@LongLink", 64 * MiB, tarfile.GNUTYPE_LONGNAME)) + _zeros_gz(64)
    key = "breeds/bomb/linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"
    function_bucket.put_object(Bucket=BUCKET, Key="breeds/bomb/latest.json", Body=json.dumps({
        "key": key, "sha256": hashlib.sha256(bomb).hexdigest(), "model_base64": base64.b64encode(bomb).decode()}))
    status, body = answer(index.handler(event("GET", path="/breeds/bomb"), None))
    assert status == 503
    assert body["error"] == (f"model s3://{BUCKET}/{key} cannot be served: model archive inflates to more than "
                             "16 MiB; a linear-learner model.tar.gz is far smaller")


def test_an_s3_object_over_the_archive_limit_is_not_read_whole(function_bucket, monkeypatch):
    import index
    from lambda_helpers import BUCKET, answer, event

    key = "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"
    monkeypatch.setenv("MODEL_PATH", key)
    function_bucket.put_object(Bucket=BUCKET, Key=key, Body=b"\x1f\x8b" + b"\0" * archive.MAX_ARCHIVE_BYTES)
    status, body = answer(index.handler(event("GET"), None))
    assert status == 503 and body["error"] == f"s3://{BUCKET}/{key} is larger than 16777216 bytes"


def test_a_plain_tar_cut_inside_model_algo_is_truncated():
    data = _header("model_algo-1", 4096) + b"x" * 100
    with pytest.raises(artifact.ArtifactError, match="model archive is truncated"):
        artifact.read_model_archive(data)
