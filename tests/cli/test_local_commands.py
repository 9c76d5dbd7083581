"""deploy on the local target offers to bootstrap: moto in server mode stands in for the
daemon, so the same commands run against an endpoint URL exactly as they do on the local target."""
from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from cli_helpers import FIXTURE_MODEL, MODEL_KEY, interactive, run_main
from click.testing import CliRunner

from wildrydes_cli.cli.main import cli


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
    from wildrydes_cli.deploy import bootstrap as bootstrapping
    real = bootstrapping.bootstrap

    def bootstrap_then_train(settings, aws, console):
        result = real(settings, aws, console)
        boto3.client("s3", endpoint_url=url).put_object(Bucket=result.bucket, Key=MODEL_KEY,
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
    interactive(monkeypatch)
    declined = _run(tmp_path, "deploy", input="n\n")
    assert declined.exit_code == 3
    assert "Create it and the role now" in declined.stderr and "wildrydes bootstrap" in declined.stderr
    assert boto3.client("s3", endpoint_url=emulator).list_buckets()["Buckets"] == []
    accepted = _run(tmp_path, "deploy", input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert json.loads(accepted.stdout)["model_path"] == MODEL_KEY


def test_local_deploy_without_a_terminal_refuses_and_names_yes(emulator, tmp_path, monkeypatch):
    """Piped stdin (no TTY) and no --yes: no prompt, no 'Aborted.', a clear error and nothing created."""
    _seed_model_when_bootstrapped(monkeypatch, emulator)
    result = _run(tmp_path, "deploy")                      # CliRunner's stdin is not a terminal
    assert result.exit_code == 2, result.stderr
    assert "Create it and the role now (wildrydes bootstrap)? Cannot ask: stdin is not a terminal. " \
           "Pass --yes to answer yes without being asked." in result.stderr
    assert "[y/N]" not in result.stderr
    assert boto3.client("s3", endpoint_url=emulator).list_buckets()["Buckets"] == []


def test_local_deploy_without_a_terminal_prints_one_json_object(emulator, tmp_path, monkeypatch):
    _seed_model_when_bootstrapped(monkeypatch, emulator)
    argv = ["--target", "local", "--output", "json", "--scratchpad", str(tmp_path / "scratchpad.txt"), "deploy"]
    code, out, err = run_main(argv)
    assert code == 2
    error = json.loads(out)                                # exactly one JSON object on stdout
    assert error["exit_code"] == 2 and "Pass --yes" in error["error"]
    assert "Error: " in err and "Pass --yes" in err


def test_end_of_input_at_the_prompt_is_one_json_object_and_the_prompt_line_ends(emulator, tmp_path, monkeypatch):
    """At a terminal, Ctrl-D at the prompt aborts: JSON still gets its one object, stderr stays tidy."""
    _seed_model_when_bootstrapped(monkeypatch, emulator)
    interactive(monkeypatch)
    argv = ["--target", "local", "--output", "json", "--scratchpad", str(tmp_path / "scratchpad.txt"), "deploy"]
    code, out, err = run_main(argv, input="")
    assert code == 130
    assert json.loads(out) == {"error": "Aborted.", "exit_code": 130}
    prompt_line = next(line for line in err.splitlines() if "[y/N]" in line)
    assert prompt_line.rstrip().endswith("[y/N]:")       # the progress output continues on its own line
    assert any(line.strip().startswith("failed Preflight") for line in err.splitlines())
    assert err.rstrip().endswith("Aborted.")


def test_local_start_recover_says_what_was_kept_and_set_aside(tmp_path, monkeypatch):
    """The text of `local start --recover` (the daemon's report is what journal_recovery.Recovery holds)."""
    from wildrydes_cli.local import daemon
    from wildrydes_cli.results import LocalDaemonResult
    report = {"journal": "/s/local/journal/journal.bin", "kept_records": 41, "damaged_ranges": [[1048576, 312]],
              "dropped_records": [], "probably_lost": ["PUT /bucket/breeds/pegasus/latest.json"],
              "set_aside": "/s/local/journal/journal.bin.damaged-1048576", "header_rebuilt": False}
    seen = {}

    def start(settings, port=None, *, fresh=False, recover=False):
        seen["recover"] = recover
        return LocalDaemonResult("start", running=True, pid=1, port=2, endpoint_url="http://127.0.0.1:2",
                                 recovery=report)
    monkeypatch.setattr(daemon, "start", start)
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    out = CliRunner().invoke(cli, ["local", "start", "--recover"])
    assert out.exit_code == 0 and seen["recover"] is True
    for line in ("Recovered the journal /s/local/journal/journal.bin: kept 41 records.",
                 "Set aside damaged bytes: 312 bytes at byte 1048576.",
                 "Probably lost: PUT /bucket/breeds/pegasus/latest.json",
                 "/s/local/journal/journal.bin.damaged-1048576 (nothing was deleted)"):
        assert line in out.output, line


def test_local_start_fresh_and_recover_together_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    code, _, stderr = run_main(["local", "start", "--fresh", "--recover"])
    assert code == 2 and "choose one" in stderr


def test_the_stacks_outputs_point_at_the_local_target(emulator, tmp_path, monkeypatch):
    """InvokeUrl and CurlCommand are the local target's URL there, not AWS's (ExecuteApiEndpoint)."""
    _seed_model_when_bootstrapped(monkeypatch, emulator)
    result = _run(tmp_path, "deploy", "--yes")
    assert result.exit_code == 0, result.stderr
    deployed = json.loads(result.stdout)
    cfn = boto3.client("cloudformation", endpoint_url=emulator)
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cfn.describe_stacks(StackName="wildrydes-ml-mod3-4")["Stacks"][0]["Outputs"]}
    assert outputs["InvokeUrl"] == deployed["invoke_url"] == f"{emulator}/restapis/{deployed['api_id']}/prod/_user_request_/"
    assert outputs["CurlCommand"].endswith(f"-X POST {deployed['invoke_url']}")
    assert "amazonaws.com" not in outputs["CurlCommand"]


def test_cleanup_on_the_local_target_does_not_ask(emulator, tmp_path, monkeypatch):
    _seed_model_when_bootstrapped(monkeypatch, emulator)
    assert _run(tmp_path, "deploy", "--yes").exit_code == 0
    result = _run(tmp_path, "cleanup")                  # stdin is not a terminal, and no --yes: still fine
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["stacks"] == ["wildrydes-ml-mod3-4"]
