"""The journal file: round trip, permissions, torn and corrupt tails, durability order, erase."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from journal_records import iter_records

from wildrydes_cli.local.awsapi import journal as jn


def _open(path: Path, **kw) -> tuple[jn.Journal, list[jn.Record]]:
    journal = jn.Journal(path, **kw)
    return journal, journal.open()


def test_round_trip_inline_and_blob_bodies_with_private_permissions(tmp_path):
    journal, records = _open(tmp_path / "j")
    assert records == []
    big = os.urandom(jn.BLOB_THRESHOLD + 1)
    journal.append({"seq": 0}, b"small")
    journal.append({"seq": 1}, big)
    journal.append({"seq": 2}, big)  # same content: one blob
    journal.close()
    assert stat.S_IMODE((tmp_path / "j").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "j" / jn.JOURNAL_NAME).stat().st_mode) == 0o600
    blobs = list((tmp_path / "j" / "blobs").iterdir())
    assert len(blobs) == 1 and stat.S_IMODE(blobs[0].stat().st_mode) == 0o600
    journal, records = _open(tmp_path / "j")
    assert [r.meta["seq"] for r in records] == [0, 1, 2]
    assert [r.body() for r in records] == [b"small", big, big]
    assert "blob" not in records[0].meta and records[1].meta["blob"] == records[2].meta["blob"]


def _three_records(path: Path) -> int:
    journal, _ = _open(path)
    journal.append({"seq": 0}, b"a" * 10)
    journal.append({"seq": 1}, b"b" * 10)
    size_before_last = (path / jn.JOURNAL_NAME).stat().st_size
    journal.append({"seq": 2}, b"c" * 100)
    journal.close()
    return size_before_last


def test_a_torn_last_record_is_ignored_and_cut_off_at_every_length(tmp_path):
    path = tmp_path / "j"
    good = _three_records(path)
    full = (path / jn.JOURNAL_NAME).read_bytes()
    for cut in range(good + 1, len(full)):
        (path / jn.JOURNAL_NAME).write_bytes(full[:cut])
        journal, records = _open(path)
        assert [r.meta["seq"] for r in records] == [0, 1], cut
        assert (path / jn.JOURNAL_NAME).stat().st_size == good  # truncated: appends follow a valid record
        journal.append({"seq": 3}, b"d")
        journal.close()
        assert [m["seq"] for m in iter_records(path)] == [0, 1, 3]


def test_a_corrupt_last_record_is_refused_not_dropped(tmp_path):
    """A flipped byte in the last *whole* record is damage to an acknowledged change, not a torn append:
    refused, naming the file, the offset and both ways out (it used to be dropped with a warning)."""
    path = tmp_path / "j"
    good = _three_records(path)
    data = bytearray((path / jn.JOURNAL_NAME).read_bytes())
    data[-5] ^= 0xFF  # a flipped byte in the last body: the checksum no longer matches
    (path / jn.JOURNAL_NAME).write_bytes(bytes(data))
    with pytest.raises(jn.JournalDamaged) as refused:
        _open(path)
    message = str(refused.value)
    assert str(path / jn.JOURNAL_NAME) in message and f"damaged at byte {good}" in message
    assert "wildrydes local start --recover" in message and "wildrydes local reset" in message
    assert (path / jn.JOURNAL_NAME).read_bytes() == bytes(data)      # nothing was cut or rewritten


def test_garbage_after_valid_records_is_refused(tmp_path):
    """Bytes that are no prefix of a record were not written by an unfinished append: refused."""
    path = tmp_path / "j"
    _three_records(path)
    with open(path / jn.JOURNAL_NAME, "ab") as handle:
        handle.write(b"not a frame at all")
    with pytest.raises(jn.JournalDamaged, match="0 intact records after it"):
        _open(path)


class _Crash(Exception):
    pass


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to name fsynced files")
def test_blob_is_durable_before_the_record_that_names_it(tmp_path):
    synced: list[str] = []

    def fsync(fd: int) -> None:
        synced.append(_fd_path(fd))
        os.fsync(fd)

    journal, _ = _open(tmp_path / "j", fsync=fsync)
    synced.clear()
    journal.append({"seq": 0}, os.urandom(jn.BLOB_THRESHOLD + 10))
    blobs = str(tmp_path / "j" / "blobs")
    assert [p.startswith(blobs + "/.") for p in synced] == [True, False, False]  # blob temp file
    assert synced[1] == blobs  # the rename, made durable by syncing the directory
    assert synced[2] == str(tmp_path / "j" / jn.JOURNAL_NAME)  # then the record


@pytest.mark.parametrize("crash_at", [0, 1, 2])
def test_a_crash_at_any_fsync_leaves_the_record_whole_or_absent(tmp_path, crash_at):
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        if calls["n"] == crash_at:
            raise _Crash()
        calls["n"] += 1
        os.fsync(fd)

    path = tmp_path / "j"
    journal, _ = _open(path)
    journal.append({"seq": 0}, b"kept")
    journal.close()
    journal, _ = _open(path, fsync=fsync)
    body = os.urandom(jn.BLOB_THRESHOLD + 10)
    with pytest.raises(_Crash):
        journal.append({"seq": 1}, body)
    journal.close()
    _, records = _open(path)
    assert records[0].body() == b"kept"
    if crash_at < 2:  # died before the record was written: it is absent, and so is its blob or temp file
        assert len(records) == 1
        assert list((path / "blobs").iterdir()) == []
    # Written but not yet fsynced still reads back on a live kernel; what matters is that a
    # record never names a blob that is not complete on disk.
    for record in records[1:]:
        assert record.body() == body


def test_a_record_naming_a_missing_blob_says_so(tmp_path):
    path = tmp_path / "j"
    journal, _ = _open(path)
    journal.append({"seq": 0}, os.urandom(jn.BLOB_THRESHOLD + 1))
    journal.close()
    for blob in (path / "blobs").iterdir():
        blob.unlink()
    _, records = _open(path)
    with pytest.raises(jn.JournalError, match="missing or damaged blob"):
        records[0].body()


def test_a_write_failure_is_a_journal_error(tmp_path):
    def fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    journal, _ = _open(tmp_path / "j")
    journal._fsync = fsync
    with pytest.raises(jn.JournalError, match="No space left"):
        journal.append({"seq": 0}, b"x")


def test_erase(tmp_path):
    journal, _ = _open(tmp_path / "j")
    journal.append({"seq": 0}, os.urandom(jn.BLOB_THRESHOLD + 1))
    journal.close()
    assert jn.erase(tmp_path / "j") is True
    assert not (tmp_path / "j").exists()
    assert jn.erase(tmp_path / "j") is False


def test_a_second_writer_is_refused(tmp_path):
    first, _ = _open(tmp_path / "j")
    with pytest.raises(jn.JournalError, match="in use by another emulator"):
        _open(tmp_path / "j")
    first.close()
    second, _ = _open(tmp_path / "j")  # free again once the first is closed
    second.close()
