"""deploy on the local target offers to bootstrap (issue 5): moto in server mode stands in for the
daemon, so the same commands run against an endpoint URL exactly as they do on the local target."""
from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from click.testing import CliRunner

from cli_helpers import FIXTURE_MODEL, MODEL_KEY
from wildrydes_cli.cli import cli


@pytest.fixture
def emulator(monkeypatch):
    from moto.server import ThreadedMotoServer
    from wildrydes_cli.local import daemon
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
    monkeypatch.setattr(daemon, "ensure_running", lambda settings: url)
    yield url
    server.stop()


def _run(tmp_path, *args, input=None):
    argv = ["--target", "local", "--output", "json", "--scratchpad", str(tmp_path / "scratchpad.txt"), *args]
    return CliRunner().invoke(cli, argv, input=input)


def _seed_model_when_bootstrapped(monkeypatch, url):
    """A model must exist before preflight looks: publish one right after bootstrap makes the bucket."""
    from wildrydes_cli import bootstrap as bootstrapping
    real = bootstrapping.bootstrap

    def bootstrap_then_train(settings, aws, console):
        result = real(settings, aws, console)
        boto3.client("s3", endpoint_url=url).put_object(Bucket=result["bucket"], Key=MODEL_KEY,
                                                        Body=FIXTURE_MODEL.read_bytes())
        return result
    monkeypatch.setattr(bootstrapping, "bootstrap", bootstrap_then_train)


def test_local_deploy_bootstraps_with_yes(emulator, tmp_path, monkeypatch):
    _seed_model_when_bootstrapped(monkeypatch, emulator)
    result = _run(tmp_path, "deploy", "--yes")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["invoke_url"] == f"{emulator}/restapis/{out['api_id']}/prod/_user_request_/"
    cfn = boto3.client("cloudformation", endpoint_url=emulator)
    assert {s["StackName"] for s in cfn.describe_stacks()["Stacks"]} >= {"wildrydes-ml-mod1-3", "wildrydes-ml-mod3-4"}
    assert "DataBucket: " in (tmp_path / "scratchpad.txt").read_text()


def test_local_deploy_asks_before_bootstrapping(emulator, tmp_path, monkeypatch):
    _seed_model_when_bootstrapped(monkeypatch, emulator)
    declined = _run(tmp_path, "deploy", input="n\n")
    assert declined.exit_code == 3
    assert "Create it and the role now" in declined.stderr and "wildrydes bootstrap" in declined.stderr
    assert boto3.client("s3", endpoint_url=emulator).list_buckets()["Buckets"] == []
    accepted = _run(tmp_path, "deploy", input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert json.loads(accepted.stdout)["model_path"] == MODEL_KEY
