"""``kill -9`` of the daemon at each step of ``local start`` and of ``local compact`` (the named points of
``wildrydes_cli/faults.py``): the next start restores everything that was acknowledged, with the same ids.
And what start refuses: a damaged journal, a journal without its header, an unreadable journal or log
store, each named with the way out, never a traceback or "cannot listen"."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import emulated
import pytest

from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.faults import FAULT_ENV
from wildrydes_cli.local import daemon, daemon_files
from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import journal_format
from wildrydes_cli.settings import Settings

pytestmark = pytest.mark.slow
BUCKET = "kept"


def _settings(state_dir: Path) -> Settings:
    return Settings(state_dir=state_dir, local_port=0)


def _view(url: str, state_dir: Path) -> dict:
    """What a client sees: every object's bytes (hashed) and the REST APIs' ids."""
    aws = emulated.clients(url, state_dir=state_dir, services=("s3", "apigateway"))
    s3 = aws["s3"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    objects = {k: hashlib.sha256(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()).hexdigest() for k in keys}
    return {"objects": objects, "apis": sorted(a["id"] for a in aws["apigateway"].get_rest_apis()["items"])}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A stopped local target whose next start compacts (a model overwritten 6 times, 300 KB each, in blobs)
    and cuts a torn last record; and what a client saw before it was stopped."""
    state_dir = tmp_path_factory.mktemp("made") / "state"
    s = _settings(state_dir)
    status = daemon.start(s)
    try:
        aws = emulated.clients(status.endpoint_url, state_dir=state_dir, services=("s3", "apigateway"))
        aws["s3"].create_bucket(Bucket=BUCKET)
        aws["apigateway"].create_rest_api(name="first")
        for i in range(6):
            aws["s3"].put_object(Bucket=BUCKET, Key="model.tar.gz", Body=os.urandom(300_000))
        for i in range(5):
            aws["s3"].put_object(Bucket=BUCKET, Key=f"small-{i}", Body=b"s%d" % i)
        aws["apigateway"].create_rest_api(name="second")
        seen = _view(status.endpoint_url, state_dir)
    finally:
        daemon.stop(s)
    assert emulated.pid_gone(status.pid)
    journal = jn.journal_dir(state_dir) / jn.JOURNAL_NAME
    with open(journal, "ab") as handle:   # an append a crash left unfinished (never acknowledged)
        handle.write(journal_format.encode_frame({"kind": "request", "seq": 999, "seed": 1}, b"x" * 50)[:-7])
    return state_dir, seen


def _copy(made, tmp_path: Path) -> Path:
    state_dir = tmp_path / "state"
    shutil.copytree(made[0], state_dir)
    (state_dir / "local" / "daemon.log").unlink(missing_ok=True)
    return state_dir


def _start_and_view(state_dir: Path, **kw) -> tuple[dict, object]:
    s = _settings(state_dir)
    status = daemon.start(s, **kw)
    try:
        return _view(status.endpoint_url, state_dir), status
    finally:
        daemon.stop(s)
        assert emulated.pid_gone(status.pid)


@pytest.mark.parametrize("point", ["journal-tail-set-aside", "rewrite-before-rename", "rewrite-after-rename",
                                   "blob-removed", "replay-record@4", "logs-loaded", "before-state-file"])
def test_kill_9_at_each_step_of_start_then_start_restores_everything(made, tmp_path, monkeypatch, point):
    state_dir = _copy(made, tmp_path)
    monkeypatch.setenv(FAULT_ENV, point)
    with pytest.raises(LocalTargetError, match=r"exited during start-up \(code -9\)"):
        daemon.start(_settings(state_dir))
    monkeypatch.delenv(FAULT_ENV)
    seen, _ = _start_and_view(state_dir)
    assert seen == made[1]
    log = (state_dir / "local" / "daemon.log").read_text()
    assert "journal compaction: dropping" in log      # this start compacted: the points were on its path
    journal = jn.Journal(jn.journal_dir(state_dir))
    journal.open()                                     # and what it left is a whole journal
    journal.close()
    assert list(jn.journal_dir(state_dir).glob(".*.compact")) == []


@pytest.mark.parametrize("point", ["rewrite-before-rename", "rewrite-after-rename", "blob-removed"])
def test_kill_9_at_each_step_of_local_compact_then_start_restores_everything(made, tmp_path, point):
    state_dir = _copy(made, tmp_path)
    env = {**os.environ, FAULT_ENV: point, "WILDRYDES_HOME": str(state_dir)}
    killed = subprocess.run([sys.executable, "-m", "wildrydes_cli.cli.main", "local", "compact"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    seen, _ = _start_and_view(state_dir)
    assert seen == made[1]


def _damage(state_dir: Path, at_fraction: float) -> int:
    """Flip one byte inside a record around ``at_fraction`` of the journal; return that record's offset."""
    path = jn.journal_dir(state_dir) / jn.JOURNAL_NAME
    data = bytearray(path.read_bytes())
    offsets = [offset for offset, _, _ in journal_format.scan(bytes(data)).frames]
    offset = max(o for o in offsets if o <= len(data) * at_fraction)
    data[offset + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    return offset


@pytest.mark.parametrize("point", ["recover-set-aside", "rewrite-after-rename"])
def test_a_damaged_journal_is_refused_and_recover_survives_a_kill_at_each_step(made, tmp_path, monkeypatch, point):
    state_dir = _copy(made, tmp_path)
    offset = _damage(state_dir, 0.5)
    with pytest.raises(LocalTargetError) as refused:
        daemon.start(_settings(state_dir))
    message = str(refused.value.message)
    assert "The emulator did not start" in message and str(jn.journal_dir(state_dir) / jn.JOURNAL_NAME) in message
    assert f"damaged at byte {offset}" in message
    assert "wildrydes local start --recover" in message and "wildrydes local reset" in message
    assert "Traceback" not in message and "cannot listen" not in message
    monkeypatch.setenv(FAULT_ENV, point)
    with pytest.raises(LocalTargetError, match=r"code -9"):
        daemon.start(_settings(state_dir), recover=True)
    monkeypatch.delenv(FAULT_ENV)
    seen, status = _start_and_view(state_dir, recover=True)
    assert seen["apis"] == made[1]["apis"] and set(seen["objects"]) <= set(made[1]["objects"])
    missing = set(made[1]["objects"]) - set(seen["objects"])
    assert len(missing) <= 1                      # at most what the damaged record wrote
    asides = sorted(jn.journal_dir(state_dir).glob(f"{jn.JOURNAL_NAME}.damaged-*"))
    assert asides and all((p.stat().st_mode & 0o777) == 0o600 for p in asides)
    if status.recovery is not None:               # the first recover's report (a killed one reports nothing)
        assert status.recovery["damaged_ranges"][0][0] == offset
    seen_again, again = _start_and_view(state_dir)  # a plain start now: the journal is whole
    assert seen_again == seen and again.recovery is None


def test_start_refuses_a_journal_without_its_header_and_recover_rebuilds_it(made, tmp_path):
    state_dir = _copy(made, tmp_path)
    path = jn.journal_dir(state_dir) / jn.JOURNAL_NAME
    data = path.read_bytes()
    path.write_bytes(data[journal_format.scan(data).ends[0]:])
    with pytest.raises(LocalTargetError, match="does not start with its header record") as refused:
        daemon.start(_settings(state_dir))
    assert "Traceback" not in str(refused.value.message) and "--recover" in str(refused.value.message)
    seen, status = _start_and_view(state_dir, recover=True)
    assert seen == made[1] and status.recovery["header_rebuilt"] is True


@pytest.mark.parametrize("broken", ["journal", "logs"])
def test_an_unusable_journal_or_log_store_is_named_not_reported_as_cannot_listen(made, tmp_path, broken):
    state_dir = _copy(made, tmp_path)
    if broken == "journal":
        target = jn.journal_dir(state_dir) / jn.JOURNAL_NAME
        target.unlink()
        target.mkdir()
    else:
        target = state_dir / "local" / "logs"
        shutil.rmtree(target, ignore_errors=True)
        target.write_text("not a directory")
    with pytest.raises(LocalTargetError) as refused:
        daemon.start(_settings(state_dir))
    message = str(refused.value.message)
    assert str(target) in message and "wildrydes local reset" in message
    assert "cannot listen" not in message and "Traceback" not in message
    assert not daemon_files.refusal_file(state_dir).exists()    # shown once, then gone
