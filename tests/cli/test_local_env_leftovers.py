"""`local env` left in the shell never turns --target aws into the emulator; `local env --unset` undoes it."""
from __future__ import annotations

import json

import pytest
from cli_helpers import run_main

from wildrydes_cli.local import daemon_files
from wildrydes_cli.local.awsapi.credentials import SHELL_VARIABLES, local_credentials
from wildrydes_cli.settings import default_state_dir

UNDO = 'eval "$(wildrydes local env --unset)"'


def _refused(argv: list[str]) -> str:
    code, out, err = run_main(["--target", "aws", "--output", "json", *argv])
    assert code == 2, err
    assert json.loads(out)["exit_code"] == 2
    assert UNDO in err and "--target local" in err
    return err


@pytest.mark.parametrize("variable, url", [
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
    ("AWS_ENDPOINT_URL", "http://localhost:4566/"),
    ("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://127.0.0.1:4566"),
])
def test_the_local_endpoint_in_the_environment_is_refused_on_aws(monkeypatch, variable, url):
    monkeypatch.setenv(variable, url)
    err = _refused(["deploy", "--yes"])
    assert f"{variable}={url} is the local emulator" in err


def test_the_configured_and_the_recorded_local_ports_count(monkeypatch):
    monkeypatch.setenv("WILDRYDES_LOCAL_PORT", "4999")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4999")
    _refused(["status"])
    monkeypatch.delenv("WILDRYDES_LOCAL_PORT")
    daemon_files.private_dir(daemon_files.local_dir(default_state_dir()))
    daemon_files.write_state(default_state_dir(), daemon_files.DaemonState(pid=1, port=5123, log_file="x",
                                                                            started_at=0.0))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:5123")
    _refused(["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500", "--tmax", "333",
              "--tmin", "300", "--prcp", "0"])


def test_the_local_targets_key_is_refused_and_its_secret_never_shown(monkeypatch):
    credentials = local_credentials(default_state_dir())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key)
    err = _refused(["status"])
    assert "AWS_ACCESS_KEY_ID is the local target's key" in err
    assert credentials.secret_access_key not in err and credentials.access_key_id not in err


def test_another_endpoint_keeps_working_on_aws(monkeypatch, moto_s3_url):
    """A moto server standing in for AWS (as tests use it) is the user's choice: no refusal."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3_url)
    code, out, err = run_main(["--target", "aws", "--output", "json", "status"])
    assert code == 0, err
    assert json.loads(out)["target"] == "aws"


def test_local_target_is_not_refused_with_its_own_environment(monkeypatch):
    from wildrydes_cli.aws.target import LocalTarget
    from wildrydes_cli.settings import Settings
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    LocalTarget(Settings(), "http://127.0.0.1:4566").check_environment()   # nothing raised


def test_local_env_unset_prints_the_line_that_undoes_local_env():
    code, out, err = run_main(["local", "env", "--unset"])
    assert code == 0, err
    assert out == "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION\n"
    assert tuple(out.split()[1:]) == SHELL_VARIABLES
    code, out, _ = run_main(["local", "env", "--unset", "--output", "json"])
    assert code == 0 and json.loads(out) == {"unset": list(SHELL_VARIABLES)}
    assert daemon_files.read_state(default_state_dir()) is None   # nothing was started


def _config(tmp_path, monkeypatch, text: str):
    path = tmp_path / "aws-config"
    path.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    monkeypatch.delenv("WILDRYDES_LOCAL_PORT", raising=False)
    return path


@pytest.mark.parametrize("text, where", [
    ("[default]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:4566\n", "endpoint_url in [default]"),
    ("[default]\nservices = localstack\n[services localstack]\ns3 =\n  endpoint_url = http://localhost:4566\n"
     "sts =\n  region = us-east-1\n", "endpoint_url of s3 in [services localstack]"),
])
def test_an_aws_config_that_sends_requests_to_the_local_target_is_refused_on_aws(tmp_path, monkeypatch, text,
                                                                                 where):
    """A LocalStack user's profile (endpoint_url on 127.0.0.1:4566, the local target's port): --target aws used
    to reach the emulator with the user's AWS keys and report "credentials rejected"."""
    path = _config(tmp_path, monkeypatch, text)
    code, out, err = run_main(["--target", "aws", "--output", "json", "status"])
    assert code == 2 and json.loads(out)["exit_code"] == 2, err
    message = " ".join(err.split())
    assert f"your AWS config sends requests to the local target: {where} of {path} is " in message
    assert "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true" in message and "--target local" in message


def test_configured_endpoints_that_are_not_the_local_target_are_left_alone(tmp_path, monkeypatch):
    from wildrydes_cli.aws.target import configured_local_endpoints
    from wildrydes_cli.settings import Settings
    settings = Settings(state_dir=tmp_path)
    local = "[default]\nendpoint_url = http://127.0.0.1:4566\n"
    _config(tmp_path, monkeypatch, local)
    assert configured_local_endpoints(settings) != []
    assert configured_local_endpoints(settings, {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
                                                 "AWS_CONFIG_FILE": str(tmp_path / "aws-config")}) == []
    _config(tmp_path, monkeypatch, local.replace("[default]", "[default]\nignore_configured_endpoint_urls = true"))
    assert configured_local_endpoints(settings) == []
    for elsewhere in ("http://127.0.0.1:4567", "https://s3.us-east-1.amazonaws.com", "http://[::1"):
        _config(tmp_path, monkeypatch, f"[default]\nendpoint_url = {elsewhere}\n")
        assert configured_local_endpoints(settings) == [], elsewhere
    _config(tmp_path, monkeypatch, "[profile other]\nendpoint_url = http://127.0.0.1:4566\n")
    assert configured_local_endpoints(settings) == []                      # not the profile in use
    assert configured_local_endpoints(Settings(state_dir=tmp_path, profile="other")) != []
    _config(tmp_path, monkeypatch, "not an ini file [\n")
    assert configured_local_endpoints(settings) == []
