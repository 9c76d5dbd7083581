"""The text form of every command's result, in one place; ``show`` prints a result either way.

Why one module: the domain modules (deploy, status, cleanup, predict, catalog,
training) compute results and never draw, so they stay testable without a
terminal and none of them imports ``Console``; what a user reads is decided
here, next to the other commands' wording. The JSON form is each result's
``to_json()`` (the results package), printed unchanged by ``Console.result``.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import time
from typing import Any, Callable

from wildrydes_cli.aws.target import KEY_EXPORT
from wildrydes_cli.cli import canary_views, model_views, training_views
from wildrydes_cli.cli.console import Console
from wildrydes_cli.layout import FEATURES
from wildrydes_cli.results import (
    BatchPredictResult,
    BootstrapResult,
    BreedHistoryResult,
    CanaryEndResult,
    CleanupResult,
    DeployResult,
    EvaluateResult,
    HistoryResult,
    JobsResult,
    KeysResult,
    LocalCompactResult,
    LocalDaemonResult,
    LocalEnvResult,
    LogsResult,
    ModelsResult,
    PackageResult,
    PredictResult,
    Result,
    SageMakerBreedsResult,
    ScratchpadResult,
    StatusResult,
    TrainBreedsResult,
    TrainJobResult,
    TrainResult,
)

LOG = logging.getLogger(__name__)

EXAMPLE_FLAGS = "--distance 30 --healthpoints 30 --magicpoints 2500 --tmin 300 --tmax 333 --prcp 0"


def show(console: Console, result: Result) -> None:
    """Print ``result``: its JSON form with --output json, else its text form."""
    if isinstance(result, LogsResult) and result.waiting:   # a note, never part of the output
        console.info(f"Waiting for new events in {result.log_group} (every few seconds; Ctrl-C to stop) ...")
        return
    if isinstance(result, LogsResult) and result.follow and console.json_output:
        console.out.write(json.dumps(result.to_json(), separators=(",", ":")) + "\n")   # JSON Lines
        console.out.flush()
        return
    render = _RENDERERS[type(result)]
    console.result(result.to_json(), lambda c: render(c, result))


def scratchpad(console: Console, result: ScratchpadResult) -> None:
    console.fields({"scratchpad": result.scratchpad, "DataBucket": result.bucket,
                    "DataProcessingExecutionRole": result.role,
                    "changed": "yes" if result.changed else "no (already recorded)"})


def bootstrap(console: Console, result: BootstrapResult) -> None:
    state = "created" if result.created else "updated" if result.updated else "already there"
    console.fields({"stack": f"{result.stack} ({state})",
                    "DataBucket": result.bucket, "DataProcessingExecutionRole": result.role,
                    "SageMakerExecutionRole": (result.sagemaker_role or "-") + (
                        f" (stack {result.sagemaker_role_stack})" if result.sagemaker_role_stack else ""),
                    "scratchpad": result.scratchpad})


def deploy(console: Console, result: DeployResult) -> None:
    pinned = " (pinned: later deploys keep it; --model-path newest unpins)" if result.pinned else ""
    if result.gate is not None:
        model_views.gate(console, result.gate)
    if result.canary is not None:
        canary_views.started(console, result)
    else:
        console.line(f"Deployed {result.function_name} ({result.engine}, {result.runtime}, {result.memory_mb} MB) "
                     f"serving s3://{result.bucket}/{result.model_path}{pinned}")
    if result.kept:
        console.line(f"Kept from the last deploy: {', '.join(result.kept)} (change with --engine, --role or "
                     "--new-role, --memory, --model-path, --auth).")
    console.line(f"Invoke URL: {result.invoke_url}", style="bold")
    if result.auth == "api-key":
        quota = f", quota {result.quota}" if result.quota else ", no quota"
        console.line(f"Callers need the API key (header x-api-key): {result.rate:g} requests/s per key, bursts "
                     f"of {result.burst}{quota}{_enforced(result.limits_enforced)}. `wildrydes predict` sends it; "
                     "`wildrydes keys show` prints it.")
    if result.auth == "iam":
        console.line("Callers sign their requests (SigV4, service execute-api) with credentials allowed "
                     "execute-api:Invoke on this API; `wildrydes predict` signs with yours.")
    console.line("Try it:")
    if result.auth == "api-key":
        console.line(f"  {KEY_EXPORT}")
    if result.credentials_export:
        console.line(f"  {result.credentials_export}")
    console.line(f"  {result.curl}")
    console.line(f"  or: wildrydes predict {EXAMPLE_FLAGS}")


def package(console: Console, result: PackageResult) -> None:
    """The key alone on stdout (CODE_KEY=$(wildrydes package)); how to use it on stderr."""
    console.out.write(result.code_key + "\n")
    console.out.flush()
    params = " ".join(f"ParameterKey={k},ParameterValue={v}" for k, v in result.parameters.items())
    console.info(f"{'Uploaded' if result.uploaded else 'Already there'}: s3://{result.bucket}/{result.code_key} "
                 f"({result.engine}, {result.runtime}, {result.bytes / 1024:.0f} KB). Template: {result.template}\n"
                 f"  aws cloudformation create-stack --stack-name wildrydes-ml-mod3-4 "
                 f"--capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM --template-body file://{result.template} "
                 f"--parameters {params}")


def status(console: Console, result: StatusResult) -> None:
    console.table(["stack", "status"], list(result.stacks.items()), title=f"target {result.target} ({result.region})")
    if result.other_regions:
        elsewhere = ", ".join(result.other_regions)
        console.line(f"Deployments are recorded in {'another region' if len(result.other_regions) == 1 else 'other regions'}"
                     f" too: {elsewhere} (see them with --region {result.other_regions[0]}).")
    if not result.deployed:
        console.line("Nothing deployed yet: run `wildrydes deploy`.")
        return
    function = result.function
    redeploy = "run `wildrydes deploy` to deploy again"
    if not result.recorded:
        console.line(f"No deployment recorded by wildrydes: found in stack {result.stack} (made by hand).")
        if result.gone:
            console.line(f"Not serving yet: {', '.join(result.missing)} missing; `wildrydes deploy` finishes it "
                         "(or the workshop's Steps 3-4).")
    elif result.gone:
        restarted = f" ({result.gone_hint})" if result.gone_hint else ""
        console.line(f"The recorded deployment is gone: {', '.join(result.missing)} missing{restarted}; {redeploy}.")
    fields = {
        "function": function.name if function else "missing (run `wildrydes deploy`)",
        "runtime": function.runtime if function else None,
        "memory": f"{function.memory_mb} MB" if function else None,
        "engine": function.engine if function else None, "MODEL_PATH": result.deployed_model,
        "last modified": function.last_modified if function else None, "API": result.api_id,
        "invoke URL": result.invoke_url, "auth": _auth_text(result), "usage today": _usage_text(result),
        "newest model": result.newest_model,
        "up to date": _up_to_date(result, redeploy),
        "model metrics": model_views.card_summary(result.deployed_card) if result.deployed_model else None,
    }
    if result.auth != "api-key":
        del fields["usage today"]       # only a key has a usage plan that counts
    console.fields(fields)
    for flag in (result.deployed_card or {}).get("flags") or ():
        console.line(f"flagged: {flag}")
    if result.canary is not None:
        canary_views.running(console, result.canary)


def _auth_text(result: StatusResult) -> str:
    if result.auth == "iam":
        return "iam (requests signed by an identity allowed execute-api:Invoke)"
    if result.auth != "api-key":
        return "none (anyone with the URL may call it)"
    quota = f", quota {result.quota} per key" if result.quota else ", no quota"
    return (f"api-key (header x-api-key; `wildrydes keys show`): {result.rate:g} requests/s per key, bursts of "
            f"{result.burst}{quota}{_enforced(result.limits_enforced)}")


def _usage_text(result: StatusResult) -> str | None:
    usage = result.usage
    if usage is None:
        return None
    left = f", {usage.remaining} of {result.quota} left" if usage.remaining is not None else ""
    counted = " (API Gateway's count, best-effort)" if usage.counted == "best-effort" else ""
    return f"{usage.used} request{'' if usage.used == 1 else 's'} on {usage.day} UTC{left}{counted}"


def _enforced(how: str | None) -> str:
    return " (API Gateway applies these limits best-effort: a few requests over them may pass)" \
        if how == "best-effort" else ""


def _up_to_date(result: StatusResult, redeploy: str) -> str:
    if result.gone:
        return f"no - the deployment is gone: {redeploy}" if result.recorded else "no - not serving yet"
    if result.pinned:   # a rollback (deploy --model-path) is what the user asked for: no nagging
        newer = "" if result.up_to_date else " - `wildrydes deploy --model-path newest` serves the newest"
        return f"pinned to {result.deployed_model}{newer}"
    return "yes" if result.up_to_date else "no - run `wildrydes deploy` to roll it out"


# What each kind of removed thing is called, one of them.
_SINGULAR = {"stacks": "stack", "apis": "API", "code": "code zip", "buckets": "bucket"}


def cleanup(console: Console, result: CleanupResult) -> None:
    if result.kept:
        console.line(f"Nothing deleted: kept {', '.join(result.kept)}.")
        return
    if result.nothing_to_do:
        console.line(f"Nothing to clean up on target {result.target} ({result.region}): no deployment recorded "
                     f"and no stack {' or '.join(result.function_stacks)}.")
        return
    from wildrydes_cli.deploy.cleanup import removed_summary  # lazily: it imports boto3

    console.line("Cleaned up: " + removed_summary(
        {"stacks": result.stacks, "apis": result.apis, "code": result.code, "buckets": result.buckets}))
    for kind, items in (("stacks", result.stacks), ("apis", result.apis), ("code", result.code),
                        ("buckets", result.buckets)):
        for item in items:
            console.line(f"  removed {_SINGULAR[kind]} {item}")


def predict(console: Console, result: PredictResult) -> None:
    answer = result.answer
    model = answer.get("model_path") or answer.get("model") or "-"
    console.fields({"score": answer.get("score"), "label": answer.get("label") or "-",
                    "model": model, "breed": result.breed or "-",
                    "latency": f"{result.latency_ms:.1f} ms", "url": result.url})
    newer = result.newer_model
    if newer:
        console.line(f"Answered by the breed's previous model: a newer one is published ({newer['model_path']}, "
                     f"trained {newer.get('trained_at') or '-'}); the function serves it within "
                     f"{newer['refresh_seconds']:g} s (MODEL_REFRESH_SECONDS).")
    if result.explained:
        from wildrydes_cli.cli import explain_view
        explain_view.render_explanation({**answer, "request": result.request}, console)


def predict_batch(console: Console, result: BatchPredictResult) -> None:
    """A table at a terminal; CSV when stdout is redirected (for spreadsheets and scripts).

    Both keep the file's columns in its order (so results join back to it), then score and label;
    with --explain the CSV adds each feature's term and the intercept, a terminal draws the charts.
    """
    columns = list(result.input_columns or FEATURES) + ["score", "label"]
    if not console.is_terminal:
        if result.explained:
            columns += [f"term_{name}" for name in FEATURES] + ["intercept"]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_csv_cell(p, c) for c in columns] for p in result.predictions])
        console.out.write(buffer.getvalue())
        return
    rows = [[p.get(c) for c in columns] for p in result.predictions]
    console.table(columns, rows, title=f"{result.count} rides in {result.latency_ms:.0f} ms")
    if result.explained:
        from wildrydes_cli.cli import explain_view
        explain_view.render_batch_explanations({"predictions": result.predictions}, console)


def _csv_cell(prediction: dict, column: str) -> Any:
    if column.startswith("term_") and column[5:] in FEATURES:
        return (prediction.get("contributions") or {}).get(column[5:])
    return prediction.get(column)


def local_status(console: Console, status: LocalDaemonResult) -> None:
    """``local start|stop|status|reset``: the daemon in words."""
    verb = status.action
    if status.stale_pid:
        console.info(f"Removed stale emulator state (pid {status.stale_pid} was not running).")
    if verb == "reset":
        stopped = f" (stopped pid {status.pid})" if status.pid else ""
        console.line(f"Local target reset{stopped}: the next start is empty.")
        return
    if verb == "stop":
        console.line(f"Emulator stopped (pid {status.pid})." if status.pid else "Emulator is not running.")
        return
    if not status.running:
        console.line("Emulator is not running. Start it with `wildrydes local start`.")
        return
    if verb == "start":
        console.line("Emulator is already running." if status.already_running else "Emulator started.")
    if status.recovery:
        _recovery(console, status.recovery)
    console.fields({"pid": status.pid, "endpoint_url": status.endpoint_url, "log_file": status.log_file})


def _recovery(console: Console, recovery: dict) -> None:
    """``local start --recover``: what was kept, what was set aside and where, what may be missing now."""
    ranges = recovery.get("damaged_ranges") or []
    dropped = recovery.get("dropped_records") or []
    console.line(f"Recovered the journal {recovery.get('journal')}: kept {recovery.get('kept_records')} records.")
    if ranges:
        where = ", ".join(f"{size} bytes at byte {offset}" for offset, size in ranges[:5])
        console.line(f"Set aside damaged bytes: {where}{' ...' if len(ranges) > 5 else ''}.")
    for text in dropped[:10]:
        console.line(f"Set aside the record {text}.")
    for text in (recovery.get("probably_lost") or [])[:10]:
        console.line(f"Probably lost: {text}")
    if recovery.get("header_rebuilt"):
        console.line("Rebuilt the journal's lost header record from the records' own seeds.")
    if recovery.get("set_aside"):
        console.line(f"The set-aside bytes are in {recovery['set_aside']} (nothing was deleted). Check what you "
                     "expect to find, and make again what is missing.")


def local_compact(console: Console, result: LocalCompactResult) -> None:
    if result.compacted:
        console.line(f"Journal compacted: {result.records_before} -> {result.records_after} records, "
                     f"{result.bytes_before / 1e6:.1f} -> {result.bytes_after / 1e6:.1f} MB "
                     f"in {result.seconds:.2f} s.")
    elif result.records_before == 0:
        console.line("Nothing to compact: the local target has kept nothing yet.")
    else:
        console.line(f"Nothing to compact ({result.reason}): {result.records_before} records, "
                     f"{result.bytes_before / 1e6:.1f} MB.")
    console.fields({"journal": result.journal_dir})


def _stamp(timestamp_ms: int) -> str:
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(timestamp_ms / 1000))}.{timestamp_ms % 1000:03d}Z"


def logs(console: Console, result: LogsResult) -> None:
    """One line per event: UTC time, request id, message (as ``sam logs`` prints them); --compact: per request;
    --training: UTC time, instance, message."""
    if not result.events and not result.follow:
        console.info(f"No events in {result.log_group} in that time: invoke the function, or widen --since.")
    if result.compact:
        for request in result.requests:
            breed = f"breed={request.breed}" if request.breed else "-"
            console.line(f"{_stamp(request.timestamp)}  {request.status}  {breed:24}  {request.ms:8.2f} ms  "
                         f"{request.method} {request.path}")
        return
    width = 8 if result.training else 36
    for event in result.events:
        # SageMaker's streams are JOB/algo-N-<epoch seconds>: a training line's instance, not a request
        who = event.stream.partition("/")[2].rsplit("-", 1)[0] if result.training else event.request_id
        console.line(f"{_stamp(event.timestamp)}  {who or '-':{width}}  {event.message}")


def local_env(console: Console, result: LocalEnvResult) -> None:
    """``export`` lines for ``eval "$(wildrydes local env)"``, written as is (no wrapping, no colour)."""
    import shlex
    if result.unset:   # ``local env --unset``: one line that undoes them
        console.out.write(f"unset {' '.join(result.unset)}\n")
        console.out.flush()
        return
    console.out.write("".join(f"export {name}={shlex.quote(value)}\n" for name, value in result.env.items()))
    console.out.flush()


def keys(console: Console, result: KeysResult) -> None:
    """``keys show --value``: the value alone on stdout; otherwise the key(s), the value only for ``show``."""
    if result.value_only and result.value is not None:
        console.out.write(result.value + "\n")
        console.out.flush()
        return
    if result.action == "list" and not result.keys:
        who = "signed requests only" if result.auth == "iam" else "anyone with the URL may call it"
        console.line(f"Stack {result.stack} has no API key (deployed with --auth {result.auth}: {who}). "
                     "`wildrydes deploy --auth api-key` makes one.")
        return
    console.table(["id", "name", "enabled", "created"],
                  [[k.key_id, k.name, "yes" if k.enabled else "no", k.created or ""] for k in result.keys],
                  title=f"API key{'s' if len(result.keys) != 1 else ''} of stack {result.stack}")
    quota = f", quota {result.quota}" if result.quota else ", no quota"
    if result.rate is not None:
        console.line(f"Usage plan: {result.rate:g} requests/s per key, bursts of {result.burst}{quota}.")
    if result.action == "rotate":
        console.line(f"Key {result.replaced} no longer works. Give callers the new value: "
                     f"{KEY_EXPORT} (predict uses it already).")
    if result.value is not None:
        console.line(f"Value: {result.value}")
        console.line(f"For curl: {KEY_EXPORT}")


_RENDERERS: dict[type, Callable[[Console, Any], None]] = {
    ScratchpadResult: scratchpad, BootstrapResult: bootstrap, DeployResult: deploy, StatusResult: status,
    CleanupResult: cleanup, PredictResult: predict, BatchPredictResult: predict_batch,
    ModelsResult: model_views.models, BreedHistoryResult: model_views.breed_history,
    TrainResult: training_views.train, TrainBreedsResult: training_views.train_breeds,
    TrainJobResult: training_views.train_job, SageMakerBreedsResult: training_views.sagemaker_breeds,
    JobsResult: training_views.jobs, LocalEnvResult: local_env, LogsResult: logs,
    LocalCompactResult: local_compact, LocalDaemonResult: local_status, PackageResult: package,
    EvaluateResult: model_views.evaluate, HistoryResult: model_views.history,
    KeysResult: keys, CanaryEndResult: canary_views.ended,
}

