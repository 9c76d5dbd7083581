"""The daemon's resident memory does not grow with what it replaces (benchmarks/bench_soak.py soaks it).

moto kept every object it ever made and each upload's body stayed in a reference
cycle: 300 overwrites of one 1 MB key grew the daemon by ~600 MB. The parts are
held separately (tests/local/awsapi/test_moto_backends.py, test_wsgi.py); this is
the daemon as started, over real HTTP.
"""
from __future__ import annotations

import os
from pathlib import Path

import emulated
import pytest

pytestmark = pytest.mark.slow

MB = 1024 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set from /proc")
def test_overwriting_one_key_does_not_grow_the_daemon(tmp_path):
    with emulated.emulator(tmp_path) as status:
        s3 = emulated.clients(status.endpoint_url)["s3"]
        s3.create_bucket(Bucket="overwritten")
        base = os.urandom(MB)
        for i in range(5):   # moto's one-time costs (service model, first object) paid
            s3.put_object(Bucket="overwritten", Key="model.bin", Body=i.to_bytes(8, "big") + base[8:])
        before = rss_mb(status.pid)
        for i in range(40):   # new content each time, as a retrained model
            s3.put_object(Bucket="overwritten", Key="model.bin", Body=(i + 100).to_bytes(8, "big") + base[8:])
        grown = rss_mb(status.pid) - before
        assert s3.get_object(Bucket="overwritten", Key="model.bin")["Body"].read()[:8] == (139).to_bytes(8, "big")
    assert grown < 20, f"the daemon grew {grown:.0f} MB over 40 overwrites of a 1 MB object"
