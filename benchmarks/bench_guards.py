"""What the hostile-input guards cost: request parsing (lambda/guards.py) and model reading (lambda/archive.py).

    python benchmarks/bench_guards.py [--baseline-ref main]

Request side: ``guards.loads`` + ``guards.check_text_body`` against plain
``json.loads`` on the workshop request, a 1,000-ride batch and SageMaker
instances, and the depth pre-scan on 4 MiB worst cases. Model side: the
reader of ``--baseline-ref`` (default ``main``, taken from git into a temp
dir) against this tree's on the real SageMaker artifact and a 1M-feature
model, and this tree's reader on the bombs of tests/function/test_archive_bounds.py
(time and tracemalloc peak). Medians of repeated runs, one process.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda"))

import artifact  # noqa: E402
import guards  # noqa: E402

RIDE = {"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0}
MiB = 1024 * 1024


def per_call_us(fn, arg, repeat: int = 7) -> float:
    """Median over ``repeat`` rounds of the mean time per call, in µs (rounds sized to ~0.2 s)."""
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < 0.05:
        fn(arg)
        n += 1
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(max(1, n * 4)):
            fn(arg)
        rounds.append((time.perf_counter() - t0) / max(1, n * 4) * 1e6)
    return statistics.median(rounds)


def request_side() -> None:
    bodies = {
        "workshop ride (1 object, 6 numbers)": json.dumps(RIDE),
        "batch of 1,000 rides (110 KB)": json.dumps([RIDE] * 1000),
        "SageMaker instances, 1,000 x 6": json.dumps({"instances": [{"features": [30, 30, 2500, 300, 333, 0]}] * 1000}),
    }
    print("| body | json.loads µs | guards (size + loads) µs | ratio |")
    print("|---|---|---|---|")
    for name, body in bodies.items():
        plain = per_call_us(json.loads, body)

        def guarded(text: str) -> object:
            guards.check_text_body(text)
            return guards.loads(text)
        both = per_call_us(guarded, body)
        print(f"| {name} | {plain:.1f} | {both:.1f} | {both / plain:.2f} |")
    worst = {
        "4 MiB of '['": "[" * (4 * MiB),
        "4 MiB of '[]' pairs": "[" + ",".join(["[]"] * (4 * MiB // 3)) + "]",
        "4 MiB of 32-deep nests": "[" + ",".join(["[" * 31 + "]" * 31] * (4 * MiB // 63)) + "]",
        "4 MiB of 33-deep nests": "[" + ",".join(["[" * 32 + "]" * 32] * (4 * MiB // 65)) + "]",
        "3.6 MB batch of rides": json.dumps([RIDE] * 38_000),
        "4 MiB of escaped strings": json.dumps(["\\[" * 10] * (4 * MiB // 26))[: 4 * MiB],
    }
    print()
    print("| large body | json.loads ms | too_deep ms | refused? | check_text_body ms |")
    print("|---|---|---|---|---|")
    for name, text in worst.items():
        t0 = time.perf_counter()
        try:
            json.loads(text)
            parsed = f"{(time.perf_counter() - t0) * 1e3:.0f}"
        except (ValueError, RecursionError) as exc:
            parsed = f"{(time.perf_counter() - t0) * 1e3:.0f} ({type(exc).__name__})"
        t0 = time.perf_counter()
        deep = guards.too_deep(text)
        t1 = time.perf_counter()
        try:
            guards.check_text_body(text)
            size = "ok"
        except guards.InputError as exc:
            size = str(exc.status)
        t2 = time.perf_counter()
        print(f"| {name} | {parsed} | {(t1 - t0) * 1e3:.0f} | {deep} | {(t2 - t1) * 1e3:.0f} ({size}) |")


def _baseline_artifact(ref: str, where: Path):
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:lambda/artifact.py"], check=True,
                            capture_output=True).stdout
    path = where / "artifact_baseline.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("artifact_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["artifact_baseline"] = module   # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _timed(fn, data: bytes, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _peak(fn, data: bytes) -> tuple[float, float, str]:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        fn(data)
        outcome = "read"
    except artifact.ArtifactError as exc:
        outcome = str(exc)[:60]
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed * 1e3, peak / MiB, outcome


def model_side(ref: str) -> None:
    from wildrydes_cli.training.sagemaker_archive import write_model_archive

    real = (ROOT / "tests/fixtures/sagemaker-linear-learner-regressor/model.tar.gz").read_bytes()
    million = write_model_archive([0.5] * 1_000_000, 0.25, "regressor")
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _baseline_artifact(ref, Path(tmp))
        print()
        print(f"| model | {ref} reader ms | this reader ms | ratio |")
        print("|---|---|---|---|")
        for name, data in (("real SageMaker artifact, 513 features", real),
                           (f"1M-feature model ({len(million) / MiB:.1f} MiB)", million)):
            old = _timed(baseline.read_model_archive, data)
            new = _timed(artifact.read_model_archive, data)
            print(f"| {name} | {old:.1f} | {new:.1f} | {new / old:.2f} |")
    zeros = gzip.compress(b"\0" * MiB, compresslevel=9, mtime=0)

    def header(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.type = size, kind
        return info.tobuf(format=tarfile.GNU_FORMAT)

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    many = b"".join(compressor.compress(header("pad") * 10_000) for _ in range(30)) + compressor.flush()
    bombs = {
        "gzip bomb, 1 GiB of zeros in a long-name header": gzip.compress(
            header("././@LongLink", 1024 * MiB, tarfile.GNUTYPE_LONGNAME), mtime=0) + zeros * 1024,
        "2 GiB padding member declared": gzip.compress(header("padding", 2048 * MiB), mtime=0) + zeros * 2048,
        "300,000 members": many,
    }
    print()
    print("| hostile archive | compressed KiB | this reader ms | peak MiB (tracemalloc) | outcome |")
    print("|---|---|---|---|---|")
    for name, data in bombs.items():
        ms, peak, outcome = _peak(artifact.read_model_archive, data)
        print(f"| {name} | {len(data) / 1024:.0f} | {ms:.0f} | {peak:.1f} | {outcome} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="main")
    args = parser.parse_args()
    print(f"# bench_guards.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    request_side()
    model_side(args.baseline_ref)


if __name__ == "__main__":
    main()
