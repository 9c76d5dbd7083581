"""The journal's blobs: large bodies kept as ``blobs/<sha256>`` files, written durably, checked when read.

Why a module of their own: a blob can be written before the request that carries
it is applied (``Persistence`` stages a large PutObject's blob while moto stores
the object, since hashing, writing and fsyncing release the GIL), so writing one
is a step of its own, with what undoing it safely means (``StagedBlob.new``),
apart from the frame that later names it (``journal.py``).

Durability order, as ``journal.py`` states it: the blob is written to a temp file,
fsynced, renamed to its digest and its directory fsynced before any frame names
it. A blob that no frame names (the request failed, or a crash came between) is
removed: at once by ``discard``, or at the next ``open``.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedBlob:
    """A body written durably as a blob before its frame; ``new``: no file had this name before."""

    digest: str
    size: int
    new: bool


def read_blob(blobs: Path, digest: str) -> bytes:
    data = (blobs / digest).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise OSError(f"blob {digest} does not match its digest")
    return data


def blob_intact(path: Path, digest: str, size: int | None = None) -> bool:
    """Whether the file holds exactly the bytes its name (their SHA-256) promises; read in chunks."""
    try:
        if size is not None and path.stat().st_size != size:
            return False
        sha = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                sha.update(chunk)
    except OSError:
        return False
    return sha.hexdigest() == digest


def fsync_dir(path: Path, fsync: Callable[[int], None]) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_blob(blobs: Path, body: bytes, fsync: Callable[[int], None], digest: str | None = None) -> StagedBlob:
    """The body durable on disk under its digest (an intact existing blob is reused); raises OSError.

    ``digest``: the body's SHA-256 when the caller already computed it from these very bytes (the
    SigV4 gate checks every signed body's hash): not computed again."""
    digest = digest or hashlib.sha256(body).hexdigest()
    final = blobs / digest
    existed = final.exists()
    if existed:
        if blob_intact(final, digest, len(body)):
            return StagedBlob(digest, len(body), new=False)
        LOG.warning("journal: blob %s does not match its name (damaged): writing it anew", digest)
    tmp = blobs / f".{digest}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, body)
        fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, final)
    fsync_dir(blobs, fsync)
    # A damaged file rewritten is not new: an earlier frame names it, so it must never be discarded.
    return StagedBlob(digest, len(body), new=not existed)


def discard(blobs: Path, staged: StagedBlob | None) -> None:
    """Remove a staged blob no frame will name (its request failed); one that existed before stays."""
    if staged is not None and staged.new:
        try:
            (blobs / staged.digest).unlink(missing_ok=True)
        except OSError as exc:   # left for the next open, which removes blobs no record names
            LOG.warning("journal: cannot remove unused blob %s: %s", staged.digest, exc)
