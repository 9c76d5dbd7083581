"""CPU per request of the local target's HTTP front alone: this tree's vs another tree's (e.g. the hand-written one).

    python benchmarks/bench_front.py --baseline DIR [--rounds 3] [--duration 5] [--connections 16]

Why: ``bench_local.py`` measures the whole daemon (routing, moto lookups, the
Lambda runner, pipes), where the front is ~10 % of the CPU and other jobs on a
shared machine hide a difference of that size. Here each tree's front serves a
handler that returns a fixed response, on uvloop, in a child process (the
tree on its PYTHONPATH); ``wrk -t1 -cN`` loads it and the child's CPU time
is read from /proc. Rounds alternate which tree goes first. Needs ``wrk``.
Every process started here is stopped by pid.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

SERVER = r'''
import asyncio
import uvloop
from wildrydes_cli.local.http import HttpResponse

RESPONSE = HttpResponse(200, [("Content-Type", "application/json")], b'{"score":0.71,"predicted_label":1}')


async def handle(request, client):
    return RESPONSE


async def main():
    try:  # the front since issue 11
        from wildrydes_cli.local.front import connection, httpio
        accept = connection.Connections(handle, httpio.Limits(), 0).accept
        kind = "connection.py + httpio (httptools)"
    except ImportError:  # the hand-written front: Emulator.connection around httpio.read_request
        from wildrydes_cli.local import server

        class Dispatch:
            pass
        dispatch = Dispatch()
        dispatch.handle = handle

        async def accept(reader, writer):
            await server.Emulator.connection(dispatch, reader, writer)
        kind = "server.Emulator.connection + httpio.read_request (hand-written)"
    listener = await asyncio.start_server(accept, "127.0.0.1", 0, limit=65536, backlog=1024)
    print(listener.sockets[0].getsockname()[1], kind, flush=True)
    await asyncio.sleep(3600)

uvloop.run(main())
'''


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(tree: Path, duration: int, connections: int) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree,
                            stdout=subprocess.PIPE, text=True)
    try:
        port, kind = proc.stdout.readline().strip().split(" ", 1)
        before = cpu_seconds(proc.pid)
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s",
                              f"http://127.0.0.1:{port}/restapis/a/prod/_user_request_/"],
                             capture_output=True, text=True, timeout=duration + 30).stdout
        used = cpu_seconds(proc.pid) - before
    finally:
        proc.kill()
        proc.wait()
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"front": kind, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "cpu_us_per_request": round(used / requests * 1e6, 2), "errors": int(errors.group(1)) if errors else 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    ours = Path(__file__).resolve().parents[1]
    runs: dict[str, list[dict]] = {"this tree": [], "baseline": []}
    for i in range(args.rounds):
        order = [("this tree", ours), ("baseline", args.baseline.resolve())]
        for name, tree in (order if i % 2 == 0 else order[::-1]):
            runs[name].append(measure(tree, args.duration, args.connections))
            print(name, json.dumps(runs[name][-1]), file=sys.stderr)
    report = {name: {"front": r[0]["front"], "cpu_us_per_request_median":
                     statistics.median(x["cpu_us_per_request"] for x in r),
                     "rps_median": statistics.median(x["rps"] for x in r), "errors": sum(x["errors"] for x in r)}
              for name, r in runs.items()}
    report["cpu_ratio"] = round(report["this tree"]["cpu_us_per_request_median"]
                                / report["baseline"]["cpu_us_per_request_median"], 3)
    print(json.dumps(report, indent=2))
    return 0 if all(v["errors"] == 0 for k, v in report.items() if k != "cpu_ratio") else 1


if __name__ == "__main__":
    sys.exit(main())
