"""Benchmark keeping the function's log events across restarts (kept_logs.py).

    python benchmarks/bench_logkeep.py [--invocations 20000] [--batch 100] [--events 10000] [--starts 3]

* cost per request, in process: what the runner does per invocation for its
  logs (``LogSink.add`` of Lambda's 5 lines: START, the function's request
  line, END, REPORT, plus one more) and, every ``--batch`` invocations (the
  0.2 s flush at ~500 requests/s), ``LogSink.flush`` into moto's logs backend,
  with and without the store (real files, real fdatasync at most once a
  second, in a thread as in the daemon); blocks alternate so machine load hits both alike. Also the cost of
  one fdatasync of a small append here, the price a per-request sync would
  have paid, and the longest flush (it runs on the event loop).
* start time: a daemon on a free port with a function and API deployed, then
  ``--events`` events written into the store; ``daemon.start`` to ready
  (journal replay, log restore, health probe), median of ``--starts``, against
  the same state directory without the store. The kept events must be served
  after the start. Every daemon started here is stopped by pid.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
import emulated  # noqa: E402

from wildrydes_cli.layout import function_log_group  # noqa: E402
from wildrydes_cli.local.awsapi import moto_backends  # noqa: E402
from wildrydes_cli.local.invoke import kept_logs, kept_logs_restore, lambda_log_lines  # noqa: E402
from wildrydes_cli.local.invoke.lambda_log_lines import Invocation, LogSink, invocation_lines  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
RID = "8f5c2f4e-1111-2222-3333-444455556666"


def lines_of(i: int) -> list[str]:
    request = f"[INFO]\t2026-11-26T04:30:00.000Z\t{RID}\trequest POST '/' breed=- status=200 ms=0.31 n={i}"
    return invocation_lines(Invocation(RID, (request, "printed line"), 0.42, 128, 51))


def per_request(invocations: int, batch: int, directory: Path | None) -> tuple[float, float]:
    """(µs per invocation, longest flush in ms) writing into moto, and into the store when ``directory``."""
    write = moto_backends.append_log_events
    store = None
    pool = None
    if directory is not None:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(1)              # as the daemon: syncs in its executor, off the loop
        store = kept_logs.LogStore(directory, background=pool.submit)
        store.load()
        write = store.keeping(write)
    sink = LogSink(write, schedule=lambda delay, callback: None)   # flushed by hand below, every ``batch``
    stream = lambda_log_lines.stream_name()
    name = "bench-store" if store else "bench-plain"
    longest = 0.0
    t0 = time.perf_counter()
    for i in range(invocations):
        sink.add(ACCOUNT, REGION, name, stream, lines_of(i))
        if (i + 1) % batch == 0:
            f0 = time.perf_counter()
            sink.flush()
            longest = max(longest, time.perf_counter() - f0)
    sink.flush()
    elapsed = time.perf_counter() - t0
    if store is not None and pool is not None:
        pool.shutdown(wait=True)
        store.close()
    return elapsed / invocations * 1e6, longest * 1e3


def fdatasync_cost(directory: Path, n: int = 50) -> float:
    path = directory / "sync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 120 + b"\n")
            t0 = time.perf_counter()
            os.fdatasync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times) * 1e3


def restore_cost(directory: Path, events: int) -> float:
    """kept_logs_restore.restore of ``events`` events in one group (read, parse, put into moto's backend)."""
    store = kept_logs.LogStore(directory)
    store.load()
    now = int(time.time() * 1000) - events
    for i in range(0, events, 5):
        store.append(ACCOUNT, "eu-west-1", "/aws/lambda/restore", f"s{i // 2500}",
                     [{"timestamp": now + i + k, "message": line} for k, line in enumerate(lines_of(i))])
    store.close()

    def put(account: str, region: str, group: str, stream: str, kept: list[dict]) -> None:
        moto_backends.restore_log_events(account, region, group, stream, kept, LogSink.MAX_EVENTS_PER_STREAM)

    stats = kept_logs_restore.restore(kept_logs.LogStore(directory), put)
    assert stats.events == events, stats
    return stats.seconds


def start_times(events: int, starts: int) -> dict:
    from wildrydes_cli.local import daemon
    from wildrydes_cli.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="bench-logkeep-"))
    try:
        with_store, without = root / "with", root / "without"
        port = emulated.free_port()
        with emulated.emulator(with_store, port) as status:
            deployed = emulated.deploy(status.endpoint_url, emulated.zip_files({"index.py": (
                "def handler(e, c):\n    return {'statusCode': 200, 'body': 'ok'}\n")}), {},
                function_name="fn")
        store = kept_logs.LogStore(kept_logs.store_dir(with_store))
        store.load()
        now = int(time.time() * 1000) - events
        for i in range(0, events, 5):
            store.append(ACCOUNT, REGION, function_log_group(deployed.function_name), "s",
                         [{"timestamp": now + i + k, "message": line} for k, line in enumerate(lines_of(i))])
        store.close()
        shutil.copytree(with_store, without)
        kept_logs.erase(kept_logs.store_dir(without))
        out: dict = {}
        for label, state_dir in (("with", with_store), ("without", without)) * starts:
            settings = Settings(state_dir=state_dir, local_port=port)
            t0 = time.perf_counter()
            started = daemon.start(settings)
            took = time.perf_counter() - t0
            try:
                if label == "with":
                    logs = emulated.clients(started.endpoint_url, state_dir=state_dir, services=("logs",))["logs"]
                    served = 0
                    kwargs: dict = {"logGroupName": "/aws/lambda/fn", "startTime": 0}
                    while True:
                        page = logs.filter_log_events(**kwargs)
                        served += len(page["events"])
                        if not page.get("nextToken"):
                            break
                        kwargs["nextToken"] = page["nextToken"]
                    assert served == min(events, LogSink.MAX_EVENTS_PER_STREAM), served
            finally:
                daemon.stop(settings)
                assert emulated.pid_gone(started.pid)
            out.setdefault(label, []).append(took)
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invocations", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-logstore-"))
    try:
        per_request(2000, args.batch, work / "warm")      # imports moto's logs backend, warms both paths
        per_request(2000, args.batch, None)
        plain, kept, flushes, plain_flushes = [], [], [], []
        for block in range(args.blocks):
            order = (False, True) if block % 2 == 0 else (True, False)
            for keep in order:
                us, longest = per_request(args.invocations, args.batch, work / f"b{block}" if keep else None)
                (kept if keep else plain).append(us)
                (flushes if keep else plain_flushes).append(longest)
        p, k = statistics.median(plain), statistics.median(kept)
        print(f"per invocation (5 log lines, flush every {args.batch}): without store {p:.2f} µs, "
              f"with store {k:.2f} µs, ratio {k / p:.2f}x, +{k - p:.2f} µs")
        print(f"  blocks without: {' '.join(f'{x:.2f}' for x in plain)}")
        print(f"  blocks with:    {' '.join(f'{x:.2f}' for x in kept)}")
        print(f"longest flush (event loop time), median over blocks: with the store {statistics.median(flushes):.1f} ms, "
              f"without {statistics.median(plain_flushes):.1f} ms; worst {max(flushes):.1f} / {max(plain_flushes):.1f} ms")
        print(f"one fdatasync of a 120-byte append here: {fdatasync_cost(work):.2f} ms (median of 50)")
        print(f"restore of {args.events} kept events into moto, in process: {restore_cost(work / 'r', args.events):.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.starts < 1:
        return
    times = start_times(args.events, args.starts)
    w, wo = statistics.median(times["with"]), statistics.median(times["without"])
    print(f"daemon start to ready: without kept events {wo:.2f} s, with {args.events} kept events {w:.2f} s, "
          f"+{w - wo:.2f} s ({w / wo:.2f}x); runs with {['%.2f' % x for x in times['with']]}, "
          f"without {['%.2f' % x for x in times['without']]}")


if __name__ == "__main__":
    main()
