"""Soak the local target: does the daemon's memory or its state directory grow under steady load?

    python benchmarks/bench_soak.py [--minutes 30] [--connections 64] [--interval 10] [--warmup 2]
                                    [--overwrites 300] [--object-kib 1024] [--python PATH] [--json FILE]

* a daemon on a free port with persistence and log keeping on (the default), the
  deployed lambda/ package (lean engine, a 6-feature model in the emulated S3);
* a burst of S3 overwrites of one key first: ``--overwrites`` PUTs of a
  ``--object-kib`` object, each with new content (a retrained model), the daemon's
  resident memory sampled before, halfway and after: the second half should add
  nothing (moto kept every replaced object);
* then ``--minutes`` of the workshop's POST on ``--connections`` keep-alive
  connections against the invoke URL, from a load generator in a child process
  (asyncio, raw HTTP/1.1); every ``--interval`` seconds the daemon's ``VmRSS``
  (``/proc/PID/status``), its workers' summed RSS, and the state directory's size
  by part (journal, kept log events, daemon.log and its rotations, the rest);
* the verdict after ``--warmup`` minutes: every later RSS sample within 50 MB of the
  one at the end of the warm-up, the state directory grown by no more than 50 MB, and
  no failed request. Exit 0 when all hold, 1 otherwise.

``--python`` runs the daemon (and so its workers) with another interpreter, e.g. the
venv of another source tree (``git archive <commit> | tar -x -C DIR``, ``python3.11 -m
venv DIR/.venv``, ``DIR/.venv/bin/pip install -e DIR``), for a before/after comparison:
run the two alternately. The run stops by itself (the load generator has its own
deadline and is killed past it); the daemon and the load generator are stopped by pid.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
import emulated  # noqa: E402

FLAT_MB = 50
MODEL_KEY = "m/model.tar.gz"
BUCKET = "wildrydes-local-data"


# --- the daemon, started with a chosen interpreter ------------------------------------

_START = """
import json, sys
from pathlib import Path
from wildrydes_cli.local import daemon
from wildrydes_cli.settings import Settings
status = daemon.start(Settings(state_dir=Path(sys.argv[1]), local_port=0))
print(json.dumps({"pid": status.pid, "url": status.endpoint_url}))
"""


@contextlib.contextmanager
def running_daemon(python: str, state_dir: Path):
    """(pid, url) of a daemon started by ``daemon.start`` of ``python``'s wildrydes_cli; stopped by pid."""
    out = subprocess.run([python, "-c", _START, str(state_dir)], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"the daemon did not start: {out.stderr[-2000:]}")
    started = json.loads(out.stdout.strip().splitlines()[-1])
    pid = started["pid"]
    try:
        yield pid, started["url"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not emulated.pid_gone(pid, timeout=15):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)   # it leads its session: its workers go too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)       # workers normally die with it; make sure
        assert emulated.pid_gone(pid), f"daemon pid {pid} still alive"


# --- what is sampled -------------------------------------------------------------------

def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def workers_rss_mb(pid: int) -> float:
    total = 0.0
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(OSError):
            total += rss_mb(int(child))
    return total


def state_sizes(state_dir: Path) -> dict[str, int]:
    """Bytes under the state directory, by part: journal, kept log events, daemon.log*, the rest."""
    parts = {"journal": 0, "kept_logs": 0, "daemon_log": 0, "other": 0}
    local = state_dir / "local"
    for root, _, files in os.walk(state_dir):
        for name in files:
            path = Path(root) / name
            try:
                size = path.stat().st_size
            except OSError:   # rotated or replaced meanwhile
                continue
            if path.is_relative_to(local / "journal"):
                parts["journal"] += size
            elif path.is_relative_to(local / "logs"):
                parts["kept_logs"] += size
            elif name.startswith("daemon.log"):
                parts["daemon_log"] += size
            else:
                parts["other"] += size
    return parts


def sample(pid: int, state_dir: Path, t0: float, requests: int, errors: int) -> dict:
    sizes = state_sizes(state_dir)
    return {"t_s": round(time.monotonic() - t0, 1), "rss_mb": round(rss_mb(pid), 1),
            "workers_rss_mb": round(workers_rss_mb(pid), 1), "state_mb": round(sum(sizes.values()) / 2**20, 2),
            **{f"{k}_mb": round(v / 2**20, 2) for k, v in sizes.items()}, "requests": requests, "errors": errors}


# --- the S3 overwrite burst -------------------------------------------------------------

def overwrite_burst(pid: int, s3, count: int, size: int) -> dict:
    """``count`` PUTs of one key, new content each time; RSS before, halfway, after (MB)."""
    base = os.urandom(size)
    before = rss_mb(pid)
    halfway = before
    t0 = time.perf_counter()
    for i in range(count):
        body = i.to_bytes(8, "big") + base[8:]
        s3.put_object(Bucket=BUCKET, Key="soak/overwritten.bin", Body=body)
        if i + 1 == count // 2:
            halfway = rss_mb(pid)
    after = rss_mb(pid)
    return {"overwrites": count, "object_bytes": size, "seconds": round(time.perf_counter() - t0, 1),
            "rss_before_mb": round(before, 1), "rss_halfway_mb": round(halfway, 1), "rss_after_mb": round(after, 1),
            "second_half_growth_mb": round(after - halfway, 1)}


# --- the load generator (a child process) -----------------------------------------------

async def _connection(host: str, port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await asyncio.wait_for(reader.readexactly(length), 30)
            counts[0] += 1
            if status != 200:
                counts[1] += 1
            if b"connection: close" in head.lower():
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError):
            counts[0] += 1
            counts[1] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.1)
    if writer is not None:
        writer.close()


async def _load(url: str, body: str, seconds: float, connections: int, every: float) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    data = body.encode()
    request = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    deadline = time.monotonic() + seconds
    counts = [0, 0]   # requests, errors

    async def report() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(min(every, max(0.0, deadline - time.monotonic())))
            print(json.dumps({"requests": counts[0], "errors": counts[1]}), flush=True)

    reporter = asyncio.ensure_future(report())
    await asyncio.gather(*(_connection(parts.hostname or "127.0.0.1", parts.port or 80, request, deadline, counts)
                           for _ in range(connections)))
    reporter.cancel()
    print(json.dumps({"requests": counts[0], "errors": counts[1], "done": True}), flush=True)


def load_child_main(url: str, seconds: float, connections: int, every: float) -> int:
    try:
        import uvloop
        uvloop.run(_load(url, emulated.WORKSHOP_BODY, seconds, connections, every))
    except ImportError:
        asyncio.run(_load(url, emulated.WORKSHOP_BODY, seconds, connections, every))
    return 0


class LoadChild:
    """The load generator process; its latest counters read by a thread from its stdout."""

    def __init__(self, url: str, seconds: float, connections: int, every: float):
        self.proc = subprocess.Popen([sys.executable, __file__, "--load-child", url, str(seconds), str(connections),
                                      str(every)], stdout=subprocess.PIPE, text=True)
        self.latest = {"requests": 0, "errors": 0}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.latest = json.loads(line)
        self.done.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.thread.join(timeout=5)


# --- the run ---------------------------------------------------------------------------------

def slope_per_10_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per 10 minutes."""
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return 600 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread if spread else 0.0


def verdict(samples: list[dict], warmup_s: float) -> dict:
    """Flat: every RSS sample after the warm-up within FLAT_MB of the first one after it, the state
    directory grown by at most FLAT_MB, no failed request. The trend (least squares) and the range
    say how far from flat a run that is not was."""
    settled = [s for s in samples if s["t_s"] >= warmup_s]
    if len(settled) < 2:
        return {"flat": False, "why": "too few samples after the warm-up"}
    ref = settled[0]
    rss = [s["rss_mb"] for s in settled]
    rss_dev = max(abs(v - ref["rss_mb"]) for v in rss)
    state_growth = max(s["state_mb"] for s in settled) - ref["state_mb"]
    errors = samples[-1]["errors"]
    return {"after_warmup_reference": {"t_s": ref["t_s"], "rss_mb": ref["rss_mb"], "state_mb": ref["state_mb"]},
            "rss_max_deviation_mb": round(rss_dev, 1), "rss_last_minus_reference_mb":
                round(settled[-1]["rss_mb"] - ref["rss_mb"], 1),
            "rss_range_mb": [min(rss), max(rss)],
            "rss_trend_mb_per_10_min": round(slope_per_10_min([(s["t_s"], s["rss_mb"]) for s in settled]), 1),
            "state_growth_mb": round(state_growth, 2),
            "state_trend_mb_per_10_min": round(slope_per_10_min([(s["t_s"], s["state_mb"]) for s in settled]), 2),
            "errors": errors,
            "flat": rss_dev <= FLAT_MB and state_growth <= FLAT_MB and errors == 0}


def soak(args: argparse.Namespace) -> dict:
    report: dict = {"python": args.python, "minutes": args.minutes, "connections": args.connections,
                    "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="wildrydes-soak-") as tmp:
        state_dir = Path(tmp) / "state"
        with running_daemon(args.python, state_dir) as (pid, url):
            deployed = emulated.deploy(url, emulated.function_package(),
                                       {"OUTPUT_BUCKET": BUCKET, "MODEL_PATH": MODEL_KEY, "INFERENCE_ENGINE": "lean"},
                                       extra_objects={MODEL_KEY: emulated.workshop_model()}, state_dir=state_dir)
            code, _, body = emulated.http("POST", deployed.invoke_url, emulated.WORKSHOP_BODY,
                                          {"Content-Type": "application/json"})
            assert code == 200, (code, body)
            report["rss_after_deploy_mb"] = round(rss_mb(pid), 1)
            if args.overwrites:
                report["overwrite_burst"] = burst = overwrite_burst(pid, deployed.aws["s3"], args.overwrites,
                                                                   args.object_kib * 1024)
                print(json.dumps({"overwrite_burst": burst}), file=sys.stderr)
            seconds = args.minutes * 60
            load = LoadChild(deployed.invoke_url, seconds, args.connections, args.interval)
            samples: list[dict] = []
            t0 = time.monotonic()
            hard_stop = t0 + seconds + 60
            try:
                while not load.done.is_set() and time.monotonic() < hard_stop:
                    load.done.wait(timeout=max(0.0, t0 + (len(samples) + 1) * args.interval - time.monotonic()))
                    got = sample(pid, state_dir, t0, load.latest["requests"], load.latest["errors"])
                    samples.append(got)
                    print(json.dumps(got), file=sys.stderr)
            finally:
                load.stop()
            report["samples"] = samples
            elapsed = samples[-1]["t_s"] if samples else 0
            report["requests_per_s"] = round(samples[-1]["requests"] / elapsed, 1) if elapsed else 0
            report["verdict"] = verdict(samples, args.warmup * 60)
    report["load_average_at_end"] = os.getloadavg()
    return report


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--load-child":
        url, seconds, connections, every = sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        return load_child_main(url, seconds, connections, every)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=2.0, help="minutes before the flatness is judged")
    parser.add_argument("--overwrites", type=int, default=300)
    parser.add_argument("--object-kib", type=int, default=1024)
    parser.add_argument("--python", default=sys.executable, help="the interpreter (venv) that runs the daemon")
    parser.add_argument("--json", metavar="FILE", help="also write the report here")
    args = parser.parse_args()
    report = soak(args)
    text = json.dumps(report, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    summary = {k: v for k, v in report.items() if k != "samples"}
    print(json.dumps(summary, indent=2))
    return 0 if report["verdict"]["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
