"""Unpack a ``model.tar.gz`` as untrusted input: every byte read is bounded and every member checked.

Why its own module: a model archive comes from whoever can write to the data
bucket (or to a breed's ``latest.json``), so reading it must cost at most a
known amount of memory and time whatever the archive says. The standard
library's ``tarfile`` and ``zipfile`` stay the parsers; this module only
decides how much they may read:

- the compressed archive, the decompressed tar stream and the inner ZIP are
  each bounded, and decompression is streamed: a gzip bomb stops at
  ``MAX_UNPACKED_BYTES`` of output instead of inflating to gigabytes (tarfile
  reads GNU long names and pax headers whole, so the bound is on the stream
  itself, not only on declared member sizes);
- a member's *declared* size is checked before any of it is read, so a 2 GB
  padding member is refused at its header;
- the tar is walked to its end and *every* member is checked (count, path,
  type), not only those before ``model_algo-1``;
- the inner ZIP's central directory is sized from its end record before
  ``zipfile`` parses it (``zipfile`` builds one object per entry).

The bounds are sized from what linear-learner writes (see ``MAX_PARAM_VALUES``)
and leave a 128 MB function room to parse the model and serve it.
"""
from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib

MiB = 1024 * 1024

# What linear-learner writes: one weight per feature and a bias. The lean
# engine holds them in an array of doubles (artifact._decode), so 2^20 numbers
# (1M features + bias) cost 8 MiB; loading such a model peaks at ~55 MB and a
# full-width request at ~90 MB of a 128 MB function, everything included
# (benchmarks/bench_worker_memory.py --model-features; held by
# tests/function/test_wide_model_memory.py).
MAX_PARAM_VALUES = 1 << 20
# mx-mod-0000.params at that size: float64 at worst (float32 needs half), plus
# array headers and names (a few hundred bytes for linear-learner's two arrays).
MAX_PARAMS_BYTES = MAX_PARAM_VALUES * 8 + 64 * 1024
MAX_JSON_BYTES = 1 * MiB        # mx-mod-symbol.json, additional-params.json, manifest.json: a few KB each
MAX_ZIP_BYTES = 12 * MiB        # model_algo-1, and the sum of its members' declared sizes
MAX_ZIP_MEMBERS = 64            # linear-learner writes 4
MAX_ZIP_DIRECTORY_BYTES = 64 * 1024   # the ZIP's central directory: 64 entries with long names
MAX_TAR_MEMBERS = 64            # SageMaker writes 1
MAX_UNPACKED_BYTES = 16 * MiB   # the decompressed tar stream: headers and every member
MAX_ARCHIVE_BYTES = 16 * MiB    # model.tar.gz as stored (compressing floats gains little)

ALGO_MEMBER = "model_algo-1"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_END = b"PK\x05\x06"          # end of central directory record (22 bytes + comment)
_ZIP64_LOCATOR = b"PK\x06\x07"    # just before the end record in a ZIP64 archive
_CHUNK = 64 * 1024                # compressed bytes fed to zlib at a time
_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)


class ArtifactError(ValueError):
    """The archive is not a linear-learner model this reader understands.

    The message names the member, field or op at fault.
    """


def _mib(size: int) -> str:
    return f"{size / MiB:g} MiB"


def safe_member_name(name: str) -> bool:
    """Reject absolute paths and parent references (tar/zip slip)."""
    parts = name.replace("\\", "/").split("/")
    return not (name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0])


class _Inflated:
    """The decompressed tar stream as a file object that refuses to inflate past ``limit`` bytes.

    ``tarfile`` in stream mode (``r|``) only calls ``read``; decompressing here,
    ``max_length`` at a time, means no single call can inflate more than was
    asked for, and the running total is checked on every call. Concatenated
    gzip members (RFC 1952 allows them) are followed like ``gzip`` does.
    """

    def __init__(self, data: bytes, limit: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._limit = limit
        self.total = 0
        self._inflater = zlib.decompressobj(31) if data[:2] == _GZIP_MAGIC else None
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._limit + 1
        parts, have = [], 0
        while have < size:
            chunk = self._next(size - have)
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
            self.total += len(chunk)
            if self.total > self._limit:
                raise ArtifactError(f"model archive inflates to more than {_mib(self._limit)}; "
                                    "a linear-learner model.tar.gz is far smaller")
        return b"".join(parts)

    def finish(self) -> None:
        """Read to the end of the gzip stream, so that a truncated or corrupt tail (and its CRC) is noticed.

        tarfile stops at the end-of-archive block; the record padding and the
        gzip trailer after it are still part of the file.
        """
        while self.read(_CHUNK):
            pass

    def _next(self, want: int) -> bytes:
        if self._inflater is None:  # a plain tar: already bounded by MAX_ARCHIVE_BYTES
            chunk = bytes(self._data[self._pos:self._pos + want])
            self._pos += len(chunk)
            return chunk
        while not self._ended:
            inflater = self._inflater
            if inflater.eof:
                self._start_next_member(inflater)
                continue
            source: bytes | memoryview
            if inflater.unconsumed_tail:
                source = inflater.unconsumed_tail
            else:
                source = self._data[self._pos:self._pos + _CHUNK]
                self._pos += len(source)
                if not source:
                    raise ArtifactError("model archive is truncated (the gzip stream ends early)")
            try:
                out = inflater.decompress(source, want)
            except zlib.error as exc:
                raise ArtifactError(f"model archive is corrupt ({exc})") from None
            if out:
                return out
        return b""

    def _start_next_member(self, finished) -> None:
        """After one gzip member: the next one, or the end (trailing zero padding is allowed)."""
        self._pos -= len(finished.unused_data)
        rest = bytes(self._data[self._pos:self._pos + 2])
        if rest[:2] == _GZIP_MAGIC:
            self._inflater = zlib.decompressobj(31)
        else:
            self._ended = True


def _checked_member(member: tarfile.TarInfo, count: int, declared: int) -> str:
    """The member's name without leading ``./``, after checking count, path, type and size."""
    if count > MAX_TAR_MEMBERS:
        raise ArtifactError(f"model archive has more than {MAX_TAR_MEMBERS} members; "
                            f"SageMaker writes one ({ALGO_MEMBER})")
    if not safe_member_name(member.name):
        raise ArtifactError(f"model archive has an unsafe member path {member.name!r}")
    name = member.name
    while name.startswith("./"):
        name = name[2:]
    if not (member.type in _FILE_TYPES or member.isdir()):
        what = "a link" if member.issym() or member.islnk() else f"of tar type {member.type!r}"
        if name == ALGO_MEMBER:
            raise ArtifactError(f"{ALGO_MEMBER} in the model archive is not a regular file ({what})")
        raise ArtifactError(f"model archive member {member.name!r} is not a regular file or directory ({what})")
    if name == ALGO_MEMBER and member.size > MAX_ZIP_BYTES:
        raise ArtifactError(f"{ALGO_MEMBER} declares {member.size:,} bytes; the limit is {_mib(MAX_ZIP_BYTES)}")
    if declared > MAX_UNPACKED_BYTES:
        raise ArtifactError(f"model archive members declare {declared:,} bytes (at {member.name!r}); "
                            f"the limit is {_mib(MAX_UNPACKED_BYTES)}")
    return name


def unpack_tar(data: bytes) -> bytes:
    """Return the ``model_algo-1`` bytes of a model.tar.gz (or plain tar), checking every member."""
    if not data:
        raise ArtifactError("model archive is empty (0 bytes)")
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ArtifactError(f"model archive is {len(data):,} bytes; the limit is {_mib(MAX_ARCHIVE_BYTES)}")
    stream = _Inflated(data, MAX_UNPACKED_BYTES)
    algo: bytes | None = None
    names: list[str] = []
    count = declared = 0
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")  # type: ignore[call-overload]
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArtifactError(f"model archive is not a readable tar.gz ({exc})") from None
    with archive:
        try:
            for member in archive:
                count += 1
                declared += member.size
                name = _checked_member(member, count, declared)
                names.append(member.name)
                if name != ALGO_MEMBER or member.isdir():
                    continue
                if algo is not None:
                    raise ArtifactError(f"model archive has two {ALGO_MEMBER} members")
                extracted = archive.extractfile(member)
                algo = extracted.read(member.size) if extracted is not None else b""
                if len(algo) != member.size:
                    raise ArtifactError(f"model archive is truncated inside {ALGO_MEMBER}")
            stream.finish()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArtifactError(f"model archive is truncated or corrupt ({exc})") from None
    if algo is None:
        found = ", ".join(names[:5]) or "nothing"
        raise ArtifactError(f"model archive has no {ALGO_MEMBER} member (found {found}); "
                            "is this a SageMaker linear-learner output/model.tar.gz?")
    return algo


def _check_zip_directory(data: bytes) -> None:
    """Size the central directory from the end record before ``zipfile`` builds an object per entry.

    Found as ``zipfile`` finds it: the last 22 bytes, else the last end
    signature within a maximal comment. ZIP64 is refused: linear-learner's
    ZIP is a few MB at most.
    """
    at = len(data) - 22
    if at < 0 or data[at:at + 4] != _ZIP_END:
        at = data.rfind(_ZIP_END, max(0, len(data) - 22 - 65535))
        if at < 0 or len(data) - at < 22:
            raise ArtifactError(f"{ALGO_MEMBER} is not a ZIP archive (no end of central directory)")
    entries, directory_size = struct.unpack_from("<HI", data, at + 10)
    if at >= 20 and data[at - 20:at - 16] == _ZIP64_LOCATOR:
        raise ArtifactError(f"{ALGO_MEMBER} is a ZIP64 archive; linear-learner writes a plain ZIP")
    if entries > MAX_ZIP_MEMBERS:
        raise ArtifactError(f"{ALGO_MEMBER} has {entries} entries; the limit is {MAX_ZIP_MEMBERS}")
    if directory_size > MAX_ZIP_DIRECTORY_BYTES:
        raise ArtifactError(f"{ALGO_MEMBER}'s directory is {directory_size:,} bytes; "
                            f"the limit is {MAX_ZIP_DIRECTORY_BYTES:,}")


def unpack_zip(data: bytes, wanted: dict[str, int]) -> dict[str, bytes]:
    """The members of the inner ZIP named in ``wanted`` (base name -> byte limit), each read bounded.

    Every entry's path is checked and declared sizes are summed; members not
    wanted are not decompressed at all.
    """
    _check_zip_directory(data)
    try:
        inner = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ArtifactError(f"{ALGO_MEMBER} is not a ZIP archive ({exc})") from None
    files: dict[str, bytes] = {}
    with inner:
        infos = inner.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:  # zipfile reads the directory by size, not by the count
            raise ArtifactError(f"{ALGO_MEMBER} has {len(infos)} entries; the limit is {MAX_ZIP_MEMBERS}")
        declared = 0
        for info in infos:
            if not safe_member_name(info.filename):
                raise ArtifactError(f"{ALGO_MEMBER} has an unsafe member path {info.filename!r}")
            declared += info.file_size
            if declared > MAX_ZIP_BYTES:
                raise ArtifactError(f"{ALGO_MEMBER}'s members declare more than {_mib(MAX_ZIP_BYTES)} "
                                    f"(at {info.filename!r})")
        for info in infos:
            base = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or base not in wanted:
                continue
            limit = wanted[base]
            if info.file_size > limit:
                raise ArtifactError(f"{info.filename} declares {info.file_size:,} bytes; "
                                    f"the limit is {limit:,}")
            try:
                with inner.open(info) as member:
                    files[base] = member.read(limit + 1)
            except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError) as exc:
                raise ArtifactError(f"{info.filename} in {ALGO_MEMBER} is corrupt ({exc})") from None
            if len(files[base]) > limit:  # zipfile stops at the declared size; belt and braces
                raise ArtifactError(f"{info.filename} is larger than {limit:,} bytes")
    return files
