"""The local target's credentials file (wildrydes_cli/local/awsapi/credentials.py): made once, private, atomic.

The secret in it is what stops other users of the machine from running code as
the daemon's user, so a file others could read, a symlink or a broken file is
refused with the fix, never silently used.
"""
from __future__ import annotations

import os
import stat

import emulated
import pytest

from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.local.awsapi.credentials import credentials_file, local_credentials, read_credentials


def test_credentials_are_made_once_private_and_atomically(tmp_path):
    state = tmp_path / "state"
    first = local_credentials(state)
    path = credentials_file(state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700 and stat.S_IMODE(state.stat().st_mode) == 0o700
    assert local_credentials(state) == first and read_credentials(path) == first
    assert first.secret_access_key not in repr(first)
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temp file left


def test_an_existing_open_local_directory_is_made_private(tmp_path):
    (tmp_path / "local").mkdir(mode=0o755)
    os.chmod(tmp_path / "local", 0o755)
    local_credentials(tmp_path)
    assert stat.S_IMODE((tmp_path / "local").stat().st_mode) == 0o700


def test_concurrent_first_use_agrees_on_one_secret(tmp_path):
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(local_credentials, [tmp_path] * 8)
    assert len({(c.access_key_id, c.secret_access_key) for c in results}) == 1


def test_a_readable_or_broken_credentials_file_is_refused_with_the_fix(tmp_path):
    local_credentials(tmp_path)
    path = credentials_file(tmp_path)
    os.chmod(path, 0o644)
    with pytest.raises(LocalTargetError, match=r"not a private file of yours .*rm "):
        local_credentials(tmp_path)
    os.chmod(path, 0o600)
    path.write_text("{not json")
    with pytest.raises(LocalTargetError, match="not a valid credentials file"):
        local_credentials(tmp_path)


def test_the_daemon_does_not_start_on_an_unusable_credentials_file(tmp_path):
    from wildrydes_cli.local import daemon
    from wildrydes_cli.settings import Settings

    local_credentials(tmp_path)
    os.chmod(credentials_file(tmp_path), 0o640)
    with pytest.raises(LocalTargetError, match="not a private file of yours"):
        daemon.start(Settings(state_dir=tmp_path, local_port=emulated.free_port()))
    assert daemon.status(Settings(state_dir=tmp_path)).running is False


def test_an_unwritable_state_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LocalTargetError, match="Cannot (read|create) the local target's credentials file"):
        local_credentials(blocker / "state")
    state = tmp_path / "state"
    local_credentials(state)
    path = credentials_file(state)
    path.rename(tmp_path / "elsewhere.json")
    path.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(LocalTargetError, match="Cannot read the local target's credentials file"):
        local_credentials(state)
