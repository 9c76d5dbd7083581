"""`wildrydes --target aws logs` against moto: the function's log group as Lambda writes it."""
from __future__ import annotations

import time

import boto3


def _lambda_wrote(function_name: str, lines: list[str]) -> None:
    client = boto3.client("logs")
    group = f"/aws/lambda/{function_name}"
    if not client.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="2026/11/26/[$LATEST]abc")
    now = int(time.time() * 1000)
    client.put_log_events(logGroupName=group, logStreamName="2026/11/26/[$LATEST]abc",
                          logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)])


def test_logs_reads_the_deployed_functions_group_with_request_ids(wildrydes, deployed):
    rid = "c0ffee00-1111-2222-3333-444455556666"
    _lambda_wrote(deployed["function_name"], [
        f"START RequestId: {rid} Version: $LATEST",
        f"[INFO]\t2026-11-26T00:00:00.000Z\t{rid}\trequest POST '/breeds/shire' breed=shire status=200 ms=0.20",
        f"END RequestId: {rid}",
        f"REPORT RequestId: {rid}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB"])
    result = wildrydes.json("logs")
    assert result["log_group"] == f"/aws/lambda/{deployed['function_name']}"
    assert [e["requestId"] for e in result["events"]] == [rid] * 4
    assert result["events"][-1]["message"].startswith("REPORT RequestId: ")
    assert len(wildrydes.json("logs", "--breed", "shire")["events"]) == 4
    assert wildrydes.json("logs", "--breed", "pegasus")["events"] == []
    text = wildrydes("logs", json_output=False).stdout
    assert f"  {rid}  START RequestId: {rid} Version: $LATEST" in text


def test_logs_before_any_invocation_says_how_to_get_some(wildrydes, deployed):
    """The stack declares the group; should it be gone (or a template without it), the message says why."""
    client = boto3.client("logs")
    for group in client.describe_log_groups()["logGroups"]:
        client.delete_log_group(logGroupName=group["logGroupName"])
    result = wildrydes("logs", expect=3, json_output=False)
    assert "No logs yet" in result.stderr and "wildrydes predict" in result.stderr


def test_logs_without_a_deployment_says_to_deploy(wildrydes, boot):
    result = wildrydes("logs", expect=3, json_output=False)
    assert "Nothing is deployed" in result.stderr and "wildrydes deploy" in result.stderr


def test_logs_refuses_a_bad_since_before_calling_aws(wildrydes):
    result = wildrydes("logs", "--since", "yesterday", expect=2, json_output=False)
    assert "--since 'yesterday'" in result.stderr and "such as 30s, 10m, 2h or 1d" in result.stderr


def test_ctrl_c_ends_logs_follow_cleanly_after_what_it_showed(wildrydes, deployed, monkeypatch):
    """`logs -f` runs until Ctrl-C; Ctrl-C (here during the second poll) is the way out, not an error."""
    from wildrydes_cli.observe import logs
    rid = "c0ffee00-1111-2222-3333-444455556666"
    _lambda_wrote(deployed["function_name"], [f"START RequestId: {rid} Version: $LATEST"])
    read, polls = logs.LogReader.read, []

    def read_then_ctrl_c(self, start_ms):
        polls.append(start_ms)
        if len(polls) == 2:
            raise KeyboardInterrupt
        return read(self, start_ms)
    monkeypatch.setattr(logs.LogReader, "read", read_then_ctrl_c)
    monkeypatch.setattr(logs, "FOLLOW_POLL_SECONDS", 0)
    result = wildrydes("logs", "-f", json_output=False)      # exit 0
    assert "Ctrl-C to stop" in result.stderr and f"START RequestId: {rid}" in result.stdout
    assert len(polls) == 2


def test_logs_training_refuses_what_is_not_a_job_name_and_names_a_job_that_is_not_there(wildrydes):
    """Before: any string up to 63 characters went to DescribeTrainingJob and came back "No training job"."""
    for bad in ("bad name!", "-starts-with-a-dash", "x" * 64):
        result = wildrydes("logs", "--training", bad, expect=2, json_output=False)
        assert f"--training {bad!r} is not a training job's name: 1-63 letters, digits and '-'" in result.stderr
    missing = wildrydes("logs", "--training", "linear-learner-2026-12-04-00-00-00-000", expect=3, json_output=False)
    assert "No training job linear-learner-2026-12-04-00-00-00-000 in this account and region" in missing.stderr
