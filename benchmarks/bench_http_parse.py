"""CPU per request of the local target's HTTP/1.1 front, parser alone: hand-written vs httptools vs h11.

    python benchmarks/bench_http_parse.py --baseline DIR [--requests 50000]

Why: issue 11 replaced the hand-written reader by a library; this measures
what each choice costs per request on the request ``wrk`` sends in
``bench_local.py`` (the workshop's POST, keep-alive), in one process, one run,
interleaved rounds, median of 5. Every variant reads through an asyncio
StreamReader, parses head and body into a request and encodes the same small
response, like the daemon does per request:

* hand-written: ``read_request`` of the tree given by ``--baseline`` (the
  front before issue 11, e.g. ``git archive 22aa251 wildrydes_cli | tar -x -C DIR``);
* httptools: ``wildrydes_cli.local.front.httpio.RequestParser`` (llhttp);
* h11: ``h11.Connection`` (pure Python), events read and the response sent
  through h11 (it requires both before the next request); skipped when h11 is
  not installed (it is not a dependency).
Pure CPU on one core: far less sensitive to other jobs than req/s.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

from wildrydes_cli.local.front import httpio
from wildrydes_cli.local.http import HttpResponse

BODY = b'{ "distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0 }'
RAW = (b"POST /restapis/abc123/prod/_user_request_/ HTTP/1.1\r\nHost: 127.0.0.1:4566\r\n"
       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY
RESPONSE = HttpResponse(200, [("Content-Type", "application/json")], b'{"score":0.71,"predicted_label":1}')


class Sink:
    def write(self, data):
        pass


def load_baseline(tree: Path):
    spec = importlib.util.spec_from_file_location("baseline_httpio", tree / "wildrydes_cli/local/httpio.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


async def hand_written(module, n: int) -> float:
    reader, sink = asyncio.StreamReader(limit=65536), Sink()
    t0 = time.perf_counter()
    for _ in range(n):
        reader.feed_data(RAW)
        request = await module.read_request(reader, sink)
        module.encode_response(RESPONSE, keep_alive=request.keep_alive)
    return (time.perf_counter() - t0) / n


async def with_httptools(n: int) -> float:
    reader = asyncio.StreamReader(limit=65536)
    parser = httpio.RequestParser(httpio.Limits(), 4566)
    t0 = time.perf_counter()
    for _ in range(n):
        reader.feed_data(RAW)
        parser.feed(await reader.read(65536))
        request = parser.ready.popleft()
        httpio.encode_response(RESPONSE, keep_alive=request.keep_alive)
    return (time.perf_counter() - t0) / n


async def with_h11(n: int) -> float:
    import h11

    reader = asyncio.StreamReader(limit=65536)
    conn = h11.Connection(h11.SERVER)
    headers = [(name, value) for name, value in RESPONSE.headers] + [("Content-Length", str(len(RESPONSE.body)))]
    t0 = time.perf_counter()
    for _ in range(n):
        reader.feed_data(RAW)
        conn.receive_data(await reader.read(65536))
        body = []
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Data):
                body.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
        b"".join(body)
        conn.send(h11.Response(status_code=200, headers=headers))
        conn.send(h11.Data(data=RESPONSE.body))
        conn.send(h11.EndOfMessage())
        conn.start_next_cycle()
    return (time.perf_counter() - t0) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="source tree with the hand-written httpio.py")
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    old = load_baseline(args.baseline)
    variants = {"hand-written": lambda n: hand_written(old, n), "httptools": with_httptools}
    try:
        import h11
        variants[f"h11 {h11.__version__}"] = with_h11
    except ImportError:
        print("h11 not installed: skipped", file=sys.stderr)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            samples[name].append(asyncio.run(run(args.requests)))
    base = statistics.median(samples["hand-written"])
    report = {name: {"us_per_request": round(statistics.median(s) * 1e6, 2),
                     "ratio_to_hand_written": round(statistics.median(s) / base, 3)} for name, s in samples.items()}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
