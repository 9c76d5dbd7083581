"""Properties of the scratchpad writer: idempotent, keeps every line it does not own."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from wildrydes_cli import scratchpad

OWNED = ("DataBucket", "DataProcessingExecutionRole")
other_lines = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30)
                       .filter(lambda line: not any(line.strip().startswith(k) for k in OWNED)), max_size=6)
values = st.fixed_dictionaries({k: st.from_regex(r"[a-z0-9][a-z0-9-]{2,20}", fullmatch=True) for k in OWNED})


@settings(max_examples=60, deadline=None)
@given(lines=other_lines, first=values, second=values)
def test_write_is_idempotent_and_keeps_other_lines(lines, first, second):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scratchpad.txt"
        if lines:
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        scratchpad.write(path, first)
        scratchpad.write(path, second)
        once = path.read_text(encoding="utf-8")
        assert scratchpad.write(path, second) is False
        assert path.read_text(encoding="utf-8") == once
        text_lines = once.splitlines()
        assert [t for t in text_lines if not any(t.startswith(k + ":") for k in OWNED)] == lines
        for key in OWNED:
            assert text_lines.count(f"{key}: {second[key]}") == 1
        assert {k: v for k, v in scratchpad.read(path).items() if k in OWNED} == second


# --- what is refused as not a scratchpad, and how it is written -------------------------------

import os  # noqa: E402
import stat  # noqa: E402

import pytest  # noqa: E402

from wildrydes_cli.errors import UsageError  # noqa: E402

WORKSHOP = 'my notes\n"SomeRole-From-The-Workshop-Command"\nDataBucket: b\n'
PYTHON = "".join(f"x{i} = compute({i})\n" for i in range(40))
TEMPLATE = "Resources:\n" + "".join(f"  R{i}:\n    Type: AWS::S3::Bucket\n" for i in range(20))


@pytest.mark.parametrize("content, why", [
    (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "not UTF-8 text"),
    (b"DataBucket: b\n\x00\x01\x02\n", "binary: it has control characters"),
    (b"DataBucket: b\n" + b"n: " + b"x" * 70_000 + b"\n", "bytes, over 65536"),
    (b"DataBucket: b\nnote: " + b"x" * 1200 + b"\n", "line 2 is 1206 characters long, over 1000"),
    (PYTHON.encode(), "40 of its lines are not 'Key: value', a quoted name or blank, against 0"),
    (TEMPLATE.encode(), "40 of its lines are not 'Key: value'"),    # indented key: value lines are not ours
])
def test_a_file_that_is_not_a_scratchpad_is_refused_and_left_alone(tmp_path, content, why):
    path = tmp_path / "not-a-scratchpad"
    path.write_bytes(content)
    for action in (lambda: scratchpad.write(path, {"DataBucket": "new"}), lambda: scratchpad.read(path)):
        with pytest.raises(UsageError, match="does not look like a scratchpad") as info:
            action()
        assert why in str(info.value) and "--scratchpad" in str(info.value)
    assert path.read_bytes() == content


def test_a_directory_or_fifo_is_not_a_scratchpad(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (tmp_path, fifo):
        with pytest.raises(UsageError, match="not a regular file"):
            scratchpad.write(path, {"DataBucket": "new"})


def test_what_the_workshop_and_users_write_is_kept(tmp_path):
    path = tmp_path / "scratchpad.txt"
    notes = "".join(f"note{i}: or not\n" if i % 2 else f"free note {i}\n" for i in range(60))
    path.write_text(WORKSHOP + "\n\n" + "".join(f"free {i}\n" for i in range(31)), encoding="utf-8")
    assert scratchpad.write(path, {"DataProcessingExecutionRole": "r"})    # 32 free lines: notes
    path.write_text(notes + WORKSHOP, encoding="utf-8")                    # 31 free, 31 own
    assert scratchpad.read(path)["DataBucket"] == "b"
    path.write_text("".join(f"free {i}\n" for i in range(33)) + "".join(f"K{i}: v\n" for i in range(33)))
    assert scratchpad.read(path)["K32"] == "v"                             # more free lines, but no more than own
    path.write_text("".join(f"free {i}\n" for i in range(33)) + "DataBucket: b\n")
    with pytest.raises(UsageError, match="33 of its lines"):
        scratchpad.read(path)


def test_a_symlink_out_of_the_working_directory_is_refused_naming_its_target(tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere" / "victim.txt"
    outside.parent.mkdir()
    outside.write_text("DataBucket: theirs\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "scratchpad.txt").symlink_to(outside)
    with pytest.raises(UsageError, match=f"symbolic link to {outside}, outside the working directory") as info:
        scratchpad.write(Path("scratchpad.txt"), {"DataBucket": "mine"})
    assert f"--scratchpad {outside}" in str(info.value)
    with pytest.raises(UsageError, match="symbolic link"):
        scratchpad.read(Path("scratchpad.txt"))
    assert outside.read_text() == "DataBucket: theirs\n"
    assert scratchpad.write(outside, {"DataBucket": "mine"})        # named as it is: the user means it
    assert outside.read_text() == "DataBucket: mine\n"


def test_a_symlink_inside_the_working_directory_is_followed_and_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").mkdir()
    real = tmp_path / "notes" / "pad.txt"
    real.write_text("note\n")
    (tmp_path / "scratchpad.txt").symlink_to(real)
    assert scratchpad.write(Path("scratchpad.txt"), {"DataBucket": "b"})
    assert (tmp_path / "scratchpad.txt").is_symlink() and real.read_text() == "note\nDataBucket: b\n"


def test_the_write_is_atomic_and_keeps_the_permissions(tmp_path, monkeypatch):
    path = tmp_path / "scratchpad.txt"
    path.write_text("note\n")
    os.chmod(path, 0o640)
    inode = path.stat().st_ino
    real_replace = os.replace
    seen = []

    def replace(src, dst):   # the new content is whole, synced and in place only at the rename
        seen.append((Path(src).read_text(), path.read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert scratchpad.write(path, {"DataBucket": "b"})
    assert seen == [("note\nDataBucket: b\n", "note\n")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.stat().st_ino != inode
    assert [p.name for p in tmp_path.iterdir()] == ["scratchpad.txt"]   # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "scratchpad.txt"
    path.write_text("note\n")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(UsageError, match="Cannot write scratchpad .*No space left"):
        scratchpad.write(path, {"DataBucket": "b"})
    assert path.read_text() == "note\n" and [p.name for p in tmp_path.iterdir()] == ["scratchpad.txt"]
