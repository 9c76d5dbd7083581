"""The widest model the function accepts (2^20 numbers: 1,048,575 features and a bias) is served at 128 MB.

The function runs as the local target runs it: ``index.handler`` in a Lambda
worker (``wildrydes_cli.local.invoke.worker``) with ``--memory-mb 128``, its
model read from a file instead of S3. Its peak resident memory (``VmHWM``) must
stay within 128 MB, as Lambda's limit is, through loading the model, a
full-width CSV row of 0.5s (the most float objects 4 MiB can carry) and a
full-width SageMaker JSON instance; and an explained answer that wide is a 400,
not a dead worker. Before: the metadata GET alone went to ~150 MB (a name
``f0..fN`` made for every feature, a Python float per weight) and every request
was a 502.
"""
from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HEADER = struct.Struct(">I")
FEATURES = (1 << 20) - 1
MEMORY_MB = 128
ROOT = Path(__file__).resolve().parents[2]
SHIM = """
import index, models, config


class LocalFiles:
    connections_opened = 0

    def get_object(self, bucket, key, limit):
        with open(key, "rb") as handle:
            return handle.read(limit + 1)


index._store = models.ModelStore(config.load_config(), LocalFiles())
handler = index.handler
"""


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def task_root(tmp_path_factory):
    from wildrydes_cli.training.sagemaker_archive import write_model_archive

    root = tmp_path_factory.mktemp("wide")
    for source in (ROOT / "lambda").glob("*.py"):
        if source.name != "__init__.py":
            (root / source.name).write_bytes(source.read_bytes())
    (root / "shim.py").write_text(SHIM)
    rnd = random.Random(7)
    (root / "model.tar.gz").write_bytes(write_model_archive([rnd.uniform(-1, 1) for _ in range(FEATURES)], 0.1))
    return root


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_the_widest_model_is_served_within_128_mb(task_root):
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": os.pathsep.join(sys.path), "OUTPUT_BUCKET": "local", "MODEL_PATH": "model.tar.gz",
           "INFERENCE_ENGINE": "lean", "LOG_LEVEL": "WARNING", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB)}
    proc = subprocess.Popen([sys.executable, "-m", "wildrydes_cli.local.invoke.worker", "--task-root", str(task_root),
                             "--handler", "shim.handler", "--memory-mb", str(MEMORY_MB)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(task_root), env=env)
    try:
        def invoke(event: dict) -> dict:
            payload = json.dumps({"event": event, "context": {"memory_size": MEMORY_MB}}).encode()
            proc.stdin.write(HEADER.pack(len(payload)) + payload)
            proc.stdin.flush()
            header = proc.stdout.read(HEADER.size)
            assert len(header) == HEADER.size, "the worker exited"
            reply = json.loads(proc.stdout.read(HEADER.unpack(header)[0]))
            assert reply.get("ok") and not reply.get("exit"), reply.get("error")
            return reply["result"]

        header = proc.stdout.read(HEADER.size)
        assert json.loads(proc.stdout.read(HEADER.unpack(header)[0]))["type"] == "ready"
        meta = invoke({"httpMethod": "GET", "path": "/"})
        assert meta["statusCode"] == 200 and json.loads(meta["body"])["dimension"] == FEATURES
        csv_row = ",".join(["0.5"] * FEATURES)
        scored = invoke({"httpMethod": "POST", "path": "/", "body": csv_row, "headers": {"Content-Type": "text/csv"}})
        assert scored["statusCode"] == 200 and "predictions" in json.loads(scored["body"]), scored["body"][:300]
        instance = '{"instances":[{"features":[' + ",".join(["1"] * FEATURES) + "]}]}"
        scored = invoke({"httpMethod": "POST", "path": "/", "body": instance,
                         "headers": {"Content-Type": "application/json"}})
        assert scored["statusCode"] == 200, scored["body"][:300]
        explained = invoke({"httpMethod": "POST", "path": "/", "body": csv_row,
                            "queryStringParameters": {"explain": "true"}, "headers": {"Content-Type": "text/csv"}})
        assert explained["statusCode"] == 400 and "at most 100,000 terms" in explained["body"]
        peak = peak_mb(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert peak <= MEMORY_MB, f"peak resident memory {peak:.0f} MB over the function's {MEMORY_MB} MB"
