"""Reading what deploy made: ``predict``, ``status`` and ``logs``.

Why together: none of them changes the target; each reads the deployment (its
endpoint, its stacks, its function's log events) through one function of
``observe/``. Registered on the main group by main.py; each command parses its
options, calls one core function and shows the result, importing what it needs
when it runs so that ``wildrydes --help`` stays fast.
"""
from __future__ import annotations

from pathlib import Path

import click

from wildrydes_cli.cli.global_options import WildrydesCommand
from wildrydes_cli.cli.options import aws_context, local_file, settings_of


@click.command("predict", cls=WildrydesCommand, short_help="Step 5: POST a ride to the endpoint, show the score.")
@click.option("--distance", type=float, help="Ride distance.")
@click.option("--healthpoints", type=float, help="Unicorn health points.")
@click.option("--magicpoints", type=float, help="Unicorn magic points.")
@click.option("--tmin", type=float, help="Minimum temperature (TMIN, tenths of a degree C).")
@click.option("--tmax", type=float, help="Maximum temperature (TMAX).")
@click.option("--prcp", type=float, help="Precipitation (PRCP).")
@click.option("--file", "file", callback=local_file, metavar="FILE",
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
    settings = settings_of(ctx)
    request = PredictRequest(flags=flags, file=file, breed=breed, url=url, explain=explain)
    presentation.show(console_for(settings), run_predict(settings, request))


@click.command("status", cls=WildrydesCommand, short_help="What is deployed, and is it the newest model?")
@click.pass_context
def status_cmd(ctx: click.Context) -> None:
    """Stacks, function, API and invoke URL; is the newest model deployed?"""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.observe.status import status
    settings, aws, console = aws_context(ctx)
    presentation.show(console, status(settings, aws))


@click.command("logs", cls=WildrydesCommand, short_help="The deployed function's logs (CloudWatch Logs), newest last.")
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
    Same command on both targets: on AWS it reads log group
    /aws/lambda/<function>; on the local target the Lambda runner writes
    the same lines into the emulator's CloudWatch Logs, where
    `aws logs filter-log-events` (after eval "$(wildrydes local env)")
    reads them too. Without a deployment recorded by `wildrydes deploy`,
    the function is the one in stack wildrydes-ml-mod3-4 (or
    wildrydes-ml-mod0-4), e.g. made by hand with the AWS CLI.
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.observe import logs
    request = logs.LogsRequest.checked(since, breed, filter_pattern, follow, function, compact)   # a typo starts nothing
    settings, aws, console = aws_context(ctx)
    if training_job is not None:
        logs.show_training_logs(aws, training_job, lambda result: presentation.show(console, result))
        return
    logs.show_logs(settings, aws, request, lambda result: presentation.show(console, result))
