"""Benchmark the local target: start-to-ready, endpoint throughput/latency, deploy time.

    /work/venv/bin/python benchmarks/bench_local.py [--duration 10] [--connections 16] [--deploy]

* start: wall time of ``wildrydes local start`` (a fresh process, free port) until
  it returns, i.e. until the daemon answers its health probe; median of 3.
* endpoint: the workshop's POST against the deployed lambda/ package (lean
  engine, a 6-feature model in the emulated S3), warm; load from ``wrk`` (a
  second process on loopback, 1 thread, N connections, keep-alive, bounded by
  --duration) when installed, else a bounded Python thread load generator.
  Errors = non-2xx + socket errors; the run fails if any.
* deploy (``--deploy``): ``wildrydes deploy`` on a running emulator (needs
  bootstrap + train first; done here through the CLI), lean engine.
* baseline (``--baseline DIR``): the same endpoint load against a daemon run
  from another source tree (e.g. ``git archive <commit> | tar -x -C DIR``),
  alternating new/baseline per connection count in this one run, with the
  ratio new/baseline: the figure to trust on a machine shared with other jobs. The
  baseline daemon's *workers* start from the installed package (``python -m``), so this
  compares trees whose worker module has the same name; otherwise run each tree from its
  own venv, alternating (RESULTS.md shows how).
Every process started here is stopped by pid.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import emulated  # noqa: E402

WILDRYDES = str(Path(sys.executable).with_name("wildrydes"))


def run_cli(args: list[str], env: dict) -> dict:
    out = subprocess.run([WILDRYDES, "--output", "json", *args], env=env, capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"wildrydes {' '.join(args)} failed ({out.returncode}): {out.stderr}{out.stdout}")
    return json.loads(out.stdout)


def cli_env(home: Path, port: int) -> dict:
    env = {**os.environ, "HOME": str(home), "WILDRYDES_HOME": str(home / "state"),
           "WILDRYDES_LOCAL_PORT": str(port), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env.pop("AWS_PROFILE", None)
    return env


def bench_start(repeat: int = 3) -> list[float]:
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            env = cli_env(Path(tmp), emulated.free_port())
            t0 = time.perf_counter()
            status = run_cli(["local", "start"], env)
            times.append(time.perf_counter() - t0)
            run_cli(["local", "stop"], env)
            assert emulated.pid_gone(status["pid"])
    return times


def wrk_load(url: str, body: str, duration: int, connections: int) -> dict:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n'
                      % json.dumps(body))
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
                              url], capture_output=True, text=True, timeout=duration + 30).stdout
    finally:
        script.unlink()
    def unit(value: str, suffix: str) -> float:
        factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[suffix]
        return float(value) * factor
    pct = {p: unit(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"tool": f"wrk -t1 -c{connections} -d{duration}s (keep-alive)", "requests": total,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": pct.get("50"), "p99_ms": pct.get("99"), "errors": errors, "raw": out}


def python_load(url: str, body: str, duration: int, connections: int, headers: dict | None = None) -> dict:
    """Fallback: bounded threads with keep-alive http.client connections, in a child process."""
    code = r'''
import http.client, json, sys, threading, time, urllib.parse
url, body, duration, conns = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3]), int(sys.argv[4])
headers = {"Content-Type": "application/json", **json.loads(sys.argv[5])}
u = urllib.parse.urlsplit(url); lat = []; errors = [0]; stop = time.perf_counter() + duration
def worker():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    while time.perf_counter() < stop:
        t = time.perf_counter()
        try:
            c.request("POST", u.path, body, headers); r = c.getresponse(); r.read()
            if r.status != 200: errors[0] += 1
        except Exception:
            errors[0] += 1; c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        lat.append(time.perf_counter() - t)
ts = [threading.Thread(target=worker) for _ in range(conns)]; t0 = time.perf_counter()
[t.start() for t in ts]; [t.join() for t in ts]; el = time.perf_counter() - t0; lat.sort()
print(json.dumps({"requests": len(lat), "rps": len(lat)/el, "p50_ms": lat[len(lat)//2]*1000,
                  "p99_ms": lat[int(len(lat)*0.99)]*1000, "errors": errors[0]}))
'''
    out = subprocess.run([sys.executable, "-c", code, url, body, str(duration), str(connections),
                          json.dumps(headers or {})],
                         capture_output=True, text=True, timeout=duration + 60)
    result = json.loads(out.stdout)
    result["tool"] = f"python http.client threads={connections} (keep-alive), {duration}s"
    return result


@contextlib.contextmanager
def daemon_from(tree: str | None):
    """While active, daemons started by emulated.emulator run the wildrydes_cli of ``tree`` (None: ours)."""
    saved = os.environ.get("PYTHONPATH")
    if tree:
        os.environ["PYTHONPATH"] = str(Path(tree).resolve())
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(CPU seconds of the daemon, of its live children = the Lambda workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")

    def own(p: int) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own(pid), sum(own(int(c)) for c in children if Path(f"/proc/{c}").exists())


def bench_endpoint(duration: int, connections: list[int], tree: str | None = None) -> list[dict]:
    results = []
    with daemon_from(tree), tempfile.TemporaryDirectory() as tmp, emulated.emulator(Path(tmp)) as status:
        deployed = emulated.deploy(status.endpoint_url, emulated.function_package(),
                                   {"OUTPUT_BUCKET": "wildrydes-local-data", "MODEL_PATH": "m/model.tar.gz",
                                    "INFERENCE_ENGINE": "lean"},
                                   extra_objects={"m/model.tar.gz": emulated.workshop_model()})
        t0 = time.perf_counter()
        code, _, body = emulated.http("POST", deployed.invoke_url, emulated.WORKSHOP_BODY,
                                      {"Content-Type": "application/json"})
        cold = time.perf_counter() - t0
        assert code == 200, (code, body)
        results.append({"cold_start_first_request_ms": round(cold * 1000, 1)})
        print("sample response:", body.decode(), file=sys.stderr)
        load = wrk_load if shutil.which("wrk") else python_load
        load(deployed.invoke_url, emulated.WORKSHOP_BODY, 2, max(connections))  # warm every worker
        for conns in connections:
            cpu0 = cpu_seconds(status.pid)
            result = load(deployed.invoke_url, emulated.WORKSHOP_BODY, duration, conns)
            cpu1 = cpu_seconds(status.pid)
            result.pop("raw", None)
            # CPU per request moves far less than req/s when other jobs share the cores
            result["daemon_cpu_us_per_request"] = round((cpu1[0] - cpu0[0]) / result["requests"] * 1e6, 1)
            result["workers_cpu_us_per_request"] = round((cpu1[1] - cpu0[1]) / result["requests"] * 1e6, 1)
            results.append(result)
            print(json.dumps(result), file=sys.stderr)
    return results


def bench_deploy() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = cli_env(home, emulated.free_port())
        status = run_cli(["local", "start"], env)
        try:
            for step in (["bootstrap"], ["train", "--rows", "3000", "--epochs", "3"]):
                run_cli(step, env)
            t0 = time.perf_counter()
            out = run_cli(["deploy", "--yes"], env)
            first = time.perf_counter() - t0
            run_cli(["train", "--rows", "3000", "--epochs", "3", "--seed", "7"], env)
            t0 = time.perf_counter()
            run_cli(["deploy", "--yes"], env)
            second = time.perf_counter() - t0
        finally:
            run_cli(["local", "stop"], env)
            assert emulated.pid_gone(status["pid"])
    return {"deploy_first_s": round(first, 2), "deploy_newer_model_s": round(second, 2),
            "engine": out.get("engine"), "invoke_url": out.get("invoke_url")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--deploy", action="store_true", help="also time `wildrydes deploy` (needs the CLI commands)")
    parser.add_argument("--baseline", metavar="DIR", help="also load a daemon run from this source tree; ratios")
    parser.add_argument("--rounds", type=int, default=1, help="with --baseline: repeat the alternation")
    parser.add_argument("--skip-start", action="store_true", help="do not time `local start`")
    args = parser.parse_args()
    report = {"cpu_count": os.cpu_count()}
    if not args.skip_start:
        starts = bench_start()
        report["start_to_ready_s"] = {"median": round(statistics.median(starts), 3),
                                      "all": [round(t, 3) for t in starts]}
        print(json.dumps(report), file=sys.stderr)
    if args.baseline:
        # Alternate which daemon goes first (per connection count and per round), so that
        # neither always meets the same moment of the other jobs' load; ratio = median of rounds.
        report["endpoint"], report["baseline"], ratios = [], [], {}
        step = 0
        for _ in range(args.rounds):
            for conns in args.connections:
                order = [(None, "endpoint"), (args.baseline, "baseline")]
                if step % 2:
                    order.reverse()
                step += 1
                got = {}
                for tree, key in order:
                    got[key] = bench_endpoint(args.duration, [conns], tree=tree)
                    report[key] += got[key]
                ratios.setdefault(conns, []).append(got["endpoint"][-1]["rps"] / got["baseline"][-1]["rps"])
                print(json.dumps({"connections": conns, "ratio_rps": round(ratios[conns][-1], 3)}), file=sys.stderr)
        report["ratio_rps_median"] = {c: round(statistics.median(r), 3) for c, r in ratios.items()}
    else:
        report["endpoint"] = bench_endpoint(args.duration, args.connections)
    if args.deploy:
        report["deploy"] = bench_deploy()
    print(json.dumps(report, indent=2))
    ok = all(r.get("errors", 0) == 0 for r in report["endpoint"] + report.get("baseline", []))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
