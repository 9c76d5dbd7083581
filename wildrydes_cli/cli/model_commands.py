"""``wildrydes models``, ``evaluate``, ``history``, ``rollback`` and ``promote``: the models, how good each is, what
was served.

Registered on the main group by main.py (kept apart from the workshop's steps,
deploy_commands.py and observe_commands.py). Imports happen when the command runs, so ``--help`` stays fast.
"""
from __future__ import annotations

from pathlib import Path

import click

from wildrydes_cli.cli.global_options import WildrydesCommand
from wildrydes_cli.cli.options import aws_context, bucket_name, local_file, settings_of


@click.command("evaluate", cls=WildrydesCommand, short_help="Score labelled rides with a model offline: AUC, F1, calibration.")
@click.option("--data", default=None, callback=local_file, metavar="FILE",
              help="Labelled rides: CSV or JSON Lines with the six features and heavy_utilization (as train "
                   "reads them; a breed column gives per-breed figures). Without it: a fresh SYNTHETIC sample.")
@click.option("--model", "model", default=None, metavar="KEY|FILE",
              help="The model: a key in the data bucket, or a model.tar.gz on this machine (no AWS needed). "
                   "[default: the newest default model]")
@click.option("--breed", default=None, help="The breed's newest model (its latest.json) and its SYNTHETIC rides; with --model, that model on the breed's rides.")
@click.option("--deployed", is_flag=True, help="The model the deployed function serves (its MODEL_PATH).")
@click.option("--against", default=None, metavar="KEY|FILE",
              help="Also score this model on the same rows, and list rides the two label differently.")
@click.option("--bucket", default=None, callback=bucket_name, help="Data bucket holding the models.")
@click.option("--rows", type=int, default=20000, show_default=True,
              help="Size of the SYNTHETIC sample (ignored with --data).")
@click.pass_context
def evaluate_cmd(ctx: click.Context, data: Path | None, model: str | None, breed: str | None, deployed: bool,
                 against: str | None, bucket: str | None, rows: int) -> None:
    """Score labelled rides with a model as the function would, without an endpoint.

    Classifiers: accuracy, precision, recall, F1, ROC AUC, log loss, the confusion
    matrix at the model's threshold and calibration in ten bins (per breed when the
    file has a breed column); regressors: RMSE, MAE, R². --output json for scripts.
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.training.evaluate import EvaluateRequest, evaluate

    settings = settings_of(ctx)
    request = EvaluateRequest(data=data, model=model, breed=breed, deployed=deployed, against=against,
                              bucket=bucket, rows=rows)
    presentation.show(console_for(settings), evaluate(request, settings))


@click.command("models", cls=WildrydesCommand,
               short_help="The data bucket's models, their metrics, the one deployed.")
@click.option("--bucket", default=None, callback=bucket_name,
              help="Data bucket holding the models (default: stack wildrydes-ml-mod1-3's, else the scratchpad's DataBucket when it exists on this target).")
@click.option("--breeds-only", is_flag=True, help="List only the per-breed models.")
@click.option("--breed", default=None, metavar="NAME",
              help="One breed's history: every model published for it (newest first, with metrics), which one "
                   "its latest.json names, and each time latest.json moved (gate passed or --force, by whom).")
@click.pass_context
def models_cmd(ctx: click.Context, bucket: str | None, breeds_only: bool, breed: str | None) -> None:
    """List the models in the data bucket: default models (the deployed one marked) and each breed's newest,
    with metrics; --breed NAME shows one breed's history."""
    from wildrydes_cli.aws.data_bucket import require_data_bucket
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.observe import catalog
    settings, aws, console = aws_context(ctx)
    bucket = bucket or require_data_bucket(settings, aws, "list")
    presentation.show(console, catalog.models_view(aws, bucket, breeds_only=breeds_only, breed=breed,
                                                   settings=settings))


@click.command("history", cls=WildrydesCommand, short_help="What each deploy served, when, by whom, its metrics.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many deploys, newest first.")
@click.pass_context
def history_cmd(ctx: click.Context, limit: int) -> None:
    """The deploy history of the deployed stack, newest first: the model each deploy (or rollback) served,
    when, by whom (the caller's ARN), its metrics and the quality gate's verdict. Kept in the data bucket
    (deploy-history/STACK/), so everyone using the bucket sees the same history."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.history import history
    settings, aws, console = aws_context(ctx)
    presentation.show(console, history(settings, aws, limit))


@click.command("rollback", cls=WildrydesCommand, short_help="Serve the model served before (or --to KEY).")
@click.option("--to", "to", default=None, metavar="KEY", help="The model to serve [default: the one served before "
                                                              "the current one, from the deploy history].")
@click.pass_context
def rollback_cmd(ctx: click.Context, to: str | None) -> None:
    """Serve the previous model again in one step: a deploy of it, pinned (as --model-path pins; `wildrydes
    deploy --model-path newest` moves on), without the quality gate. During a canary (deploy --canary N):
    every request back to the served model, one alias update. Nothing is deleted."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.deployer import DeployRequest, deploy
    from wildrydes_cli.deploy.history import rollback
    settings, aws, console = aws_context(ctx, writes_state=True)
    presentation.show(console, rollback(settings, aws, to, console, deploy=lambda key: deploy(
        settings, aws, DeployRequest(model_path=key, yes=True, action="rollback"), console)))



@click.command("promote", cls=WildrydesCommand, short_help="End a canary: every request to its new model.")
@click.pass_context
def promote_cmd(ctx: click.Context) -> None:
    """End the canary `deploy --canary N` started: alias live moves to the new model's version for every
    request, and the function's own configuration ($LATEST) serves that model too, so a later deploy
    starts from it. Without a running canary: a usage error. Nothing is deleted."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.canary import promote
    settings, aws, console = aws_context(ctx, writes_state=True)
    presentation.show(console, promote(settings, aws))
