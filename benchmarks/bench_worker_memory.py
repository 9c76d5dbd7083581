"""What the Lambda worker's MemorySize enforcement costs, and what a wide model needs under it.

    python benchmarks/bench_worker_memory.py [--invocations 20000] [--rounds 3]
    python benchmarks/bench_worker_memory.py --model-features 262143 524287 1048575 [--memory-mb 0 128]

Default: starts ``wildrydes_cli.local.invoke.worker`` (as the runner does, over
its pipes) with a handler that returns at once, with ``--memory-mb 0`` (no
limit) and ``--memory-mb 128`` (RLIMIT_DATA cap + a resident-set read per
invocation), alternating, and reports the worker's CPU time per invocation
from /proc.

``--model-features N ...``: the deployed function itself (``lambda/`` with
``index.handler``, the lean engine) in a worker, its model (a binary
classifier with N features, no names) read from a local file instead of S3,
and for each N and each ``--memory-mb``: the worker's resident set and peak
(``VmRSS``, ``VmHWM``) after start, after ``GET /`` (the model loaded), after
a full-width ``text/csv`` row and after a full-width SageMaker JSON instance,
with each answer's status (a 502 is the worker stopped for memory, as
Lambda's would be). The function's bound is 2^20 numbers (``lambda/archive.py``):
1,048,575 features and the bias. ``--lambda-dir`` measures another tree's
``lambda/`` (e.g. before a change). Every worker started here is killed by pid.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = struct.Struct(">I")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_invocation_us(task_root: Path, memory_mb: int, invocations: int) -> float:
    proc = subprocess.Popen([sys.executable, "-m", "wildrydes_cli.local.invoke.worker", "--task-root", str(task_root),
                             "--handler", "fast.handler", "--memory-mb", str(memory_mb)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(task_root),
                            env={"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONDONTWRITEBYTECODE": "1",
                                 "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        def reply() -> bytes:
            return proc.stdout.read(HEADER.unpack(proc.stdout.read(HEADER.size))[0])

        assert json.loads(reply())["type"] == "ready"
        payload = json.dumps({"event": {"body": "{}"}, "context": {}}).encode()
        message = HEADER.pack(len(payload)) + payload
        before = cpu_seconds(proc.pid)
        for _ in range(invocations):
            proc.stdin.write(message)
            proc.stdin.flush()
            reply()
        return (cpu_seconds(proc.pid) - before) / invocations * 1e6
    finally:
        proc.kill()
        proc.wait()


SHIM = """
import index, models, config


class LocalFiles:
    \"\"\"S3's GetObject for the bench: the model from a file in the task root.\"\"\"

    connections_opened = 0

    def get_object(self, bucket, key, limit):
        with open(key, "rb") as handle:
            return handle.read(limit + 1)


index._store = models.ModelStore(config.load_config(), LocalFiles())
handler = index.handler
"""


def proc_status(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def wide_model(task_root: Path, features: int) -> None:
    import random

    from wildrydes_cli.training.sagemaker_archive import write_model_archive

    rnd = random.Random(features)
    data = write_model_archive([rnd.uniform(-1, 1) for _ in range(features)], 0.1, "binary_classifier", 0.5)
    (task_root / "model.tar.gz").write_bytes(data)


def model_memory(task_root: Path, features: int, memory_mb: int) -> dict:
    """Resident memory of the function in a worker: started, model loaded, full-width requests."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OUTPUT_BUCKET": "local",
           "MODEL_PATH": "model.tar.gz", "INFERENCE_ENGINE": "lean", "LOG_LEVEL": "WARNING",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb or 10240)}
    proc = subprocess.Popen([sys.executable, "-m", "wildrydes_cli.local.invoke.worker", "--task-root", str(task_root),
                             "--handler", "shim.handler", "--memory-mb", str(memory_mb)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(task_root), env=env)
    steps: dict = {}
    try:
        def reply() -> dict | None:
            header = proc.stdout.read(HEADER.size)
            return json.loads(proc.stdout.read(HEADER.unpack(header)[0])) if len(header) == HEADER.size else None

        assert reply()["type"] == "ready"
        steps["started"] = proc_status(proc.pid)
        row = ",".join(["0.5"] * features)   # the shortest text of a float object: the worst case in 4 MiB
        ones = ",".join(["1"] * features)    # JSON: the shortest number (a 2^20-wide row of 0.5 is over 4 MiB)
        events = [("GET /", {"httpMethod": "GET", "path": "/"}),
                  ("POST text/csv", {"httpMethod": "POST", "path": "/", "body": row,
                                     "headers": {"Content-Type": "text/csv"}}),
                  ("POST SageMaker JSON", {"httpMethod": "POST", "path": "/",
                                           "body": '{"instances":[{"features":[' + ones + "]}]}",
                                           "headers": {"Content-Type": "application/json"}})]
        for name, event in events:
            payload = json.dumps({"event": event, "context": {"memory_size": memory_mb or 10240}}).encode()
            proc.stdin.write(HEADER.pack(len(payload)) + payload)
            proc.stdin.flush()
            answer = reply()
            ok = bool(answer and answer.get("ok"))
            status = answer["result"]["statusCode"] if ok else 502
            steps[name] = {"status": status, **(proc_status(proc.pid) if proc.poll() is None else {})}
            if not ok or answer.get("exit"):
                break
    finally:
        proc.kill()
        proc.wait()
    return steps


def models_main(features: list[int], memories: list[int], lambda_dir: Path) -> int:
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        task_root = Path(tmp)
        for source in lambda_dir.glob("*.py"):
            if source.name != "__init__.py":
                (task_root / source.name).write_bytes(source.read_bytes())
        (task_root / "shim.py").write_text(SHIM)
        for count in features:
            wide_model(task_root, count)
            for memory in memories:
                report[f"features={count} memory_mb={memory}"] = got = model_memory(task_root, count, memory)
                print(json.dumps({f"features={count} memory_mb={memory}": got}), file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-features", type=int, nargs="+", metavar="N",
                        help="measure the function serving models of N features instead")
    parser.add_argument("--memory-mb", type=int, nargs="+", default=[0, 128], help="with --model-features")
    parser.add_argument("--lambda-dir", type=Path, default=Path(__file__).resolve().parents[1] / "lambda",
                        help="with --model-features: the function's code to measure")
    args = parser.parse_args()
    if args.model_features:
        return models_main(args.model_features, args.memory_mb, args.lambda_dir)
    with tempfile.TemporaryDirectory() as tmp:
        task_root = Path(tmp)
        (task_root / "fast.py").write_text("def handler(event, context):\n    return {'statusCode': 200, 'body': ''}\n")
        samples: dict[int, list[float]] = {0: [], 128: []}
        for i in range(args.rounds):
            for memory in ((0, 128) if i % 2 == 0 else (128, 0)):
                samples[memory].append(per_invocation_us(task_root, memory, args.invocations))
    report = {f"memory_mb={m}": {"cpu_us_per_invocation_median": round(statistics.median(v), 2),
                                 "all": [round(x, 2) for x in v]} for m, v in samples.items()}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
