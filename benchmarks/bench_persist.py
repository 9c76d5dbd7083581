"""Benchmark the local target's persistence (the journal of AWS calls, replayed at start).

    python benchmarks/bench_persist.py [--breeds 1000] [--duration 10] [--connections 16] [--rounds 2]

* state: a daemon on a free port; the workshop deployment made with boto3
  (bucket, model, function, REST API with an AWS_PROXY integration, stage
  prod: tests/emulated.deploy) plus N breed models published with the real
  publisher (model + latest.json each: 2 journaled PUTs per breed).
* start-to-ready: ``wildrydes local start`` (a fresh CLI process) until it
  returns, i.e. until the daemon has replayed its journal and answers its
  health probe; median of 3 stop/start cycles. The same with an empty state
  directory for reference. The invoke URL printed before the restarts must
  answer 200 after each.
* throughput: the workshop's POST against that invoke URL, warm, with the
  journal on and either ``WILDRYDES_LOCAL_PERSIST=0`` (nothing kept) or, with
  ``--baseline-src DIR``, the daemon of another source tree (today's main,
  before persistence) holding the same state made live (the deployment and
  the N breeds), rounds interleaved with the order alternating, so machine
  load hits both alike; wrk when installed, else the Python load
  generator of bench_local.py.
* ``--retrain-breeds 200 --retrains 5`` (alone): the deployment, then every
  breed retrained 5 times with the real publisher (each retrain: a new model
  key and ``latest.json`` rewritten); the stopped journal copied to two state
  directories, one compacted with ``wildrydes local compact``, the other
  started with ``WILDRYDES_LOCAL_COMPACT=0``; journal bytes of each, and
  start-to-ready and replay time (daemon log) over 3 starts each, interleaved;
  the invoke URL must answer and every model be listed after each start. Also
  the first start of a third copy, which compacts by itself.
* ``--package-mb 64``: one object the size of the mxnet package, uploaded as
  boto3 does (multipart, 8 MB parts), then start-to-ready and the bytes read
  back (3 cycles), and the journal's size.
* ``--hot-path --baseline-src DIR`` (alone): what a mutating request pays for the
  journal, this tree against another (main's): ``Journal.append`` of a
  PutObject-sized record (1 KiB body) without fsync (the CPU part: framing, both
  checksums) and with it, and of the same 300 KiB body again (a blob that exists:
  reused only after checking it), the two trees' journal modules side by side in
  one process, alternating in 15 short batches (median and fastest batch); and
  sequential S3 PutObject calls (boto3, 1 KiB) against a daemon of each tree,
  rounds interleaved with the order alternating: puts per second.
* ``--large-puts 17 68 --baseline-src DIR`` (alone): large S3 PutObject calls (boto3, one
  object of each size in MiB, as `train --on sagemaker` uploads its channels) against a
  daemon of this tree and one of DIR's, rounds interleaved with the order alternating:
  MiB/s (median of --rounds, 3 puts each). ``--in-flight 2``: 4 puts of each size sent 2 at
  a time, as the command sends its channel objects (MiB/s of the 4 together).
Every daemon started here is stopped by pid.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
import emulated  # noqa: E402
from bench_breeds import BUCKET  # noqa: E402
from bench_local import cli_env, python_load, run_cli, wrk_load  # noqa: E402


def start_timed(env: dict) -> tuple[float, dict]:
    t0 = time.perf_counter()
    status = run_cli(["local", "start"], env)
    return time.perf_counter() - t0, status


def stop(env: dict, pid: int) -> None:
    run_cli(["local", "stop"], env)
    assert emulated.pid_gone(pid), f"daemon {pid} still alive"


BASELINE = """import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
sys.path.insert(0, sys.argv[1])
import wildrydes_cli.local.server as server
assert server.__file__.startswith(sys.argv[1]), server.__file__
sys.exit(server.main(["--port", sys.argv[2], "--state-dir", sys.argv[3]]))
"""


@contextmanager
def baseline_daemon(src: Path, state_dir: Path):
    """The daemon from another source tree (e.g. main's, via `git archive main`), stopped by pid."""
    port = emulated.free_port()
    log = open(state_dir / "baseline.log", "ab")
    proc = subprocess.Popen([sys.executable, "-c", BASELINE, str(src), str(port), str(state_dir)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if emulated.http("GET", f"http://127.0.0.1:{port}/_wildrydes/health", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"baseline daemon did not start; see {state_dir / 'baseline.log'}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its Lambda workers
        except ProcessLookupError:
            pass
        log.close()


def journal_size(home: Path) -> int:
    root = home / "state" / "local" / "journal"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def bench_package(megabytes: int) -> dict:
    """A package-sized object (the mxnet zip is ~64 MB) uploaded as boto3 does (multipart), then
    start-to-ready and the bytes read back, 3 stop/start cycles; journal size (blobs)."""
    import io

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = cli_env(home, emulated.free_port())
        status = run_cli(["local", "start"], env)
        data = os.urandom(megabytes * 1024 * 1024)

        def s3(url: str):
            return _s3(url, home)
        try:
            s3(status["endpoint_url"]).create_bucket(Bucket="code-bucket")
            s3(status["endpoint_url"]).upload_fileobj(io.BytesIO(data), "code-bucket", "package.zip")
        finally:
            stop(env, status["pid"])
        starts = []
        for _ in range(3):
            seconds, status = start_timed(env)
            starts.append(seconds)
            try:
                got = s3(status["endpoint_url"]).get_object(Bucket="code-bucket", Key="package.zip")["Body"].read()
                assert got == data
            finally:
                stop(env, status["pid"])
        return {"package_mb": megabytes, "journal_bytes": journal_size(home),
                "start_to_ready_s": {"median": round(statistics.median(starts), 3),
                                     "all": [round(t, 3) for t in starts]}}


def _replay_seconds(home: Path) -> float:
    """The last start's replay time, as the daemon logged it."""
    log = (home / "state" / "local" / "daemon.log").read_text()
    line = [line for line in log.splitlines() if "journal replay:" in line][-1]
    return float(line.split(" records in ")[1].split(" s")[0])


def _s3(endpoint: str, home: Path):
    """An S3 client signed with the local target's own credentials for this home (its SigV4 gate
    refuses any other; local/awsapi/credentials.py)."""
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.aws.target import target_for
    from wildrydes_cli.settings import Settings

    return Aws(target_for(Settings(target="local", endpoint_url=endpoint, state_dir=home / "state"))).client("s3")


def _retrain_all(endpoint: str, state_dir: Path, breeds: int, round_: int) -> None:
    """One retrain of every breed with the real publisher: a new model key, and latest.json rewritten."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.aws.target import target_for
    from wildrydes_cli.settings import Settings
    from wildrydes_cli.training.publish import publish_model
    from wildrydes_cli.training.sagemaker_archive import write_model_archive

    aws = Aws(target_for(Settings(target="local", endpoint_url=endpoint, state_dir=state_dir)))

    def one(i: int) -> None:
        rng = random.Random(i * 1000 + round_)
        data = write_model_archive([rng.gauss(0, 0.01) for _ in range(6)], rng.gauss(-1, 0.5), "binary_classifier",
                                   threshold=0.5)
        publish_model(aws, BUCKET, data, breed=f"breed-{i:04d}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(breeds)))


def bench_compaction(breeds: int, retrains: int, cycles: int = 3) -> dict:
    """Journal bytes and start-to-ready before vs after compaction, for ``breeds`` retrained ``retrains``
    times after the workshop deployment; the same journal in two state directories, starts interleaved."""
    report: dict = {"breeds": breeds, "retrains": retrains}
    with tempfile.TemporaryDirectory() as tmp:
        homes = {"before": Path(tmp) / "before", "after": Path(tmp) / "after", "auto": Path(tmp) / "auto"}
        envs = {name: cli_env(home, emulated.free_port()) for name, home in homes.items()}
        envs["before"]["WILDRYDES_LOCAL_COMPACT"] = "0"   # the journal as it grew
        status = run_cli(["local", "start"], envs["before"])
        url, state_dir = status["endpoint_url"], homes["before"] / "state"
        deployed = emulated.deploy(url, emulated.function_package(),
                                   {"OUTPUT_BUCKET": "wildrydes-local-data", "MODEL_PATH": "m/model.tar.gz",
                                    "INFERENCE_ENGINE": "lean"},
                                   extra_objects={"m/model.tar.gz": emulated.workshop_model()}, state_dir=state_dir)
        emulated.clients(url, state_dir=state_dir, services=("s3",))["s3"].create_bucket(Bucket=BUCKET)
        t0 = time.perf_counter()
        for round_ in range(retrains):
            _retrain_all(url, state_dir, breeds, round_)
        report["publish_s"] = round(time.perf_counter() - t0, 2)
        stop(envs["before"], status["pid"])
        for name in ("after", "auto"):
            shutil.copytree(homes["before"], homes[name], symlinks=True)
        report["journal_bytes_before"] = journal_size(homes["before"])
        t0 = time.perf_counter()
        report["compact_command"] = run_cli(["local", "compact"], envs["after"])
        report["compact_command_s"] = round(time.perf_counter() - t0, 3)
        report["journal_bytes_after"] = journal_size(homes["after"])
        starts: dict[str, list[float]] = {"before": [], "after": []}
        replays: dict[str, list[float]] = {"before": [], "after": []}
        t0 = time.perf_counter()
        status = run_cli(["local", "start"], envs["auto"])   # compacts by itself first: what a user sees once
        report["first_start_with_auto_compaction_s"] = round(time.perf_counter() - t0, 3)
        stop(envs["auto"], status["pid"])
        log = (homes["auto"] / "state" / "local" / "daemon.log").read_text()
        report["auto_log"] = [line.split(": ", 1)[-1] for line in log.splitlines() if "compaction:" in line]
        for cycle in range(cycles):
            for name in (("before", "after") if cycle % 2 == 0 else ("after", "before")):
                seconds, status = start_timed(envs[name])
                starts[name].append(seconds)
                replays[name].append(_replay_seconds(homes[name]))
                invoke = f"{status['endpoint_url']}/restapis/{deployed.api_id}/prod/_user_request_/"
                code, _, body = emulated.http("POST", invoke, emulated.WORKSHOP_BODY,
                                              {"Content-Type": "application/json"})
                assert code == 200, (name, code, body)
                s3 = emulated.clients(status["endpoint_url"], state_dir=homes[name] / "state", services=("s3",))["s3"]
                listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="breeds/breed-0000/")["KeyCount"]
                assert listed == retrains + 1, (name, listed)
                stop(envs[name], status["pid"])
        for name in ("before", "after"):
            report[f"start_to_ready_{name}_s"] = {"median": round(statistics.median(starts[name]), 3),
                                                  "all": [round(t, 3) for t in starts[name]]}
            report[f"replay_{name}_s"] = {"median": round(statistics.median(replays[name]), 3),
                                          "all": [round(t, 3) for t in replays[name]]}
        report["ratio_journal_bytes_after_over_before"] = round(
            report["journal_bytes_after"] / report["journal_bytes_before"], 3)
        report["ratio_replay_after_over_before"] = round(
            report["replay_after_s"]["median"] / report["replay_before_s"]["median"], 3)
        report["ratio_start_after_over_before"] = round(
            report["start_to_ready_after_s"]["median"] / report["start_to_ready_before_s"]["median"], 3)
    return report


APPEND = r"""
import importlib.util, json, os, statistics, sys, tempfile, time
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
n, size, sync, where, trees = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], sys.argv[5:]
sys.path.insert(0, trees[0])
modules = []
for i, tree in enumerate(trees):   # each tree's journal module, loaded side by side (the rest is this tree's)
    path = os.path.join(tree, "wildrydes_cli", "local", "awsapi", "journal.py")
    spec = importlib.util.spec_from_file_location(f"journal_{i}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    modules.append(module)
meta = {"kind": "request", "seq": 0, "seed": 1 << 40, "method": "PUT", "target": "/wildrydes-data/breeds/x",
        "version": "HTTP/1.1", "headers": [["Host", "127.0.0.1:4566"], ["Content-Type", "application/json"],
        ["Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/20261126/us-east-1/s3/aws4_request, "
         "SignedHeaders=host, Signature=0"]], "status": 200}
body = os.urandom(size)
times = [[] for _ in modules]
with tempfile.TemporaryDirectory(dir=where) as directory:
    journals = []
    for i, module in enumerate(modules):
        journal = module.Journal(os.path.join(directory, str(i)), fsync=os.fsync if sync else (lambda fd: None))
        journal.open()
        journals.append(journal)
    for batch in range(15):            # alternate in short batches: the machine's load hits both alike
        for i in (range(len(journals)) if batch % 2 == 0 else reversed(range(len(journals)))):
            t0 = time.perf_counter()
            for _ in range(n):
                journals[i].append(meta, body)
            times[i].append((time.perf_counter() - t0) / n * 1e6)
print(json.dumps([{"median_us": round(statistics.median(t), 2), "min_us": round(min(t), 2)} for t in times]))
"""


def _append_us(trees: list[Path], n: int, size: int, sync: bool, where: Path) -> list[dict]:
    """Journal.append of each tree in one process, alternating batches: µs per append (median, min)."""
    out = subprocess.run([sys.executable, "-c", APPEND, str(n), str(size), "1" if sync else "0", str(where),
                          *map(str, trees)], capture_output=True, text=True, timeout=1800, check=True)
    return json.loads(out.stdout)


def _puts_per_second(url: str, state_dir: Path, n: int) -> float:
    s3 = emulated.clients(url, state_dir=state_dir, services=("s3",))["s3"]
    s3.create_bucket(Bucket="hot-path")
    body = os.urandom(1024)
    for i in range(20):                                  # warm: clients, connections, moto's caches
        s3.put_object(Bucket="hot-path", Key=f"warm-{i}", Body=body)
    t0 = time.perf_counter()
    for i in range(n):
        s3.put_object(Bucket="hot-path", Key=f"k-{i % 50}", Body=body)
    return n / (time.perf_counter() - t0)


def _large_put_seconds(url: str, state_dir: Path, megabytes: int, puts: int = 3, in_flight: int = 1) -> float:
    s3 = emulated.clients(url, state_dir=state_dir, services=("s3",))["s3"]
    s3.create_bucket(Bucket="large-puts")
    s3.put_object(Bucket="large-puts", Key="warm", Body=os.urandom(1 << 20))
    if in_flight > 1:                             # seconds per object of 2 * in_flight sent in_flight at a time
        from concurrent.futures import ThreadPoolExecutor
        bodies = [os.urandom(megabytes << 20) for _ in range(2 * in_flight)]
        with ThreadPoolExecutor(in_flight) as pool:
            t0 = time.perf_counter()
            list(pool.map(lambda i: s3.put_object(Bucket="large-puts", Key=f"k-{megabytes}-{i}", Body=bodies[i]),
                          range(len(bodies))))
            return (time.perf_counter() - t0) / len(bodies)
    seconds = []
    for i in range(puts):
        body = os.urandom(megabytes << 20)        # new bytes each time: no blob to reuse
        t0 = time.perf_counter()
        s3.put_object(Bucket="large-puts", Key=f"k-{megabytes}-{i}", Body=body)
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds)


def bench_large_puts(baseline: Path, sizes: list[int], rounds: int, in_flight: int = 1) -> dict:
    """MiB/s of large PutObjects, this tree's daemon against the baseline's, interleaved rounds."""
    trees = {"this": HERE.parent, "baseline": baseline.resolve()}
    found: dict = {tree: {size: [] for size in sizes} for tree in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(rounds):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for tree in order:
                state = Path(tmp) / f"{tree}-{number}"
                state.mkdir()
                with baseline_daemon(trees[tree], state) as url:
                    for size in sizes:
                        found[tree][size].append(size / _large_put_seconds(url, state, size, in_flight=in_flight))
                shutil.rmtree(state, ignore_errors=True)
    out: dict = {}
    for size in sizes:
        this, base = statistics.median(found["this"][size]), statistics.median(found["baseline"][size])
        out[f"{size}_MiB"] = {"this_MiB_per_s": round(this, 1), "baseline_MiB_per_s": round(base, 1),
                              "speedup": round(this / base, 2)}
    return {"large_puts": out, "in_flight": in_flight}


def bench_hot_path(baseline: Path, appends: int, puts: int, rounds: int) -> dict:
    """This tree against ``baseline``: Journal.append (with and without fsync), and S3 puts/s over HTTP."""
    here = HERE.parent
    report: dict = {"rounds": rounds, "appends_per_batch": appends, "puts": puts}
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        for case, (size, sync) in {"append_1k_cpu": (1024, False), "append_1k_fsync": (1024, True),
                                   "append_300k_same_blob_cpu": (300 * 1024, False)}.items():
            count = appends if size <= 4096 else max(10, appends // 10)
            this, base = _append_us([here, baseline], count if not sync else max(10, count // 10), size, sync,
                                    where)
            report[case] = {"this_us": this, "baseline_us": base,
                            "ratio_median": round(this["median_us"] / base["median_us"], 3),
                            "ratio_min": round(this["min_us"] / base["min_us"], 3)}
            print(case, report[case], file=sys.stderr)
        runs: dict[str, list[float]] = {"this": [], "baseline": []}
        for round_ in range(rounds):
            order = ("this", "baseline") if round_ % 2 == 0 else ("baseline", "this")
            for label in order:
                if label == "this":
                    home = where / f"this-{round_}"
                    env = cli_env(home, emulated.free_port())
                    status = run_cli(["local", "start"], env)
                    try:
                        runs[label].append(_puts_per_second(status["endpoint_url"], home / "state", puts))
                    finally:
                        stop(env, status["pid"])
                else:
                    state_dir = where / f"baseline-{round_}"
                    state_dir.mkdir()
                    with baseline_daemon(baseline, state_dir) as url:
                        runs[label].append(_puts_per_second(url, state_dir, puts))
                print(round_, label, round(runs[label][-1], 1), file=sys.stderr)
        report["s3_puts_per_s"] = {k: [round(v, 1) for v in vs] for k, vs in runs.items()}
        report["s3_puts_ratio_of_medians"] = round(statistics.median(runs["this"]) /
                                                   statistics.median(runs["baseline"]), 3)
    return report


def _alone(args: argparse.Namespace, parser: argparse.ArgumentParser):
    """The measurement asked to run alone (--hot-path, --large-puts, --retrain-breeds), or None."""
    if (args.hot_path or args.large_puts) and not args.baseline_src:
        parser.error("--hot-path and --large-puts compare with another tree: give --baseline-src DIR")
    if args.hot_path:
        return lambda: bench_hot_path(args.baseline_src, args.appends, args.puts, args.rounds)
    if args.large_puts:
        return lambda: bench_large_puts(args.baseline_src, args.large_puts, args.rounds, args.in_flight)
    if args.retrain_breeds:
        return lambda: bench_compaction(args.retrain_breeds, args.retrains)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--breeds", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--package-mb", type=int, default=0,
                        help="also time start-to-ready with one object of this size (64 = the mxnet zip)")
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="compare throughput with the daemon from this source tree (e.g. "
                             "`git archive main wildrydes_cli | tar -x -C DIR`) instead of WILDRYDES_LOCAL_PERSIST=0")
    parser.add_argument("--retrain-breeds", type=int, default=0,
                        help="only this: journal bytes and start-to-ready before vs after compaction for N breeds "
                             "retrained --retrains times (200 and 5: 1,000 models, 800 superseded indexes)")
    parser.add_argument("--retrains", type=int, default=5)
    parser.add_argument("--hot-path", action="store_true",
                        help="only this: Journal.append and S3 puts/s against --baseline-src, interleaved")
    parser.add_argument("--large-puts", type=int, nargs="+", default=None, metavar="MIB",
                        help="only this: large PutObject MiB/s against --baseline-src, interleaved")
    parser.add_argument("--in-flight", type=int, default=1,
                        help="with --large-puts: objects sent at a time (2: as train --on sagemaker sends them)")
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--puts", type=int, default=300)
    args = parser.parse_args()
    alone = _alone(args, parser)
    if alone is not None:
        print(json.dumps({"cpu_count": os.cpu_count(), "load_avg_at_start": os.getloadavg(), **alone(),
                          "load_avg_at_end": os.getloadavg()}, indent=2))
        return 0

    report: dict = {"cpu_count": os.cpu_count(), "breeds": args.breeds,
                    "load_avg_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = cli_env(home, emulated.free_port())
        empty_starts = []
        for _ in range(3):
            seconds, status = start_timed(env)
            empty_starts.append(seconds)
            stop(env, status["pid"])
        status = run_cli(["local", "start"], env)
        url = status["endpoint_url"]
        deployed = emulated.deploy(url, emulated.function_package(),
                                   {"OUTPUT_BUCKET": "wildrydes-local-data", "MODEL_PATH": "m/model.tar.gz",
                                    "INFERENCE_ENGINE": "lean"},
                                   extra_objects={"m/model.tar.gz": emulated.workshop_model()},
                                   state_dir=home / "state")
        s3 = _s3(url, home)
        s3.create_bucket(Bucket=BUCKET)
        t0 = time.perf_counter()
        _retrain_all(url, home / "state", args.breeds, 0)
        report["publish_s"] = round(time.perf_counter() - t0, 2)
        stop(env, status["pid"])
        report["journal_bytes"] = journal_size(home)
        starts = []
        for _ in range(3):
            seconds, status = start_timed(env)
            starts.append(seconds)
            code, _, body = emulated.http("POST", deployed.invoke_url, emulated.WORKSHOP_BODY,
                                          {"Content-Type": "application/json"})
            assert code == 200, (code, body)
            count = s3.list_objects_v2(Bucket=BUCKET, Prefix="breeds/")["KeyCount"]
            assert count == min(1000, 2 * args.breeds), count
            stop(env, status["pid"])
        report["start_to_ready_empty_s"] = {"median": round(statistics.median(empty_starts), 3),
                                            "all": [round(t, 3) for t in empty_starts]}
        report["start_to_ready_with_state_s"] = {"median": round(statistics.median(starts), 3),
                                                 "all": [round(t, 3) for t in starts]}
        log = (home / "state" / "local" / "daemon.log").read_text()
        report["replay_log"] = [line.split(": ", 1)[-1] for line in log.splitlines() if "journal replay" in line][-1]
        print(json.dumps(report), file=sys.stderr)

        load = wrk_load if shutil.which("wrk") else python_load
        other = f"baseline {args.baseline_src}" if args.baseline_src else "WILDRYDES_LOCAL_PERSIST=0"
        runs: dict[str, list[float]] = {"journal on": [], other: []}

        def measure(label: str, target: str) -> None:
            load(target, emulated.WORKSHOP_BODY, 2, args.connections)  # warm
            result = load(target, emulated.WORKSHOP_BODY, args.duration, args.connections)
            assert result["errors"] == 0, result
            runs[label].append(result["rps"])
            print(label, round(result["rps"]), file=sys.stderr)

        def fresh_deploy(url: str) -> str:
            """Nothing replayed: make the same state again (deployment and breeds), live."""
            invoke_url = emulated.deploy(url, emulated.function_package(),
                                         {"OUTPUT_BUCKET": "wildrydes-local-data", "MODEL_PATH": "m/model.tar.gz",
                                          "INFERENCE_ENGINE": "lean"},
                                         extra_objects={"m/model.tar.gz": emulated.workshop_model()},
                                         state_dir=home / "state").invoke_url
            _s3(url, home).create_bucket(Bucket=BUCKET)
            _retrain_all(url, home / "state", args.breeds, 0)
            return invoke_url

        def journal_on() -> None:
            status = run_cli(["local", "start"], env)
            try:
                measure("journal on", deployed.invoke_url)
            finally:
                stop(env, status["pid"])

        def the_other() -> None:
            if args.baseline_src:
                with tempfile.TemporaryDirectory() as base_dir, \
                        baseline_daemon(args.baseline_src, Path(base_dir)) as base_url:
                    measure(other, fresh_deploy(base_url))
                return
            off_env = {**env, "WILDRYDES_LOCAL_PERSIST": "0"}
            status = run_cli(["local", "start"], off_env)
            try:
                measure(other, fresh_deploy(status["endpoint_url"]))
            finally:
                stop(off_env, status["pid"])

        for round_ in range(args.rounds):  # alternate which goes first
            for step in ((journal_on, the_other) if round_ % 2 == 0 else (the_other, journal_on)):
                step()
        if args.rounds:
            report["throughput_rps"] = {k: [round(v) for v in vs] for k, vs in runs.items()}
            on, off = (statistics.median(v) for v in runs.values())
            key = "throughput_ratio_journal_on_over_" + ("baseline" if args.baseline_src else "off")
            report[key] = round(on / off, 3)
    if args.package_mb:
        report["package"] = bench_package(args.package_mb)
    report["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
