"""Benchmark: `train --on sagemaker` on the local target against `train --on local`, the channel writer, breeds.

Measures, with a local target started for the run (free port, its own WILDRYDES_HOME, stopped by pid):
  job       for each --rows N: fresh `wildrydes train --trainer numpy --rows N` and `wildrydes train
            --on sagemaker --rows N --content-type T` processes (for each T of --content-type), interleaved
            --rounds times (medians): seconds from the command to the model in the bucket, rows/s, and the
            job's overhead (goal: <= 1 s; rows/s within 10% of local). All train with the numpy trainer on
            the same rows. With two or more --rows, "marginal": each path's rows/s over the rows added
            from the smallest to the largest (the fixed cost paid once), and their ratio. "training":
            the job's SecondaryStatus Training phase (channels read, trained, model written) against
            `--on local`'s own training seconds: the training rows/s ratio, apart from the upload.
            Each round trains on rides of its own (--seed: the round's number, the same for both paths
            of a round), so every job uploads new bytes, as a user's new data would (the same bytes
            again would find their journal blobs already written, and flatter the job).
  writer    the channel CSV writer (training/channels.py) on 1M rides against %.9g formatting
            (goal: >= 1M rows/s); the recordio-protobuf writer (training/recordio_protobuf.py, goal:
            >= 5M rows/s) and the job's readers of both formats, rows/s and bytes a ride; writing +
            uploading 1M rides as one object against --shards objects (temporary files, upload_file)
            against what the command does (upload_channels: objects from memory, each sent while the
            next is written), in each format
  upload    with --baseline: 1M rides uploaded as the command does (this tree's client) to each tree's
            emulator, interleaved: each emulator's side of the upload, and the CPU seconds the emulator's
            process and the client spent on it (Linux: /proc)
  breeds    `wildrydes train --on sagemaker --breeds B --rows R --epochs E --concurrent-jobs C`:
            total seconds, jobs/s, and the most jobs in flight (the queue under the local quota)

Run:  python benchmarks/bench_sagemaker.py [--rows 100000 1000000] [--rounds 3] [--shards 8]
                                           [--content-type recordio-protobuf csv]
                                           [--breeds 1000] [--breed-rows 2000] [--concurrent-jobs 4]
                                           [--baseline DIR [--upload-rounds 9] [--no-jobs]]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def timed_cli(args: list[str], env: dict[str, str], timeout: float = 7200) -> tuple[float, dict]:
    exe = str(Path(sys.executable).with_name("wildrydes"))
    started = time.perf_counter()
    done = subprocess.run([exe, "--output", "json", *args], env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"wildrydes {' '.join(args)} failed: {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def writer(rows: int, shards: int, url: str, state: Path) -> dict:
    from wildrydes_cli.training.channels import csv_bytes, write_shards
    from wildrydes_cli.training.synthetic import generate_rides

    rides = generate_rides(rows, seed=0)
    started = time.perf_counter()
    text = csv_bytes(rides.labels, rides.features)
    fast = time.perf_counter() - started
    sample = min(rows, 200_000)
    values = __import__("numpy").column_stack([rides.labels[:sample], rides.features[:sample]]).astype(float).tolist()
    line = ",".join(["%.9g"] * 7) + "\n"
    started = time.perf_counter()
    "".join(line % tuple(v) for v in values)
    slow = (time.perf_counter() - started) * rows / sample
    s3 = cli_s3(url, state)
    s3.create_bucket(Bucket="bench-writer")
    uploads: dict[str, float] = {}
    for count in (1, shards):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            for path in write_shards(rides.labels, rides.features, Path(tmp), count):
                s3.upload_file(str(path), "bench-writer", f"n{count}/{path.name}")
            uploads[f"{count} object{'s' if count > 1 else ''}, temporary files"] = round(time.perf_counter() - started, 3)
    for content_type in ("csv", "recordio-protobuf"):
        uploads[f"objects of ROWS_PER_SHARD rows from memory, pipelined, {content_type}"] = pipelined(
            rides, s3, content_type)
    return {"rows": rows, "bytes": len(text), "writer_s": round(fast, 3), "writer_rows_per_s": round(rows / fast),
            "percent_format_rows_per_s": round(rows / slow), "writer_speedup": round(slow / fast, 1),
            "recordio": recordio(rides, text), "write_and_upload_s": uploads}


def best_of(runs: int, work) -> float:
    """The fastest of ``runs`` timings (the machine may be shared: the minimum is the least disturbed)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def recordio(rides, text: bytes) -> dict:
    """The recordio-protobuf writer and both channel readers of the job (the same rides, from files)."""
    from wildrydes_cli.training.channels import read_channel
    from wildrydes_cli.training.recordio_protobuf import read_recordio_channel, recordio_bytes

    rows = rides.labels.shape[0]
    records = recordio_bytes(rides.labels, rides.features)
    write_s = best_of(3, lambda: recordio_bytes(rides.labels, rides.features))
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in (("csv", text), ("pbr", records)):
            (Path(tmp) / name).mkdir()
            (Path(tmp) / name / f"part-00000.{name}").write_bytes(body)
        read_pbr = best_of(3, lambda: read_recordio_channel(Path(tmp) / "pbr", "train", rows))
        read_csv = best_of(1, lambda: read_channel(Path(tmp) / "csv", "train", rows))
    return {"bytes": len(records), "bytes_per_ride": round(len(records) / rows, 1),
            "csv_bytes_per_ride": round(len(text) / rows, 1), "writer_s": round(write_s, 3),
            "writer_rows_per_s": round(rows / write_s), "reader_s": round(read_pbr, 3),
            "reader_rows_per_s": round(rows / read_pbr), "csv_reader_s": round(read_csv, 3),
            "csv_reader_rows_per_s": round(rows / read_csv)}


def cli_s3(url: str, state: Path):
    """An S3 client of the emulator at ``url`` configured as the CLI's is on the local target (no CRC32 of each
    body: ``LocalTarget.checksums``), signed with the local target's credentials."""
    import boto3
    from botocore.config import Config
    from emulated import credentials

    from wildrydes_cli.aws.target import LocalTarget

    creds = credentials(url, state)
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=creds.access_key_id,
                        aws_secret_access_key=creds.secret_access_key, config=Config(**LocalTarget.checksums))


class EmulatorS3:
    """The part of Aws that upload_channels uses, over an emulator's S3 client."""

    def __init__(self, s3) -> None:
        self.s3 = s3

    def client(self, service: str):
        return self.s3

    def put_object(self, bucket: str, key: str, body: bytes | bytearray, content_type: str) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def pipelined(rides, s3, content_type: str) -> float:
    """What `train --on sagemaker` does (sagemaker_job.upload_channels): the 90/10 channels as objects of
    ROWS_PER_SHARD rows formatted in memory, uploaded UPLOADS_IN_FLIGHT at a time while the next is formatted."""
    from wildrydes_cli.training import sagemaker_job
    from wildrydes_cli.training.data import Dataset

    cut = rides.labels.shape[0] * 9 // 10
    train = Dataset(rides.features[:cut], rides.labels[:cut], "synthetic")
    validation = Dataset(rides.features[cut:], rides.labels[cut:], "synthetic")
    place = sagemaker_job.Place(EmulatorS3(s3), "local", "", "bench-writer", "", "")
    started = time.perf_counter()
    sagemaker_job.upload_channels(place, f"pipelined-{content_type}", train, validation,
                                  math.ceil(cut / sagemaker_job.ROWS_PER_SHARD), content_type)
    return round(time.perf_counter() - started, 3)


def training_phase(daemon: dict, env: dict, job: str) -> float:
    """Seconds the job spent in SecondaryStatus Training (reading its channels, training, writing the model):
    against `--on local`'s own training seconds, the job's training rows/s, apart from its upload."""
    from emulated import clients

    sagemaker = clients(daemon["endpoint_url"], state_dir=Path(env["WILDRYDES_HOME"]), services=("sagemaker",))
    found = sagemaker["sagemaker"].describe_training_job(TrainingJobName=job)
    started = {t["Status"]: t["StartTime"].timestamp() for t in found["SecondaryStatusTransitions"]}
    return round(started["Uploading"] - started["Training"], 3)


def upload_by_emulator(daemons: dict, homes: dict, rounds: int) -> dict:
    """The channel upload of 1M rides (upload_channels, recordio-protobuf, this tree's client) to each tree's
    emulator, interleaved ``rounds`` times: what each tree's side of the upload (the SigV4 check, the journal,
    moto) costs, the client held the same (configured as the CLI's: ``cli_s3``). With each round's seconds, the
    CPU seconds the emulator's process and this one (the client: formatting, signing, sending) spent on it:
    the upload is bound by CPU when their sum nears the wall seconds times the machine's cores."""
    from wildrydes_cli.training import sagemaker_job
    from wildrydes_cli.training.data import Dataset
    from wildrydes_cli.training.synthetic import generate_rides

    cut = 900_000
    places, seconds, cpu = {}, {}, {}
    for tree, daemon in daemons.items():
        s3 = cli_s3(daemon["endpoint_url"], homes[tree])
        s3.create_bucket(Bucket="bench-upload")

        places[tree] = sagemaker_job.Place(EmulatorS3(s3), "local", "", "bench-upload", "", "")
        seconds[tree] = []
        cpu[tree] = {"emulator": [], "client": []}
    for number in range(rounds):
        rides = generate_rides(1_000_000, seed=number + 1)   # new bytes each round (no journal blob reused)
        train = Dataset(rides.features[:cut], rides.labels[:cut], "synthetic")
        validation = Dataset(rides.features[cut:], rides.labels[cut:], "synthetic")
        order = list(daemons) if number % 2 == 0 else list(reversed(list(daemons)))
        for tree in order:
            emulator, client = process_cpu_s(daemons[tree]["pid"]), own_cpu_s()
            started = time.perf_counter()
            sagemaker_job.upload_channels(places[tree], f"round-{number}", train, validation,
                                          math.ceil(cut / sagemaker_job.ROWS_PER_SHARD))
            seconds[tree].append(round(time.perf_counter() - started, 3))
            after = process_cpu_s(daemons[tree]["pid"])
            if emulator is not None and after is not None:
                cpu[tree]["emulator"].append(round(after - emulator, 3))
            cpu[tree]["client"].append(round(own_cpu_s() - client, 3))
    return {tree: {"median_s": round(statistics.median(times), 3), "rounds": times,
                   **{f"{side}_cpu_median_s": round(statistics.median(spent), 3)
                      for side, spent in cpu[tree].items() if spent}}
            for tree, times in seconds.items()}


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (all its threads) from /proc; None where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """User + system CPU seconds of this process, its upload threads included."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def marginal(found: dict, rows: list[int], kinds: list[str]) -> dict:
    """Rows/s of each path over the rows added between the smallest and the largest --rows: what a row
    costs once the fixed cost (process start, the job's states, the model read back) is paid, the reading
    of "rows/s within 10% of local" that the overhead allowance leaves room for."""
    if len(rows) < 2:
        return {}
    low, high = found[rows[0]], found[rows[-1]]
    added = rows[-1] - rows[0]
    local = added / (high["local_s"] - low["local_s"])
    out: dict = {"rows": f"{rows[0]}-{rows[-1]}", "local_rows_per_s": round(local)}
    for kind in kinds:
        job = added / (high[kind]["sagemaker_s"] - low[kind]["sagemaker_s"])
        out[kind] = {"sagemaker_rows_per_s": round(job), "ratio": round(job / local, 2)}
    return out


def stop_targets(daemons: dict, envs: dict) -> None:
    """Stop each local target the run started (checked gone by its pid), then remove every tree's
    WILDRYDES_HOME: its journal holds each channel uploaded (GBs at --rows 10000000)."""
    from emulated import pid_gone

    for tree, daemon in daemons.items():
        subprocess.run([str(Path(sys.executable).with_name("wildrydes")), "local", "stop"], env=envs[tree],
                       capture_output=True, timeout=60)
        assert pid_gone(daemon["pid"]), f"emulator pid {daemon['pid']} still alive"
    for env in envs.values():
        shutil.rmtree(env["WILDRYDES_HOME"], ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--content-type", nargs="+", choices=("recordio-protobuf", "csv"),
                        default=["recordio-protobuf"], help="the jobs' channel formats (each measured)")
    parser.add_argument("--breeds", type=int, default=100)
    parser.add_argument("--breed-rows", type=int, default=2000)
    parser.add_argument("--breed-epochs", type=int, default=3)
    parser.add_argument("--concurrent-jobs", type=int, default=4)
    parser.add_argument("--upload-rounds", type=int, default=9,
                        help="with --baseline: 1M rides uploaded to each tree's emulator this many times")
    parser.add_argument("--no-jobs", action="store_true", help="skip the jobs (with --baseline: the upload only)")
    parser.add_argument("--baseline", metavar="DIR", help="another source tree (git archive REF | tar -x -C DIR): "
                        "its jobs run interleaved with this tree's, each on a local target of its own")
    args = parser.parse_args()
    from emulated import free_port

    trees = {"this": {}}
    if args.baseline:   # the other tree's code, for the CLI, the emulator and the job's process alike
        trees["baseline"] = {"PYTHONPATH": str(Path(args.baseline).resolve())}
    envs, daemons = {}, {}
    for tree, extra in trees.items():
        home = Path(tempfile.mkdtemp(prefix=f"wildrydes-bench-{tree}-"))
        envs[tree] = dict(os.environ, NO_COLOR="1", WILDRYDES_HOME=str(home), WILDRYDES_LOCAL_PORT=str(free_port()),
                          **extra)
    env = envs["this"]
    home = Path(env["WILDRYDES_HOME"])
    report: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "load_before": round(os.getloadavg()[0], 2)}
    try:
        for tree in trees:
            daemons[tree] = timed_cli(["local", "start"], envs[tree])[1]
            timed_cli(["bootstrap"], envs[tree])
        started = daemons["this"]
        jobs: dict = {tree: {} for tree in trees}
        if args.baseline:
            report["upload_by_emulator"] = upload_by_emulator(
                daemons, {tree: Path(envs[tree]["WILDRYDES_HOME"]) for tree in trees}, args.upload_rounds)
        for rows in ([] if args.no_jobs else args.rows):
            local: dict = {tree: [] for tree in trees}
            fits: dict = {tree: [] for tree in trees}
            job: dict = {tree: {kind: [] for kind in args.content_type} for tree in trees}
            phases: dict = {tree: {kind: [] for kind in args.content_type} for tree in trees}
            for number in range(args.rounds):
                order = list(trees) if number % 2 == 0 else list(reversed(trees))   # who goes first alternates
                for tree in order:
                    seed = str(number + 1)   # the round's own rides: the job uploads new bytes
                    seconds, result = timed_cli(["train", "--trainer", "numpy", "--rows", str(rows), "--seed", seed],
                                                envs[tree])
                    local[tree].append(seconds)
                    fits[tree].append(result["seconds"])
                    for kind in args.content_type:
                        seconds, result = timed_cli(["train", "--on", "sagemaker", "--rows", str(rows),
                                                     "--content-type", kind, "--seed", seed], envs[tree])
                        assert result["status"] == "Completed", result
                        job[tree][kind].append(seconds)
                        phases[tree][kind].append(training_phase(daemons[tree], envs[tree], result["job_name"]))
            for tree in trees:
                lo = statistics.median(local[tree])
                fit = statistics.median(fits[tree])
                jobs[tree][rows] = {"local_s": round(lo, 3), "local_rows_per_s": round(rows / lo),
                                    "local_training_s": round(fit, 3),
                                    "rounds": {"local": local[tree], "local_training": fits[tree], **job[tree]}}
                for kind in args.content_type:
                    jo = statistics.median(job[tree][kind])
                    phase = statistics.median(phases[tree][kind])
                    jobs[tree][rows][kind] = {"sagemaker_s": round(jo, 3), "overhead_s": round(jo - lo, 3),
                                              "sagemaker_rows_per_s": round(rows / jo),
                                              "rows_per_s_ratio": round(lo / jo, 2),
                                              "training_phase_s": round(phase, 3),
                                              "training_rows_per_s_ratio": round(fit / phase, 2),
                                              "training_phases": phases[tree][kind]}
        if not args.no_jobs:
            for tree in trees:
                jobs[tree]["marginal"] = marginal(jobs[tree], sorted(args.rows), args.content_type)
            report["job"] = jobs if args.baseline else jobs["this"]
            report["writer"] = writer(1_000_000, args.shards, started["endpoint_url"], home)
        if args.breeds:
            seconds, result = timed_cli(["train", "--on", "sagemaker", "--breeds", str(args.breeds), "--rows",
                                         str(args.breed_rows), "--epochs", str(args.breed_epochs),
                                         "--concurrent-jobs", str(args.concurrent_jobs)], env)
            report["breeds"] = {"breeds": args.breeds, "rows": args.breed_rows, "epochs": args.breed_epochs,
                                "seconds": round(seconds, 1), "jobs_per_s": round(args.breeds / seconds, 2),
                                "concurrent_jobs": args.concurrent_jobs, "most_in_flight": result["most_in_flight"],
                                "failed": result["failed"]}
    finally:
        stop_targets(daemons, envs)
    report["load_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
