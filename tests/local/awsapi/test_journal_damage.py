"""The journal under damage: a torn last record is cut, anything else is refused (naming the file and the
offset) unless recovered; recovery keeps every intact record and deletes nothing; blobs are checked
against their names; set-aside files are private and never overwritten; format-1 journals still read."""
from __future__ import annotations

import errno
import os
import stat
import struct
import zlib
from pathlib import Path

import pytest
from journal_records import iter_records

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import journal_format, journal_recovery

BIG = jn.BLOB_THRESHOLD + 1


def _journal(path: Path, bodies: list[bytes]) -> list[int]:
    """A header and one request record per body (seeds as persist.py writes them); the frames' offsets."""
    journal = jn.Journal(path)
    journal.open()
    journal.append({"kind": "header", "version": 1, "seed_base": 1000})
    for seq, body in enumerate(bodies):
        journal.append({"kind": "request", "seq": seq, "seed": 1000 + seq, "method": "PUT",
                        "target": f"/bucket/key-{seq}"}, body)
    journal.close()
    return [offset for offset, _, _ in journal_format.scan((path / jn.JOURNAL_NAME).read_bytes()).frames]


def _seqs(records: list[jn.Record]) -> list:
    return [r.meta.get("seq", "header") for r in records]


def _recover(path: Path) -> tuple[list[jn.Record], journal_recovery.Recovery | None]:
    journal = jn.Journal(path)
    records, recovery = journal_recovery.recover(journal, journal.open(recover=True))
    journal.close()
    return records, recovery


def test_a_flipped_byte_anywhere_is_refused_and_recover_keeps_every_other_record(tmp_path):
    """Every byte of every record, header included: never a silent start with fewer records."""
    path = tmp_path / "j"
    offsets = _journal(path, [b"a" * 3, b"", b"c" * 40])
    original = (path / jn.JOURNAL_NAME).read_bytes()
    ends = offsets[1:] + [len(original)]
    for i in range(len(original)):
        frame = max(n for n, offset in enumerate(offsets) if offset <= i)
        damaged = bytearray(original)
        damaged[i] ^= 0xFF
        (path / jn.JOURNAL_NAME).write_bytes(bytes(damaged))
        for aside in jn.Journal(path).set_aside_files():
            aside.unlink()
        with pytest.raises(jn.JournalDamaged, match=f"damaged at byte {offsets[frame]} "):
            jn.Journal(path).open()
        records, recovery = _recover(path)
        expected = ["header", 0, 1, 2]
        del expected[frame]
        if frame == 0:
            expected = ["header"] + expected     # the lost header is rebuilt from the records' seeds
        assert _seqs(records) == expected, i
        assert recovery is not None and recovery.damaged_ranges == [(offsets[frame], ends[frame] - offsets[frame])]
        assert recovery.header_rebuilt is (frame == 0)
        assert Path(recovery.set_aside).read_bytes() == bytes(damaged[offsets[frame]:ends[frame]])
        reopened = jn.Journal(path)
        assert _seqs(reopened.open()) == expected   # the recovered journal is whole: no refusal now
        if frame == 0:
            assert records[0].meta["seed_base"] == 1000 and records[0].meta["next_seq"] == 3
        reopened.close()
        (path / jn.JOURNAL_NAME).write_bytes(original)


def test_damage_in_the_middle_keeps_the_records_after_it_and_says_what_was_lost(tmp_path):
    path = tmp_path / "j"
    offsets = _journal(path, [b"x" * 10 for _ in range(6)])
    data = bytearray((path / jn.JOURNAL_NAME).read_bytes())
    data[offsets[3] + 30] ^= 0x01                     # one bit, in the meta of seq 2
    (path / jn.JOURNAL_NAME).write_bytes(bytes(data))
    with pytest.raises(jn.JournalDamaged, match="3 intact records after it"):
        jn.Journal(path).open()
    records, recovery = _recover(path)
    assert _seqs(records) == ["header", 0, 1, 3, 4, 5]
    assert recovery.kept_records == 6 and recovery.dropped_records == []
    aside = Path(recovery.set_aside)
    assert aside.name == f"{jn.JOURNAL_NAME}.damaged-{offsets[3]}"
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600


def test_a_zero_filled_tail_is_an_unfinished_append(tmp_path):
    """An OS crash can make a file's new size durable before its data: zeros after the last record."""
    path = tmp_path / "j"
    _journal(path, [b"a", b"b"])
    size = (path / jn.JOURNAL_NAME).stat().st_size
    with open(path / jn.JOURNAL_NAME, "ab") as handle:
        handle.write(bytes(300))
    journal = jn.Journal(path)
    assert _seqs(journal.open()) == ["header", 0, 1]
    journal.close()
    assert (path / jn.JOURNAL_NAME).stat().st_size == size
    assert journal.set_aside_files() == []           # nothing worth keeping


def test_torn_tails_are_set_aside_private_and_never_overwritten(tmp_path):
    path = tmp_path / "j"
    _journal(path, [b"a"])
    size = (path / jn.JOURNAL_NAME).stat().st_size
    frame = journal_format.encode_frame({"kind": "request", "seq": 1, "seed": 1001}, b"torn")
    for _ in range(2):
        with open(path / jn.JOURNAL_NAME, "ab") as handle:
            handle.write(frame[:-2])
        journal = jn.Journal(path)
        assert _seqs(journal.open()) == ["header", 0]
        journal.close()
    tails = journal.set_aside_files()
    assert [p.name for p in tails] == [f"{jn.JOURNAL_NAME}.tail-{size}", f"{jn.JOURNAL_NAME}.tail-{size}.1"]
    assert all(p.read_bytes() == frame[:-2] for p in tails)
    assert {stat.S_IMODE(p.stat().st_mode) for p in tails} == {0o600}


def test_a_flipped_length_in_the_last_header_is_damage_not_a_torn_append(tmp_path):
    """Format 2 checksums its header: a length made larger by damage is not mistaken for an unfinished write."""
    path = tmp_path / "j"
    offsets = _journal(path, [b"a", b"b"])
    data = bytearray((path / jn.JOURNAL_NAME).read_bytes())
    data[offsets[-1] + 5] ^= 0x10                     # the length field of the last record
    (path / jn.JOURNAL_NAME).write_bytes(bytes(data))
    with pytest.raises(jn.JournalDamaged, match=f"damaged at byte {offsets[-1]} "):
        jn.Journal(path).open()


def _v1_frame(meta: dict, body: bytes = b"") -> bytes:
    """A frame as the journal wrote them before its header had a checksum (MAGIC1, length, crc32)."""
    import json
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode()
    payload = struct.pack(">I", len(meta_bytes)) + meta_bytes + body
    return struct.pack(">4sII", b"WRJ1", len(payload), zlib.crc32(payload)) + payload


def test_a_journal_written_in_format_1_reads_and_grows_in_format_2(tmp_path):
    path = tmp_path / "j"
    path.mkdir()
    old = _v1_frame({"kind": "header", "version": 1, "seed_base": 7}) + \
        _v1_frame({"kind": "request", "seq": 0, "seed": 7, "method": "PUT", "target": "/b"}, b"body")
    (path / jn.JOURNAL_NAME).write_bytes(old + _v1_frame({"kind": "request", "seq": 1})[:-3])  # and a torn tail
    journal = jn.Journal(path)
    records = journal.open()
    assert _seqs(records) == ["header", 0] and records[1].body() == b"body"
    journal.append({"kind": "request", "seq": 1, "seed": 8}, b"new")
    journal.close()
    data = (path / jn.JOURNAL_NAME).read_bytes()
    assert data.startswith(old) and data[len(old):len(old) + 4] == journal_format.MAGIC2
    assert [m.get("seq") for m in iter_records(path)] == [None, 0, 1]
    journal = jn.Journal(path)
    journal.rewrite(journal.open())           # a compaction writes every record in format 2
    journal.close()
    found = journal_format.scan((path / jn.JOURNAL_NAME).read_bytes())
    assert found.legacy == 0 and len(found.frames) == 3 and not found.damaged


def test_a_damaged_blob_is_written_anew_not_reused_by_name(tmp_path):
    path = tmp_path / "j"
    body = os.urandom(BIG)
    _journal(path, [body])
    blob = next((path / "blobs").iterdir())
    damaged = bytearray(blob.read_bytes())
    damaged[1000] ^= 0xFF
    blob.write_bytes(bytes(damaged))
    journal = jn.Journal(path)
    journal.open()
    journal.append({"kind": "request", "seq": 1, "seed": 1001}, body)   # the same content uploaded again
    journal.close()
    assert blob.read_bytes() == body
    journal = jn.Journal(path)
    assert [r.body() for r in journal.open()[1:]] == [body, body]
    journal.close()


def test_a_record_whose_blob_is_damaged_is_set_aside_by_recover_and_the_blob_kept(tmp_path):
    path = tmp_path / "j"
    body = os.urandom(BIG)
    _journal(path, [b"a", body, b"c"])
    blob = next((path / "blobs").iterdir())
    blob.write_bytes(b"not what its name says")
    records, recovery = _recover(path)
    assert _seqs(records) == ["header", 0, 2]
    assert len(recovery.dropped_records) == 1 and "is missing or damaged" in recovery.dropped_records[0]
    assert recovery.damaged_ranges == []
    assert blob.exists()                                    # named by the set-aside record: never removed
    journal = jn.Journal(path)
    journal.open()
    journal.close()
    assert blob.exists()


def test_blobs_that_set_aside_bytes_name_are_never_removed(tmp_path):
    path = tmp_path / "j"
    _journal(path, [b"a"])
    journal = jn.Journal(path)
    journal.open()
    body = os.urandom(BIG)
    journal.append({"kind": "request", "seq": 1, "seed": 1001}, body)
    journal.close()
    data = (path / jn.JOURNAL_NAME).read_bytes()
    (path / jn.JOURNAL_NAME).write_bytes(data[:-2])          # torn after the blob's name
    journal = jn.Journal(path)
    assert _seqs(journal.open()) == ["header", 0]
    journal.close()
    assert [p.name for p in (path / "blobs").iterdir()] == [__import__("hashlib").sha256(body).hexdigest()]


def test_a_failed_append_leaves_the_journal_as_it_was(tmp_path, monkeypatch):
    """A full disk mid-frame: the partial frame is cut off, so later records follow a whole one."""
    path = tmp_path / "j"
    _journal(path, [b"a"])
    size = (path / jn.JOURNAL_NAME).stat().st_size
    journal = jn.Journal(path)
    journal.open()
    real = jn._write_all

    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[:len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jn, "_write_all", half_then_full)
    with pytest.raises(jn.JournalError, match="No space left on device"):
        journal.append({"kind": "request", "seq": 1, "seed": 1001}, b"lost")
    assert (path / jn.JOURNAL_NAME).stat().st_size == size
    monkeypatch.setattr(jn, "_write_all", real)
    journal.append({"kind": "request", "seq": 2, "seed": 1002}, b"kept")
    journal.close()
    journal = jn.Journal(path)
    assert _seqs(journal.open()) == ["header", 0, 2]
    journal.close()


def test_a_cut_that_failed_is_made_before_the_next_append(tmp_path):
    path = tmp_path / "j"
    _journal(path, [b"a"])
    journal = jn.Journal(path)
    journal.open()
    with open(path / jn.JOURNAL_NAME, "ab") as handle:
        handle.write(b"WRJ2 partial")             # what a write the disk refused left, not yet cut
    journal._cut_pending = True
    journal.append({"kind": "request", "seq": 1, "seed": 1001}, b"b")
    journal.close()
    journal = jn.Journal(path)
    assert _seqs(journal.open()) == ["header", 0, 1]
    journal.close()


def test_a_failed_blob_write_leaves_no_blob_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "j"
    _journal(path, [])
    journal = jn.Journal(path, fsync=lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
    journal.open()
    with pytest.raises(jn.JournalError):
        journal.append({"kind": "request", "seq": 0, "seed": 1000}, os.urandom(BIG))
    journal.close()
    assert list((path / "blobs").iterdir()) == []
