"""The daemon's log (daemon_log.py): rotated by size, stdout/stderr following it, read from its end."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.local import daemon, daemon_files, daemon_log
from wildrydes_cli.settings import Settings

MB = 1024 * 1024


def big_log(path: Path, size: int) -> None:
    line = b"2026-12-01 10:00:00,000 INFO wildrydes_cli.local.server: " + b"x" * 60 + b"\n"
    block = line * (MB // len(line))
    with open(path, "wb") as handle:
        while handle.tell() < size:
            handle.write(block)
        handle.write(b"the last line\n")


def test_tail_reads_only_the_end(tmp_path):
    path = tmp_path / "daemon.log"
    big_log(path, 40 * MB)
    tracemalloc.start()
    try:
        got = daemon_log.tail(path, lines=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got.splitlines()[-1] == "the last line" and len(got.splitlines()) == 3
    assert got.splitlines()[0].startswith("2026-12-01")   # whole lines only
    assert peak < 1 * MB, f"read {peak / MB:.0f} MB to print 3 lines"


def test_tail_of_a_short_missing_or_cut_file(tmp_path):
    assert daemon_log.tail(tmp_path / "none.log") == ""
    short = tmp_path / "short.log"
    short.write_bytes(b"one\ntwo\n\xff three\n")
    assert daemon_log.tail(short, lines=2) == "two\n\ufffd three"
    cut = tmp_path / "cut.log"
    cut.write_bytes(b"a" * 100 + b"\nlast\n")
    assert daemon_log.tail(cut, lines=5, max_bytes=50) == "last"   # the partial first line is left out


def test_a_failed_start_prints_the_tail_of_a_large_log_without_reading_it(tmp_path, monkeypatch):
    log = daemon_files.log_file(tmp_path)
    daemon_files.private_dir(log.parent)
    big_log(log, 60 * MB)
    monkeypatch.setattr(daemon_files, "SERVER_MODULE", "wildrydes_cli.local.no_such_module")
    tracemalloc.start()
    try:
        with pytest.raises(LocalTargetError, match="(?s)exited during start-up.*No module named") as caught:
            daemon.start(Settings(state_dir=tmp_path, local_port=0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "the last line" in str(caught.value) and len(str(caught.value).splitlines()) <= 17
    assert peak < 8 * MB, f"{peak / MB:.0f} MB allocated to print the log's last lines"


ROTATE = textwrap.dedent("""
    import logging, os, sys
    from pathlib import Path
    from wildrydes_cli.local import daemon_log
    daemon_log.configure(Path(sys.argv[1]), max_bytes=20_000, backups=2)
    log = logging.getLogger("test")
    for i in range(2000):
        log.info("line %05d %s", i, "y" * 40)
        if i % 100 == 0:
            print(f"printed {i}", flush=True)            # stdout: not through logging
            os.write(2, f"raw stderr {i}\\n".encode())   # fd 2, as a C library or a dying thread would
    log.info("the end")
    os.write(2, b"after the end\\n")
""")


def test_the_log_rotates_at_its_size_and_stdout_stderr_follow_the_current_file(tmp_path):
    path = tmp_path / "daemon.log"
    path.write_bytes(b"what daemon.start's Popen wrote first\n")
    out = subprocess.run([sys.executable, "-c", ROTATE, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""   # everything went to the file
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["daemon.log", "daemon.log.1", "daemon.log.2"]
    for name in files:
        info = (tmp_path / name).stat()
        assert info.st_size <= 20_000 + 200, (name, info.st_size)   # a record or a raw line past the mark at most
        assert stat.S_IMODE(info.st_mode) == 0o600
    current = path.read_text()
    assert current.rstrip().endswith("after the end") and "the end" in current
    assert "raw stderr 1900" in current + (tmp_path / "daemon.log.1").read_text()
    kept = "".join((tmp_path / name).read_text() for name in files)
    assert "line 00000" not in kept   # the oldest rotated away
    assert "printed 1900" in kept


def test_bounds_stated_in_the_docs():
    """docs/targets.md: at most 12 MiB (4 MiB and two older files)."""
    assert (daemon_log.MAX_BYTES, daemon_log.BACKUPS) == (4 * MB, 2)
    assert (daemon_log.BACKUPS + 1) * daemon_log.MAX_BYTES == 12 * MB
    docs = (Path(__file__).resolve().parents[2] / "docs" / "targets.md").read_text()
    assert "at most 12 MiB" in docs


def test_the_daemon_logs_through_the_rotating_log(tmp_path):
    """``server.main`` configures it: the daemon's stdout and stderr are daemon.log, which it rotates."""
    import emulated

    with emulated.emulator(tmp_path) as status:
        fds = {fd: os.readlink(f"/proc/{status.pid}/fd/{fd}") for fd in (1, 2)}
    assert fds == {1: status.log_file, 2: status.log_file}
    assert "listening on" in Path(status.log_file).read_text()
