"""The ``wildrydes`` command line: Click commands only.

Each command parses its options, calls one function from the core modules and
hands the result to ``console`` to render. Heavy imports (boto3, rich, MXNet)
happen inside the commands so that ``wildrydes --help`` stays fast. Exit codes
are decided here and nowhere else: a ``WildrydesError`` becomes its own exit
code and a one-line message; anything else is a bug, shown with a traceback
only under ``--debug``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from wildrydes_cli import __version__
from wildrydes_cli.settings import DEFAULT_REGION, OUTPUTS, TARGETS, Settings


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(Settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--target", type=click.Choice(TARGETS), envvar="WILDRYDES_TARGET", default="local",
              show_default=True, show_envvar=True,
              help="Where to act: 'local' is an embedded AWS emulator on 127.0.0.1 (no account needed); "
                   "'aws' is real AWS with your default credential chain.")
@click.option("--region", envvar="AWS_REGION", default=None,
              help=f"AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, your profile, then {DEFAULT_REGION}).")
@click.option("--profile", default=None, help="AWS named profile (target aws).")
@click.option("--output", "output", type=click.Choice(OUTPUTS), default="text", show_default=True,
              help="'json' prints one JSON object per command, for scripts.")
@click.option("--scratchpad", type=click.Path(dir_okay=False, path_type=Path), default="scratchpad.txt",
              show_default=True, help="The workshop's scratchpad file that records bucket and role names.")
@click.option("--debug", is_flag=True, help="Show tracebacks and AWS call details.")
@click.version_option(__version__, "--version", prog_name="wildrydes")
@click.pass_context
def cli(ctx: click.Context, target: str, region: str | None, profile: str | None, output: str,
        scratchpad: Path, debug: bool) -> None:
    """Serve a SageMaker Linear Learner model from S3 in real time: API Gateway -> Lambda -> model.

    \b
    The Wild Rydes workshop's inference module, one command per step:
      wildrydes bootstrap      create the data bucket and role (modules 1-2)
      wildrydes train          train a model locally and publish it where SageMaker would
      wildrydes deploy         package the function, create the stack, wire and deploy the API
      wildrydes predict --distance 30 --healthpoints 30 --magicpoints 2500 --tmax 333 --tmin 300 --prcp 0
      wildrydes cleanup        delete what deploy made

    Runs on this machine with no AWS account by default (--target local).
    """
    region = region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    ctx.obj = Settings(target=target, region=region, profile=profile, output=output,
                       debug=debug, scratchpad=scratchpad)


@cli.command("train")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV with columns distance, healthpoints, magicpoints, TMIN, TMAX, PRCP, fieldservice "
                   "(the notebook's merged table). Without it the data is SYNTHETIC.")
@click.option("--rows", type=int, default=20000, show_default=True,
              help="How many SYNTHETIC rides to generate (ignored with --data).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data, split and shuffling.")
@click.option("--breed", default=None,
              help="Publish under breeds/NAME/ (and seed that breed's synthetic ground truth).")
@click.option("--predictor-type", type=click.Choice(("binary_classifier", "regressor")),
              default="binary_classifier", show_default=True,
              help="Logistic loss (a 0/1 fieldservice label) or squared loss.")
@click.option("--epochs", type=int, default=15, show_default=True, help="Passes over the training split.")
@click.option("--bucket", default=None,
              help="Data bucket to publish to (default: scratchpad's DataBucket, else stack wildrydes-ml-mod1-3).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write model.tar.gz to this file instead of uploading it (no AWS or emulator needed).")
@click.pass_context
def train_cmd(ctx: click.Context, data: Path | None, rows: int, seed: int, breed: str | None,
              predictor_type: str, epochs: int, bucket: str | None, save: Path | None) -> None:
    """Train a linear-learner model locally with MXNet and publish it where SageMaker would.

    \b
    DEFAULT DATA IS SYNTHETIC: without --data, rides like the workshop's
    (2018, four New York ground stations, NOAA-style weather) are generated
    and labelled by a known model in which bad weather raises the risk of
    needing field service. Pass --data rides.csv to train on your own table.

    The model (a SageMaker-layout model.tar.gz) goes to
    s3://BUCKET/linear-learner-YYYY-MM-DD-HH-MM-SS-mmm/output/model.tar.gz
    on the current target (or breeds/NAME/... with --breed), or to --save PATH.
    """
    from wildrydes_cli.console import console_for
    from wildrydes_cli.training import report, service
    from wildrydes_cli.training.progress import progress_bar

    settings = _settings(ctx)
    request = service.TrainRequest(data=data, rows=rows, seed=seed, breed=breed, predictor_type=predictor_type,
                                   epochs=epochs, bucket=bucket, save=save)
    with progress_bar("training", total=epochs) as advance:
        result = service.train_model(request, settings, on_epoch=advance)
    console_for(settings).result(result, lambda console: report.render(console, result))


@cli.group("local")
def local_group() -> None:
    """The embedded AWS emulator on 127.0.0.1 (started automatically by commands that need it).

    Port: --port, else WILDRYDES_LOCAL_PORT, else 4566 (0 picks any free port).
    """


@local_group.command("start")
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 [default: WILDRYDES_LOCAL_PORT or 4566].")
@click.pass_context
def local_start_cmd(ctx: click.Context, port: int | None) -> None:
    """Start the emulator daemon (S3, CloudFormation, Lambda, API Gateway, IAM, STS + execute-api)."""
    from wildrydes_cli.console import console_for
    from wildrydes_cli.local import daemon, render
    settings = _settings(ctx)
    status = daemon.start(settings, port)
    console_for(settings).result(status.to_dict(), lambda console: render.render_status(console, "start", status))


@local_group.command("stop")
@click.pass_context
def local_stop_cmd(ctx: click.Context) -> None:
    """Stop the emulator daemon and its Lambda workers (everything deployed locally is forgotten)."""
    from wildrydes_cli.console import console_for
    from wildrydes_cli.local import daemon, render
    settings = _settings(ctx)
    status = daemon.stop(settings)
    console_for(settings).result(status.to_dict(), lambda console: render.render_status(console, "stop", status))


@local_group.command("status")
@click.pass_context
def local_status_cmd(ctx: click.Context) -> None:
    """Show whether the emulator runs, its pid, endpoint URL and log file."""
    from wildrydes_cli.console import console_for
    from wildrydes_cli.local import daemon, render
    settings = _settings(ctx)
    status = daemon.status(settings)
    console_for(settings).result(status.to_dict(), lambda console: render.render_status(console, "status", status))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI and map errors to exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="wildrydes", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:  # includes every WildrydesError
        if debug:
            import traceback
            traceback.print_exc()
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # a bug: say so plainly, traceback only with --debug
        if debug:
            raise
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)",
                   err=True)
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
