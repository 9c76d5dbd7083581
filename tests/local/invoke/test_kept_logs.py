"""The on-disk store of the function's log events (kept_logs.py): round trip, bounds, torn
tails and damaged lines, hostile text, permissions, batched syncs, deleted groups; and
the restore into moto's logs backend through the moto adapter."""
from __future__ import annotations

import json
import os
import stat
import time

import boto3
import pytest
from moto import mock_aws

from wildrydes_cli.local.awsapi import moto_backends
from wildrydes_cli.local.invoke import kept_logs, kept_logs_file, kept_logs_restore
from wildrydes_cli.local.invoke.kept_logs import LogStore

ACCOUNT, REGION, GROUP = "123456789012", "us-east-1", "/aws/lambda/fn"


def encode_event(timestamp: int, stream: str, message: str) -> bytes:
    """One kept event as one line, as the store writes it."""
    return kept_logs_file.encode_batch(stream, [{"timestamp": timestamp, "message": message}])


def ev(i: int, message: str | None = None) -> dict:
    return {"timestamp": 1_700_000_000_000 + i, "message": f"line {i}" if message is None else message}


def reopen(directory, **kw) -> tuple[LogStore, list[kept_logs.KeptGroup]]:
    store = LogStore(directory, **kw)
    return store, store.load()


def messages(kept: list[kept_logs.KeptGroup]) -> list[str]:
    return [e["message"] for g in kept for e in g.events]


def test_events_round_trip_in_order_with_their_streams_and_timestamps(tmp_path):
    store, kept = reopen(tmp_path / "logs")
    assert kept == []
    store.append(ACCOUNT, REGION, GROUP, "s1", [ev(0), ev(1)])
    store.append(ACCOUNT, REGION, GROUP, "s2", [ev(2)])
    store.append(ACCOUNT, "eu-west-1", GROUP, "s1", [ev(3)])
    store.close()
    _, kept = reopen(tmp_path / "logs")
    by_region = {g.region: g for g in kept}
    assert [(e["timestamp"], e["stream"], e["message"]) for e in by_region[REGION].events] == [
        (ev(0)["timestamp"], "s1", "line 0"), (ev(1)["timestamp"], "s1", "line 1"), (ev(2)["timestamp"], "s2", "line 2")]
    assert messages([by_region["eu-west-1"]]) == ["line 3"]
    assert by_region[REGION].group == GROUP and by_region[REGION].account_id == ACCOUNT


HOSTILE = [
    "request GET '/a\nb' breed=- status=404",                       # a newline in a client's path
    'forged"}\n{"t":1,"s":"x","m":"FORGED"}',                        # a JSON line inside a message
    "quote \" backslash \\ tab \t cr \r nul \x00 del \x7f",
    "line sep \u2028 para sep \u2029 bom \ufeff",
    "replacement \ufffd and a lone surrogate \udcff from undecodable bytes",
    "emoji \U0001F984 and CJK \u4e2d",
    "",
]


def test_hostile_text_round_trips_exactly_without_forging_events(tmp_path):
    store, _ = reopen(tmp_path)
    store.append(ACCOUNT, REGION, GROUP, 'stream "\n', [ev(i, m) for i, m in enumerate(HOSTILE)])
    store.close()
    raw = next(tmp_path.glob("*.jsonl")).read_bytes()
    assert raw.count(b"\n") == 1 + len(HOSTILE)          # a header, then one line per event, nothing forged
    assert all(byte < 0x80 for byte in raw)             # plain ASCII on disk
    _, kept = reopen(tmp_path)
    assert messages(kept) == HOSTILE
    assert {e["stream"] for e in kept[0].events} == {'stream "\n'}


def test_lines_are_exactly_what_json_dumps_writes():
    """The fast encoder against the library as oracle, on the hostile texts."""
    events = [ev(i, m) for i, m in enumerate(HOSTILE)]
    expected = b"".join(json.dumps({"t": e["timestamp"], "s": 's\n"', "m": e["message"]},
                                   separators=(",", ":")).encode() + b"\n" for e in events)
    assert kept_logs_file.encode_batch('s\n"', events) == expected


def test_group_names_never_become_paths(tmp_path):
    store, _ = reopen(tmp_path / "logs")
    store.append(ACCOUNT, REGION, "/aws/lambda/../../../etc/passwd", "s", [ev(0)])
    store.close()
    assert [p.name for p in (tmp_path / "logs").iterdir()] == [kept_logs.file_name(ACCOUNT, REGION,
                                                                                   "/aws/lambda/../../../etc/passwd")]
    assert not (tmp_path / "etc").exists()


def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path, caplog):
    store, _ = reopen(tmp_path)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(0), ev(1)])
    store.close()
    path = next(tmp_path.glob("*.jsonl"))
    with open(path, "ab") as handle:
        handle.write(b'{"t":1700000000002,"s":"s","m":"half wr')   # a crash mid-write
    store, kept = reopen(tmp_path)
    assert messages(kept) == ["line 0", "line 1"]
    assert "torn last line" in caplog.text
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(3)])
    store.close()
    assert messages(reopen(tmp_path)[1]) == ["line 0", "line 1", "line 3"]


def test_damaged_lines_are_skipped_and_the_rest_kept(tmp_path, caplog):
    store, _ = reopen(tmp_path)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(0)])
    store.close()
    path = next(tmp_path.glob("*.jsonl"))
    with open(path, "ab") as handle:
        handle.write(b"\xff\xfe garbage\n[1,2]\n{\"t\":\"x\",\"s\":\"s\",\"m\":\"m\"}\n")
        handle.write(encode_event(5, "s", "after"))
    _, kept = reopen(tmp_path)
    assert messages(kept) == ["line 0", "after"]
    assert "skipped 3 damaged lines" in caplog.text


def test_a_file_without_a_valid_header_naming_no_known_group_is_set_aside_not_served(tmp_path, caplog):
    """It used to be removed; now it is kept aside (``.damaged``), never deleted and never served."""
    tmp_path.joinpath("0" * 32 + ".jsonl").write_bytes(b"not json\n" + encode_event(1, "s", "x"))
    forged = json.dumps({"v": 1, "account": ACCOUNT, "region": REGION, "group": "/other"}).encode() + b"\n"
    tmp_path.joinpath(kept_logs.file_name(ACCOUNT, REGION, GROUP)).write_bytes(forged)   # header names another group
    _, kept = reopen(tmp_path)
    assert kept == [] and list(tmp_path.glob("*.jsonl")) == []
    assert sorted(p.name for p in tmp_path.glob("*.damaged")) == sorted(
        ["0" * 32 + ".jsonl.damaged", kept_logs.file_name(ACCOUNT, REGION, GROUP) + ".damaged"])
    assert "no valid header and names no known group" in caplog.text


def test_a_damaged_header_line_costs_only_itself(tmp_path, caplog):
    """A flipped byte in the header: the group is known by the file's name (a hash of it) among the groups
    moto holds after the replay; every event is kept and the file gets a good header back."""
    store, _ = reopen(tmp_path)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(i) for i in range(5)])
    store.close()
    path = tmp_path / kept_logs.file_name(ACCOUNT, REGION, GROUP)
    data = bytearray(path.read_bytes())
    data[3] ^= 0x20                                          # inside the header's JSON
    path.write_bytes(bytes(data))
    kept = LogStore(tmp_path).load(known=[(ACCOUNT, REGION, "/aws/lambda/another"), (ACCOUNT, REGION, GROUP)])
    assert messages(kept) == [f"line {i}" for i in range(5)] and kept[0].group == GROUP
    assert "its header line is damaged" in caplog.text
    assert kept_logs_file.header_key(path) == (ACCOUNT, REGION, GROUP)   # rewritten whole


def test_a_damaged_header_is_named_by_the_file_before_the_rotation(tmp_path):
    store, _ = reopen(tmp_path, max_events=4)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(i) for i in range(6)])   # rotated once: .1 and a new file
    store.close()
    path = tmp_path / kept_logs.file_name(ACCOUNT, REGION, GROUP)
    path.write_bytes(b'{"v":1,"acc' + path.read_bytes()[11:])
    assert messages(reopen(tmp_path, max_events=4)[1]) == [f"line {i}" for i in range(2, 6)]


def disk_lines(directory) -> int:
    """Event lines on disk, over every file (headers not counted)."""
    return sum(p.read_bytes().count(b"\n") - 1 for p in directory.iterdir())


def test_events_are_bounded_per_group_oldest_dropped(tmp_path):
    store, _ = reopen(tmp_path, max_events=10)
    for i in range(95):
        store.append(ACCOUNT, REGION, GROUP, "s", [ev(i)])
        assert disk_lines(tmp_path) <= 2 * 10          # rotated as it goes: at most twice the bound on disk
        if i >= 9:
            assert disk_lines(tmp_path) >= 10          # and never fewer than the bound
    store.close()
    assert len(list(tmp_path.iterdir())) == 2          # the current file and the previous one
    assert messages(reopen(tmp_path, max_events=10)[1]) == [f"line {i}" for i in range(85, 95)]


def test_bytes_are_bounded_per_group(tmp_path):
    big = "x" * 1000
    store, _ = reopen(tmp_path, max_bytes=10_000)
    for i in range(100):
        store.append(ACCOUNT, REGION, GROUP, "s", [ev(i, f"{i} {big}")])
    store.close()
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 2 * (10_000 + 1100 + 200)
    kept = messages(reopen(tmp_path, max_bytes=10_000)[1])
    assert len(kept) == 9 and kept[-1] == f"99 {big}"


def test_a_batch_larger_than_the_bound_keeps_its_newest(tmp_path):
    store, _ = reopen(tmp_path, max_events=10)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(i) for i in range(25)])
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(25)])
    store.close()
    assert messages(reopen(tmp_path, max_events=10)[1]) == [f"line {i}" for i in range(16, 26)]


def test_a_smaller_bound_at_load_trims_the_files(tmp_path):
    store, _ = reopen(tmp_path)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(i) for i in range(50)])
    store.close()
    store, kept = reopen(tmp_path, max_events=5)
    store.close()
    assert messages(kept) == [f"line {i}" for i in range(45, 50)]
    assert disk_lines(tmp_path) == 5


def test_a_crash_between_rotation_steps_loses_nothing(tmp_path):
    store, _ = reopen(tmp_path, max_events=10)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(i) for i in range(12)])
    store.close()
    current = tmp_path / kept_logs.file_name(ACCOUNT, REGION, GROUP)
    current.unlink()                                    # renamed to .1, the new file not yet made
    assert messages(reopen(tmp_path, max_events=10)[1]) == [f"line {i}" for i in range(2, 12)]


def test_groups_are_bounded_least_recently_written_dropped(tmp_path):
    store, _ = reopen(tmp_path, max_groups=3)
    for n in range(5):
        store.append(ACCOUNT, REGION, f"/aws/lambda/fn{n}", "s", [ev(n)])
        time.sleep(0.01)
    assert sorted(g for _, _, g in store.groups()) == ["/aws/lambda/fn2", "/aws/lambda/fn3", "/aws/lambda/fn4"]
    store.close()
    assert len(list(tmp_path.glob("*.jsonl"))) == 3


def test_directory_is_0700_and_files_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        store, _ = reopen(tmp_path / "local" / "logs")
        store.append(ACCOUNT, REGION, GROUP, "s", [ev(0)])
        store.close()
    finally:
        os.umask(old)
    directory = tmp_path / "local" / "logs"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()] == [0o600]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_batches_are_synced_at_most_once_a_second_and_the_last_one_later(tmp_path):
    synced: list[int] = []
    scheduled: list = []
    clock = Clock()
    store = LogStore(tmp_path, fsync=synced.append, clock=clock,
                     schedule=lambda delay, callback: scheduled.append((delay, callback)))
    store.load()
    clock.now = 5.0
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(0)])     # first write a second after the last sync: synced now
    data_syncs = len(synced)
    for i in range(1, 50):                                  # 49 more batches within the next 0.5 s
        clock.now = 5.0 + i * 0.01
        store.append(ACCOUNT, REGION, GROUP, "s", [ev(i)])
    assert len(synced) == data_syncs                        # none of them synced on the request path
    assert len(scheduled) == 1 and 0 < scheduled[0][0] <= 1.0
    scheduled[0][1]()                                       # the loop runs the scheduled sync
    assert len(synced) == data_syncs + 1


def test_no_sync_runs_on_the_request_path_when_a_background_is_given(tmp_path):
    synced: list[int] = []
    background: list = []
    clock = Clock()
    store = LogStore(tmp_path, max_events=10, fsync=synced.append, clock=clock, background=background.append,
                     schedule=lambda delay, callback: None)
    store.load()
    synced.clear()
    clock.now = 5.0
    for i in range(35):                                     # a new file, 3 rotations, a due sync
        store.append(ACCOUNT, REGION, GROUP, "s", [ev(i)])
    assert synced == [] and len(background) == 1            # nothing synced inline; one sync handed off
    retired = list(store._retired)
    assert len(retired) == 3
    background[0]()                                         # the executor runs it
    assert set(retired) <= set(synced) and len(synced) >= 4  # retired descriptors synced (then closed) + the dir
    for fd in retired:
        with pytest.raises(OSError):
            os.fstat(fd)
    store.close()
    assert messages(reopen(tmp_path, max_events=10)[1]) == [f"line {i}" for i in range(25, 35)]


def test_a_new_file_whose_header_a_crash_lost_falls_back_to_the_previous_one(tmp_path):
    store, _ = reopen(tmp_path, max_events=10)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(i) for i in range(10)])   # rotated: .1 full, new file made
    store.close()
    (tmp_path / kept_logs.file_name(ACCOUNT, REGION, GROUP)).write_bytes(b"")
    assert messages(reopen(tmp_path, max_events=10)[1]) == [f"line {i}" for i in range(10)]


def test_a_disk_error_is_logged_once_and_never_raised(tmp_path, caplog):
    store, _ = reopen(tmp_path)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(0)])
    entry = store._open[(ACCOUNT, REGION, GROUP)]
    os.close(entry.fd)
    entry.fd = os.open(os.devnull, os.O_RDONLY)             # writes now fail with EBADF
    assert store.append(ACCOUNT, REGION, GROUP, "s", [ev(1)]) is False
    assert store.append(ACCOUNT, REGION, GROUP, "s", [ev(2)]) is False
    assert caplog.text.count("cannot keep log events") == 1


def test_prune_forgets_deleted_groups_durably(tmp_path):
    store, _ = reopen(tmp_path)
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(0)])
    store.append(ACCOUNT, REGION, "/aws/lambda/other", "s", [ev(1)])
    assert store.prune(lambda account, region, group: group != GROUP) == [GROUP]
    store.close()
    assert messages(reopen(tmp_path)[1]) == ["line 1"]


def test_erase(tmp_path):
    store, _ = reopen(tmp_path / "logs")
    store.append(ACCOUNT, REGION, GROUP, "s", [ev(0)])
    store.close()
    assert kept_logs.erase(tmp_path / "logs") is True
    assert not (tmp_path / "logs").exists() and kept_logs.erase(tmp_path / "logs") is False


# --- restore into moto, through the adapter -------------------------------------------------

def test_restore_puts_events_back_with_their_timestamps_streams_and_order(tmp_path):
    now = int(time.time() * 1000)
    old = now - 20 * 86400 * 1000          # older than PutLogEvents' 14-day window: restored all the same
    store, _ = reopen(tmp_path)
    store.append(ACCOUNT, REGION, GROUP, "s1", [{"timestamp": old, "message": "old"},
                                                {"timestamp": now, "message": "a\nb"}])
    store.append(ACCOUNT, REGION, GROUP, "s2", [{"timestamp": now, "message": "c"}])
    store.close()
    with mock_aws():
        def put(account, region, group, stream, events):
            moto_backends.restore_log_events(account, region, group, stream, events, keep=100)
        stats = kept_logs_restore.restore(LogStore(tmp_path), put)
        assert (stats.groups, stats.events) == (1, 3)
        client = boto3.client("logs", region_name=REGION)
        got = client.filter_log_events(logGroupName=GROUP, interleaved=True)["events"]
        assert [(e["timestamp"], e["logStreamName"], e["message"]) for e in got] == [
            (old, "s1", "old"), (now, "s1", "a\nb"), (now, "s2", "c")]


def test_restore_honours_a_groups_retention():
    now = int(time.time() * 1000)
    with mock_aws():
        client = boto3.client("logs", region_name=REGION)
        client.create_log_group(logGroupName=GROUP)
        client.put_retention_policy(logGroupName=GROUP, retentionInDays=14)
        put = moto_backends.restore_log_events(ACCOUNT, REGION, GROUP, "s", [
            {"timestamp": now - 15 * 86400 * 1000, "message": "expired"}, {"timestamp": now, "message": "kept"}],
            keep=100)
        assert put == 1
        assert [e["message"] for e in client.filter_log_events(logGroupName=GROUP)["events"]] == ["kept"]


@pytest.mark.parametrize("keep", [2])
def test_restore_keeps_the_newest_per_stream(keep):
    with mock_aws():
        moto_backends.restore_log_events(ACCOUNT, REGION, GROUP, "s", [
            {"timestamp": int(time.time() * 1000) + i, "message": str(i)} for i in range(5)], keep=keep)
        client = boto3.client("logs", region_name=REGION)
        assert [e["message"] for e in client.filter_log_events(logGroupName=GROUP)["events"]] == ["3", "4"]
        assert moto_backends.log_group_exists(ACCOUNT, REGION, GROUP)
        client.delete_log_group(logGroupName=GROUP)
        assert not moto_backends.log_group_exists(ACCOUNT, REGION, GROUP)
        assert not moto_backends.log_group_exists("000000000000", REGION, GROUP)


def test_deleting_the_stack_that_owns_the_group_drops_its_kept_events(tmp_path):
    """``cleanup`` deletes the stack; moto deletes the stack's log group with it, and prune follows."""
    template = {"Resources": {"G": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete",
                                    "Properties": {"LogGroupName": GROUP, "RetentionInDays": 14}}}}
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="fn-stack", TemplateBody=json.dumps(template))
        store, _ = reopen(tmp_path)
        moto_backends.append_log_events(ACCOUNT, REGION, GROUP, "s", [ev(0) | {"timestamp": int(time.time() * 1000)}],
                                        keep=10)
        store.append(ACCOUNT, REGION, GROUP, "s", [ev(0)])
        assert store.prune(moto_backends.log_group_exists) == []      # the group is there: kept
        cfn.delete_stack(StackName="fn-stack")
        assert store.prune(moto_backends.log_group_exists) == [GROUP]
        store.close()
    assert reopen(tmp_path)[1] == [] and list(tmp_path.iterdir()) == []
