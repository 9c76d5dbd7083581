"""--debug: one stderr line per AWS API call (service, operation, HTTP status or failure, milliseconds)."""
from __future__ import annotations

import re

from cli_helpers import run_main

from wildrydes_cli.cli.main import cli

CALL = re.compile(r"^debug: aws call ([a-z0-9-]+) ([A-Za-z0-9]+) -> (\d{3}(?: [A-Za-z.]+)?|failed \(\w+\)) "
                  r"in \d+ ms$")


def _calls(err: str) -> list[tuple[str, str, str]]:
    return [CALL.match(line).groups() for line in err.splitlines() if CALL.match(line)]   # type: ignore[union-attr]


def test_debug_logs_every_aws_call_with_status(aws, tmp_path):
    code, _, err = run_main(["--target", "aws", "--scratchpad", str(tmp_path / "pad.txt"), "bootstrap", "--debug"])
    assert code == 0, err
    calls = _calls(err)
    assert ("cloudformation", "DescribeStacks", "400 ValidationError") in calls   # "does not exist" yet
    assert ("cloudformation", "CreateStack", "200") in calls
    assert all(line.startswith("debug: ") for line in err.splitlines() if " aws call " in line)
    assert len([line for line in err.splitlines() if "aws call" in line]) == len(calls)   # each line well-formed


def test_without_debug_no_call_is_logged(aws, tmp_path):
    code, _, err = run_main(["--target", "aws", "--scratchpad", str(tmp_path / "pad.txt"), "bootstrap"])
    assert code == 0, err
    assert "aws call" not in err


def test_a_call_that_gets_no_answer_is_logged_as_failed(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")   # nothing listens: no HTTP status at all
    code, _, err = run_main(["--debug", "--target", "aws", "status"])
    assert code != 0
    assert ("sts", "GetCallerIdentity", "failed (EndpointConnectionError)") in _calls(err) or \
        ("cloudformation", "DescribeStacks", "failed (EndpointConnectionError)") in _calls(err), err


def test_the_help_says_what_debug_shows():
    from click.testing import CliRunner
    text = " ".join(CliRunner().invoke(cli, ["--help"]).output.split())
    assert "log every AWS API call (service, operation, HTTP status, milliseconds)" in text
