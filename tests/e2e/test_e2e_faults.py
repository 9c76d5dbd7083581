"""Faults with the real executable: the emulator's disk full (changes refused, none lost, `cleanup` exit 5
with one clear message), the user's state directory full after `deploy` made everything (exit 2 naming
what was made and how to go on), a damaged journal (`local start` exit 5 naming it; `--recover`), and the
emulator killed in the middle of `train` and `deploy` (exit 5, not "AWS refused").

The disks are small tmpfs mounts (root only, as CI runs; skipped otherwise): one where the emulator keeps
its journal, one where the CLI keeps its deployment record."""
from __future__ import annotations

import os
import subprocess

import emulated
import pytest
from botocore.exceptions import ClientError
from clitools import WILDRYDES, curl_post, make_cli
from small_disk import fill, free, small_disk

from wildrydes_cli.local.awsapi import journal as jn
from wildrydes_cli.local.awsapi import journal_format

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TRAIN = ["train", "--rows", "3000", "--epochs", "3"]


@pytest.fixture(scope="module")
def disks(cli):
    state = cli.home / "state"
    with small_disk(state / "local" / "journal", "16m") as journal, small_disk(state / "deployed", "1m") as record:
        yield {"journal": journal, "record": record}
        pid = cli.daemon_pid()
        if pid is not None:
            cli.run("local", "stop", check=False)
            emulated.pid_gone(pid)


@pytest.fixture(scope="module")
def deployed(cli, disks):
    cli.json("local", "start")
    cli.run("bootstrap")
    cli.run(*TRAIN)
    return cli.json("deploy", "--yes")


def _s3(cli):
    url = cli.json("local", "status")["endpoint_url"]
    return emulated.clients(url, state_dir=cli.home / "state", services=("s3",))["s3"]


def test_puts_during_a_brief_full_disk_lose_no_later_change(cli, deployed, disks):
    s3 = _s3(cli)
    s3.create_bucket(Bucket="ballast-test")
    ballast = fill(disks["journal"])
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="ballast-test", Key="during", Body=os.urandom(100_000))
    assert refused.value.response["Error"]["Code"] == "LocalTargetStorageError"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 507
    free(ballast)
    for i in range(10):
        s3.put_object(Bucket="ballast-test", Key=f"after-{i}", Body=os.urandom(100_000))
    cli.run("local", "stop")
    cli.json("local", "start")
    listed = [o["Key"] for o in _s3(cli).list_objects_v2(Bucket="ballast-test")["Contents"]]
    assert sorted(listed) == sorted(["during"] + [f"after-{i}" for i in range(10)])


def test_a_deployment_record_that_cannot_be_written_is_exit_2_naming_what_was_made(cli, deployed, disks):
    (disks["record"] / next(p.name for p in disks["record"].iterdir() if p.suffix == ".json")).unlink()
    ballast = fill(disks["record"])
    try:
        out = cli.run("deploy", "--yes", check=False)
    finally:
        free(ballast)
    assert out.returncode == 2, out.stderr
    for named in ("Deployed stack wildrydes-ml-mod3-4", deployed["api_id"], deployed["invoke_url"],
                  "No space left on device", "`wildrydes deploy` again", "`wildrydes cleanup`"):
        assert named in out.stderr, named
    assert cli.json("deploy", "--yes")["api_id"] == deployed["api_id"]   # space back: recorded, same API
    assert cli.json("status")["deployed"]


def test_a_damaged_journal_is_refused_at_start_and_recover_keeps_the_rest(cli, deployed, disks):
    cli.run("local", "stop")
    path = disks["journal"] / jn.JOURNAL_NAME
    data = bytearray(path.read_bytes())
    frames = journal_format.scan(bytes(data)).frames
    offset = next(o for o, meta, _ in frames if meta.get("target") == "/ballast-test/after-5")
    data[offset + 30] ^= 0xFF
    path.write_bytes(bytes(data))
    refused = cli.run("local", "start", check=False)
    assert refused.returncode == 5
    for named in (str(path), f"damaged at byte {offset}", "local start --recover", "local reset"):
        assert named in refused.stderr, named
    recovered = cli.json("local", "start", "--recover")
    assert recovered["recovery"]["damaged_ranges"][0][0] == offset
    assert oct(os.stat(recovered["recovery"]["set_aside"]).st_mode & 0o777) == "0o600"
    assert "PUT /ballast-test/after-5" in recovered["recovery"]["probably_lost"]
    status, _ = curl_post(deployed["invoke_url"], emulated.WORKSHOP_BODY)
    assert status == 200                            # every other record was kept: the deployment answers
    listed = [o["Key"] for o in _s3(cli).list_objects_v2(Bucket="ballast-test")["Contents"]]
    assert "after-5" not in listed and len(listed) == 10
    cli.run("local", "stop")
    text = cli.run("local", "start").stdout        # the recovered journal is whole: a plain start
    assert "Emulator started." in text and "Recovered" not in text


def test_cleanup_on_a_full_emulator_disk_is_one_clear_error_exit_5(cli, deployed, disks):
    s3 = _s3(cli)
    ballast = fill(disks["journal"])
    try:
        for i in range(200):   # small records still fit the journal's last page: the disk refuses one soon
            try:
                s3.put_object(Bucket="ballast-test", Key=f"small-{i}", Body=b"x" * 1000)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "LocalTargetStorageError"
                break
        else:
            pytest.fail("the full disk never refused a change")
        out = cli.run("cleanup", check=False)
        status, _ = curl_post(deployed["invoke_url"], emulated.WORKSHOP_BODY)
    finally:
        free(ballast)
    assert out.returncode == 5, out.stderr
    assert "No space left on device" in out.stderr and str(disks["journal"]) in out.stderr
    assert "nothing was changed" in out.stderr
    assert "unexpected" not in out.stderr and "Traceback" not in out.stderr
    assert status == 200                             # refused before anything was deleted
    assert cli.run("cleanup").returncode == 0         # space back: the earlier change is saved, cleanup runs
    cli.run("local", "stop")
    cli.json("local", "start")
    status, _ = curl_post(deployed["invoke_url"], emulated.WORKSHOP_BODY)
    assert status == 403                             # gone, and it stayed gone across the restart


@pytest.mark.parametrize("command, point", [(TRAIN, "append@1"), (["deploy", "--yes"], "append@2")])
def test_the_emulator_killed_mid_command_is_exit_5_not_aws_refused(tmp_path, command, point):
    cli = make_cli(tmp_path)
    try:
        cli.run("bootstrap")
        if command[0] == "deploy":
            cli.run(*TRAIN)
        cli.run("local", "stop")
        dying = {**cli.env, "WILDRYDES_FAULT_KILL_AT": point}
        out = subprocess.run([str(WILDRYDES), *command], cwd=cli.home, env=dying, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 5, out.stderr
        assert "local emulator is not answering" in out.stderr and "wildrydes local start" in out.stderr
        assert "AWS refused" not in out.stderr
    finally:
        pid = cli.daemon_pid()
        if pid is not None:
            cli.run("local", "stop", check=False)
            emulated.pid_gone(pid)
