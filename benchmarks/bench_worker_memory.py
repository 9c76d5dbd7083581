"""What the Lambda worker's MemorySize enforcement costs per invocation.

    python benchmarks/bench_worker_memory.py [--invocations 20000] [--rounds 3]

Starts ``wildrydes_cli.local.invoke.worker`` (as the runner does, over its pipes)
with a handler that returns at once, with ``--memory-mb 0`` (no limit) and
``--memory-mb 128`` (RLIMIT_DATA cap + a resident-set read per invocation),
alternating, and reports the worker's CPU time per invocation from /proc.
Every worker started here is killed by pid.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
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
