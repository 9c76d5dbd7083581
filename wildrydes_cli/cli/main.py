"""The ``wildrydes`` command line: Click commands only.

Each command parses its options, calls one function from the core modules and
hands the result to ``presentation.show``. Heavy imports (boto3, rich, MXNet)
happen inside the commands so that ``wildrydes --help`` stays fast. Exit codes
are decided here and nowhere else: a ``WildrydesError`` becomes its own exit
code and a one-line message; anything else is a bug, shown with a traceback
only under ``--debug``.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from wildrydes_cli import __version__
from wildrydes_cli.cli.global_options import RootGroup
from wildrydes_cli.cli.keys_commands import keys_group
from wildrydes_cli.cli.local_commands import local_group
from wildrydes_cli.cli.model_commands import evaluate_cmd, history_cmd, models_cmd, promote_cmd, rollback_cmd
from wildrydes_cli.cli.options import aws_context as _aws_context
from wildrydes_cli.cli.options import bucket_name as _bucket_name
from wildrydes_cli.cli.options import local_file as _local_file
from wildrydes_cli.cli.options import settings_of as _settings
from wildrydes_cli.cli.sagemaker_commands import jobs_cmd, refuse_on_local, sagemaker_options, train_on_sagemaker


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="wildrydes")
def cli() -> None:
    """Serve a SageMaker Linear Learner model from S3 in real time: API Gateway -> Lambda -> model.

    \b
    The Wild Rydes workshop's inference module, one command per step:
      wildrydes bootstrap      create the data bucket and role (modules 1-2)
      wildrydes train          train a model locally and publish it where SageMaker would
      wildrydes deploy         package the function, create the stack, wire and deploy the API
      wildrydes predict --distance 30 --healthpoints 30 --magicpoints 2500 --tmin 300 --tmax 333 --prcp 0
      wildrydes cleanup        delete what deploy made

    Runs on this machine with no AWS account by default (--target local). The global options
    below are also accepted after the command (wildrydes status --output json).
    """


cli.add_command(local_group)   # the emulator's own commands: local_commands.py
cli.add_command(jobs_cmd)      # SageMaker training jobs: sagemaker_commands.py
cli.add_command(evaluate_cmd)  # the models' own commands: model_commands.py
cli.add_command(models_cmd)
cli.add_command(history_cmd)
cli.add_command(rollback_cmd)
cli.add_command(promote_cmd)
cli.add_command(keys_group)    # the API key of a deploy --auth api-key: keys_commands.py


@cli.command("train")
@click.option("--data", default=None, callback=_local_file, metavar="FILE",
              help="The workshop's processed CSV (columns distance, healthpoints, magicpoints, TMIN, TMAX, PRCP, "
                   "heavy_utilization; any case and order; extra columns ignored) or JSON Lines of rides. "
                   "Without it the data is SYNTHETIC.")
@click.option("--rows", type=int, default=20000, show_default=True,
              help="How many SYNTHETIC rides to generate (ignored with --data).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data, split and shuffling.")
@click.option("--breed", default=None,
              help="Publish under breeds/NAME/ (and seed that breed's synthetic weather sensitivity).")
@click.option("--predictor-type", type=click.Choice(("binary_classifier", "regressor")),
              default="binary_classifier", show_default=True,
              help="Logistic loss (a 0/1 heavy_utilization label) or squared loss.")
@click.option("--epochs", type=int, default=15, show_default=True,
              help="Passes over the training split (1 to 1,000; rows x epochs at most 10^9).")
@click.option("--bucket", default=None, callback=_bucket_name,
              help="Data bucket to publish to (default: stack wildrydes-ml-mod1-3's, else the scratchpad's DataBucket when it exists on this target).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write model.tar.gz to this file instead of uploading it (no AWS or emulator needed).")
@click.option("--breeds", "breeds", type=int, default=None,
              help="Train and publish N SYNTHETIC breeds (breed-0001, ...), each with its own weather sensitivity.")
@click.option("--trainer", type=click.Choice(("auto", "numpy", "mxnet")), default="auto", show_default=True,
              help="auto: MXNet where it is installed (Python 3.11), else numpy; both train the same model "
                   "and write the same artifact.")
@click.option("--max-regression", type=float, default=0.01, show_default=True,
              help="With --breed or --breeds: how much lower the new model's AUC (R² for a regressor) may be "
                   "than the breed's current model's on the same rows (the breed's SYNTHETIC rides, or with "
                   "--data the new model's validation split) before latest.json stays where it is (exit 3).")
@click.option("--force", is_flag=True, help="With --breed or --breeds: move latest.json even when the quality "
                                            "gate refuses.")
@sagemaker_options
@click.pass_context
def train_cmd(ctx: click.Context, data: Path | None, rows: int, seed: int, breed: str | None,
              predictor_type: str, epochs: int, bucket: str | None, save: Path | None,
              breeds: int | None, trainer: str, max_regression: float, force: bool, on: str,
              **sagemaker: object) -> None:
    """Train a linear-learner model locally (MXNet, or numpy without it) and publish it where SageMaker would.

    \b
    DEFAULT DATA IS SYNTHETIC: without --data, rides like the workshop's
    (2010-2019, four New York ground stations, NOAA-style weather) are
    generated and labelled by the workshop's rule, heavy_utilization =
    magicpoints >= 50 * distance. With --breed NAME a breed's usual magic per
    mile also moves with TMAX and PRCP (its own sensitivity, seeded by NAME).
    Pass --data rides.csv (or rides.jsonl) to train on your own table.

    The model (a SageMaker-layout model.tar.gz) goes to
    s3://BUCKET/linear-learner-YYYY-MM-DD-HH-MM-SS-mmm/output/model.tar.gz
    on the current target (or breeds/NAME/... with --breed), or to --save PATH.

    --on sagemaker trains the same rows as a SageMaker training job (the built-in
    Linear Learner; options marked [sagemaker]); the local target runs it for
    real, on AWS it is billed per instance-second (docs/training.md).
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.results import TrainBreedsResult, TrainResult
    from wildrydes_cli.training import service

    settings = _settings(ctx)
    console = console_for(settings)
    request = service.TrainRequest(data=data, rows=rows, seed=seed, breed=breed, predictor_type=predictor_type,
                                   epochs=epochs, bucket=bucket, save=save, trainer=trainer,
                                   max_regression=max_regression, force=force)
    if on == "sagemaker":
        train_on_sagemaker(ctx, request, breeds, sagemaker)
        return
    refuse_on_local(sagemaker)
    # The bar ends (its last frame drawn, the cursor on a line of its own) before any result is printed.
    result: TrainResult | TrainBreedsResult
    if breeds is not None:
        with console.progress("breeds", total=max(breeds, 1)) as advance:
            result = service.train_breeds(request, breeds, settings, on_breed=advance)
    else:
        with console.progress("training", total=epochs) as advance:
            result = service.train_model(request, settings, on_epoch=advance)
    presentation.show(console, result)
    if isinstance(result, TrainBreedsResult) and result.refused:   # the gate kept some breeds' latest.json
        from wildrydes_cli.training.gate import GateRefusedError
        ctx.exit(GateRefusedError.exit_code)


@cli.command("scratchpad", short_help="Step 1: record bucket and role in the scratchpad.")
@click.pass_context
def scratchpad_cmd(ctx: click.Context) -> None:
    """Step 1: record the data bucket and DataProcessingExecutionRole in the scratchpad."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.bootstrap import record_prerequisites
    settings, aws, console = _aws_context(ctx)
    presentation.show(console, record_prerequisites(settings, aws))


@cli.command("bootstrap", short_help="Create the data bucket and role (wildrydes-ml-mod1-3).")
@click.pass_context
def bootstrap_cmd(ctx: click.Context) -> None:
    """Create the data bucket and DataProcessingExecutionRole (stack wildrydes-ml-mod1-3)."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.bootstrap import bootstrap
    settings, aws, console = _aws_context(ctx)
    presentation.show(console, bootstrap(settings, aws, console))


@cli.command("deploy", short_help="Steps 2-4: package, create the stack, wire the API.")
@click.option("--bucket", callback=_bucket_name, help="Data bucket holding the models (default: stack wildrydes-ml-mod1-3's, else the scratchpad's DataBucket when it exists on this target).")
@click.option("--role", help="Run the function with this existing role (e.g. DataProcessingExecutionRole; NAME, or "
                             "path/NAME for a role with an IAM path such as service-role/...) instead of a new role "
                             "that may only read the models. Kept by later deploys.")
@click.option("--new-role", is_flag=True, help="Back to a new role that may only read the models (drops a kept --role).")
@click.option("--model-path", help="Key of the model.tar.gz to serve; it stays pinned across deploys (a rollback) "
                                   "until --model-path newest. Default: the pinned one, else the newest model.")
@click.option("--engine", type=click.Choice(["lean", "mxnet"]), default=None,
              help="lean: standard library only, python3.13, 128 MB; mxnet: the workshop's MXNet, python3.11. "
                   "[default: the last deploy's, else lean]")
@click.option("--memory", "memory_mb", type=int, default=None,
              help="Function memory in MB, 128-10240 (kept by later deploys). [default: the last deploy's "
                   "choice, else 128 for lean, 1024 for mxnet]")
@click.option("--complete", is_flag=True, help="The workshop's break-glass path: one stack (wildrydes-ml-mod0-4) "
                                               "with everything wired by CloudFormation.")
@click.option("--auth", type=click.Choice(["none", "api-key", "iam"]), default=None,
              help="Who may call the API: none (anyone with the URL), api-key (the x-api-key header; "
                   "`wildrydes keys show`) or iam (SigV4-signed by an identity allowed execute-api:Invoke). "
                   "Kept by later deploys. [default: the last deploy's, else none]")
@click.option("--rate", type=float, default=None, help="With api-key: requests per second per key. [default: 50]")
@click.option("--burst", type=int, default=None, help="With api-key: requests at once per key. [default: 100]")
@click.option("--quota", default=None, metavar="N/day|week|month|none",
              help="With api-key: requests per key per period. [default: none]")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (e.g. before bootstrapping on the local target, or "
                                                "before --auth changes who may call a live API).")
@click.option("--gate-data", default=None, callback=_local_file, metavar="FILE",
              help="Labelled rides the quality gate scores both models on [default: the new model's own "
                   "validation split when train --data stored it beside the model, else a SYNTHETIC sample].")
@click.option("--max-regression", type=float, default=0.01, show_default=True,
              help="How much lower the new model's AUC (R² for a regressor) may be than the served one's.")
@click.option("--force", is_flag=True, help="Serve the model even when the quality gate refuses it.")
@click.option("--canary", type=int, default=None, metavar="N",
              help="Serve the new model to N% (1-99) of the requests, the served one to the rest (Lambda versions "
                   "and alias live); then `wildrydes promote` or `wildrydes rollback`.")
@click.pass_context
def deploy_cmd(ctx: click.Context, bucket: str | None, role: str | None, new_role: bool, model_path: str | None,
               engine: str | None, memory_mb: int | None, complete: bool, auth: str | None, rate: float | None,
               burst: int | None, quota: str | None, yes: bool, gate_data: Path | None,
               max_regression: float, force: bool, canary: int | None) -> None:
    """Steps 2-4: package the function, create or update its stack, set MODEL_PATH, wire and deploy the API.

    Engine, role, memory, a model chosen with --model-path and --auth (with its --rate, --burst,
    --quota) are kept by later deploys until changed.
    Before another model replaces the served one, both are scored on the same rows: a new model worse
    by more than --max-regression is refused (exit 3, nothing changed) unless --force.
    """
    from wildrydes_cli.aws.target import target_class
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.bootstrap import bootstrap
    from wildrydes_cli.deploy.choices import check_request
    from wildrydes_cli.deploy.deployer import DeployRequest, check_deploy_options, deploy
    from wildrydes_cli.mxnet_support import check_local_engine
    check_deploy_options(bucket=bucket, role=role, model_path=model_path)
    if engine is not None:   # before anything starts; a kept engine is checked by deploy
        check_local_engine(engine, target_class(_settings(ctx).target).runs_functions_here)
    if canary is not None:   # before anything starts
        from wildrydes_cli.deploy.canary import check_percent
        check_percent(canary)
    request = DeployRequest(bucket=bucket, role=role, model_path=model_path, engine=engine, yes=yes,
                            memory_mb=memory_mb, new_role=new_role, auth=auth, rate=rate, burst=burst, quota=quota,
                            canary=canary)
    check_request(request)
    from wildrydes_cli.training.gate import GateOptions, deploy_gate
    gate = deploy_gate(GateOptions(data=gate_data, max_regression=max_regression, force=force))
    settings, aws, console = _aws_context(ctx, writes_state=True)
    if complete:
        from dataclasses import replace
        request = replace(request, stack=settings.complete_stack)
    result = deploy(settings, aws, request, console, confirm=console.confirm,
                    run_bootstrap=lambda: bootstrap(settings, aws, console), gate=gate)
    presentation.show(console, result)


@cli.command("package", short_help="Build and upload the function's zip; print its key (for CodeKey).")
@click.option("--engine", type=click.Choice(["lean", "mxnet"]), default="lean", show_default=True,
              help="lean: standard library only, python3.13; mxnet: the workshop's MXNet, python3.11.")
@click.option("--bucket", callback=_bucket_name,
              help="Data bucket to upload to (default: scratchpad, then stack wildrydes-ml-mod1-3).")
@click.pass_context
def package_cmd(ctx: click.Context, engine: str, bucket: str | None) -> None:
    """Build the function's zip (what deploy builds) and upload it under code/ in the data bucket.

    Prints the key, for the template's CodeKey when you create the stack by hand
    (docs/workshop-by-hand.md): CODE_KEY=$(wildrydes package). The template's path and
    the create-stack parameters go to stderr; --output json has them all.
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.manual import package
    settings, aws, console = _aws_context(ctx, writes_state=True)
    presentation.show(console, package(settings, aws, engine, bucket, console))


@cli.command("predict", short_help="Step 5: POST a ride to the endpoint, show the score.")
@click.option("--distance", type=float, help="Ride distance.")
@click.option("--healthpoints", type=float, help="Unicorn health points.")
@click.option("--magicpoints", type=float, help="Unicorn magic points.")
@click.option("--tmin", type=float, help="Minimum temperature (TMIN, tenths of a degree C).")
@click.option("--tmax", type=float, help="Maximum temperature (TMAX).")
@click.option("--prcp", type=float, help="Precipitation (PRCP).")
@click.option("--file", "file", callback=_local_file, metavar="FILE",
              help="CSV of rides with a header naming the six features (distance, healthpoints, magicpoints, "
                   "TMIN, TMAX, PRCP; any order): sends one batch request.")
@click.option("--breed", help="Ask this breed's model (POST {invoke URL}/breeds/BREED).")
@click.option("--url", help="Invoke URL to use instead of the deployed one.")
@click.option("--explain", is_flag=True,
              help="Also show why: each feature's term (weight x value) of the margin, as a sorted bar chart "
                   "(with --output json, as data).")
@click.pass_context
def predict_cmd(ctx: click.Context, distance, healthpoints, magicpoints, tmin, tmax, prcp, file: Path | None,
                breed: str | None, url: str | None, explain: bool) -> None:
    """Step 5: POST a ride (the workshop's JSON) to the endpoint; shows score, label (heavy magic use
    likely/unlikely), model, latency; with --explain, why."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.observe.predict import PredictRequest, run_predict
    flags = {"distance": distance, "healthpoints": healthpoints, "magicpoints": magicpoints,
             "TMIN": tmin, "TMAX": tmax, "PRCP": prcp}
    settings = _settings(ctx)
    request = PredictRequest(flags=flags, file=file, breed=breed, url=url, explain=explain)
    presentation.show(console_for(settings), run_predict(settings, request))


@cli.command("status", short_help="What is deployed, and is it the newest model?")
@click.pass_context
def status_cmd(ctx: click.Context) -> None:
    """Stacks, function, API and invoke URL; is the newest model deployed?"""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.observe.status import status
    settings, aws, console = _aws_context(ctx)
    presentation.show(console, status(settings, aws))


@cli.command("cleanup", short_help="Delete what deploy made (models stay).")
@click.option("--delete-bucket", is_flag=True, help="Also delete the data bucket and every model in it (asks first).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (before deleting the stacks on AWS, or the bucket).")
@click.pass_context
def cleanup_cmd(ctx: click.Context, delete_bucket: bool, yes: bool) -> None:
    """Delete what deploy made (stacks, uploaded code, leftover API); the bucket's models stay.

    On AWS it asks first (--yes for scripts); on the local target it does not.
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.cleanup import cleanup
    settings, aws, console = _aws_context(ctx, writes_state=True)
    presentation.show(console, cleanup(settings, aws, console, delete_bucket=delete_bucket,
                                       confirm=console.confirm, yes=yes))


@cli.command("logs", short_help="The deployed function's logs (CloudWatch Logs), newest last.")
@click.option("--since", default="10m", show_default=True, help="How far back: 30s, 10m, 2h or 1d (up to 30 days).")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing new events (polls every 2 s; says on stderr that it waits) until Ctrl-C; with "
                   "--output json, one JSON object per batch (JSON Lines).")
@click.option("--breed", help="Only the requests served with this breed's model (every line of them).")
@click.option("--filter", "filter_pattern",
              help="A CloudWatch Logs filter pattern, e.g. ERROR or '\"status=503\"'.")
@click.option("--compact", is_flag=True, help="One line per request: time, status, breed, milliseconds.")
@click.option("--function", "function", help="Any function's logs (log group /aws/lambda/NAME), deployed by "
                                             "wildrydes or not.")
@click.option("--training", "training_job", metavar="JOB",
              help="Instead: a SageMaker training job's log (/aws/sagemaker/TrainingJobs, every instance's stream).")
@click.pass_context
def logs_cmd(ctx: click.Context, since: str, follow: bool, breed: str | None, filter_pattern: str | None,
             compact: bool, function: str | None, training_job: str | None) -> None:
    """Show the deployed function's log events: Lambda's START, END and REPORT lines (duration, billed
    duration, memory) and the function's own line per request (route, breed, status, latency).

    \b
    Same command on both targets: on AWS it reads log group /aws/lambda/<function>; on the
    local target the Lambda runner writes the same lines into the emulator's CloudWatch Logs,
    where `aws logs filter-log-events` (after eval "$(wildrydes local env)") reads them too.
    Without a deployment recorded by `wildrydes deploy`, the function is the one in stack
    wildrydes-ml-mod3-4 (or wildrydes-ml-mod0-4), e.g. made by hand with the AWS CLI.
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.observe import logs
    request = logs.LogsRequest.checked(since, breed, filter_pattern, follow, function, compact)   # a typo starts nothing
    settings, aws, console = _aws_context(ctx)
    if training_job is not None:
        logs.show_training_logs(aws, training_job, lambda result: presentation.show(console, result))
        return
    logs.show_logs(settings, aws, request, lambda result: presentation.show(console, result))


def _wants_json(args: list[str]) -> bool:
    """``--output json`` / ``--output=json`` anywhere on the line (the last one given wins, as in parsing)."""
    wanted = False
    for i, arg in enumerate(args):
        if arg.startswith("--output="):
            wanted = arg == "--output=json"
        elif arg == "--output" and i + 1 < len(args):
            wanted = args[i + 1] == "json"
    return wanted


USAGE_EXIT = 2   # click.UsageError and our UsageError: what was typed is wrong


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI and map errors to exit codes.

    Every failure leaves one line on stderr and, with ``--output json``, one
    JSON object ``{"error", "exit_code"}`` on stdout, so scripts always get JSON.
    """
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    with _debug_log(debug):
        return _run(args, argv, debug)


@contextlib.contextmanager
def _debug_log(debug: bool):
    """``--debug``: wildrydes' log, including one line per AWS API call (aws/client.py), on stderr."""
    if not debug:
        yield
        return
    import logging
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug: %(message)s"))
    logger = logging.getLogger("wildrydes_cli")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _run(args: list[str], argv: list[str] | None, debug: bool) -> int:
    """Run the command line; every failure becomes its exit code here."""
    try:
        # Without standalone mode Click returns a command's ctx.exit(code) instead of raising it.
        returned = cli.main(args=argv, prog_name="wildrydes", standalone_mode=False)
    except click.exceptions.Abort:  # end of input or Ctrl-C at a prompt
        return _fail(args, "Aborted.", 130)
    except click.ClickException as exc:  # includes every WildrydesError
        if debug and exc.exit_code != USAGE_EXIT:   # a usage error is the user's line, never our stack
            import traceback
            traceback.print_exc()
        exc.show()
        return _fail(args, exc.format_message(), exc.exit_code, shown=True)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return _fail(args, "Interrupted.", 130)
    except Exception as exc:  # a bug: say so plainly, traceback only with --debug
        if debug:
            raise
        message = f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)"
        click.echo(f"Error: {message}", err=True)
        return _fail(args, message, 70, shown=True)
    return returned if isinstance(returned, int) else 0


def _fail(args: list[str], message: str, exit_code: int, shown: bool = False) -> int:
    """The one error path of the CLI edge: a line on stderr, and the JSON object scripts expect."""
    if not shown:
        click.echo(message, err=True)
    if _wants_json(args):
        from wildrydes_cli.cli.console import render_error
        render_error(None, json_output=True, message=message, exit_code=exit_code)
    return exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
