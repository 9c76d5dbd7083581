"""Benchmark the SigV4 gate (wildrydes_cli/local/awsapi/auth.py): its cost per AWS API call vs moto's own.

    python benchmarks/bench_auth.py [--repeat 2000]

For requests exactly as botocore signs them (captured before sending), in one
process: the gate's check alone (median µs), moto's handling of the same
request alone (``wsgi.call_moto``, what the daemon runs without a gate), and
both as the daemon runs them (``Gate.call``). The ratio gate+moto / moto is the
cost the gate adds to a moto-bound call. Execute-api requests (the load figure
in RESULTS.md) never reach the gate: ``Emulator.handle`` routes them before it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from wildrydes_cli.local.http import HttpRequest  # noqa: E402


def Req(method: str, target: str, headers=(), body: bytes = b"") -> HttpRequest:  # noqa: N802
    """A request as the daemon's parser hands it to the gate."""
    return HttpRequest(method, target, "HTTP/1.1", list(headers), body)


class _Stop(Exception):
    pass


def capture(service: str, call, key: str, secret: str) -> Req:
    import boto3

    host = "127.0.0.1:4566"
    client = boto3.client(service, endpoint_url=f"http://{host}", region_name="us-east-1",
                          aws_access_key_id=key, aws_secret_access_key=secret)
    held = {}

    def grab(request, **_):
        held["r"] = request
        raise _Stop()

    client.meta.events.register("before-send", grab)
    try:
        call(client)
    except _Stop:
        pass
    r = held["r"]
    parts = urlsplit(r.url)
    body = r.body or b""
    if hasattr(body, "read"):
        body = body.read()
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in r.headers.items()] + [("Host", host)]
    return Req(r.method, parts.path + (f"?{parts.query}" if parts.query else ""), headers,
               body.encode() if isinstance(body, str) else body)


def interleaved_medians_us(fns, repeat: int) -> list[float]:
    """Median µs of each callable, run in turn ``repeat`` times (interleaved, so load drift hits all alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) * 1e6 for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from wildrydes_cli.local.awsapi import wsgi
    from wildrydes_cli.local.awsapi.auth import Gate
    from wildrydes_cli.local.awsapi.credentials import local_credentials

    with tempfile.TemporaryDirectory(prefix="wildrydes-bench-auth-") as tmp:
        keys = local_credentials(Path(tmp))
        gate = Gate(Path(tmp), keys)
        k, s = keys.access_key_id, keys.secret_access_key
        wsgi.moto_app()
        setup = capture("s3", lambda c: c.create_bucket(Bucket="bench-bucket"), k, s)
        wsgi.call_moto(setup, 4566)
        cases = [
            ("sts GetCallerIdentity", capture("sts", lambda c: c.get_caller_identity(), k, s)),
            ("lambda ListFunctions", capture("lambda", lambda c: c.list_functions(), k, s)),
            ("cloudformation DescribeStacks", capture("cloudformation", lambda c: c.describe_stacks(), k, s)),
            ("s3 HeadBucket", capture("s3", lambda c: c.head_bucket(Bucket="bench-bucket"), k, s)),
            ("s3 PutObject 1 MiB", capture("s3", lambda c: c.put_object(Bucket="bench-bucket", Key="k",
                                                                        Body=b"x" * (1 << 20)), k, s)),
        ]
        print("| request | gate alone, µs | moto alone, µs | gate + moto, µs | (gate + moto) / moto "
              "| gate / moto |")
        print("|---|---|---|---|---|---|")
        for name, request in cases:
            assert gate.refusal(request) is None, name
            repeat = max(args.repeat // 20, 20) if "1 MiB" in name else args.repeat
            gate_only, moto_only, both = interleaved_medians_us(
                [lambda r=request: gate.refusal(r), lambda r=request: wsgi.call_moto(r, 4566),
                 lambda r=request: gate.call(wsgi.call_moto, r, 4566)], repeat)
            print(f"| {name} | {gate_only:.1f} | {moto_only:.1f} | {both:.1f} | {both / moto_only:.3f} "
                  f"| {gate_only / moto_only:.3f} |")


if __name__ == "__main__":
    main()
