"""``wildrydes train``: train a linear-learner model here, or as a SageMaker job with ``--on sagemaker``.

Why a module of its own: train has the most options of any command (the data,
the breeds, the trainer, the quality gate) and shares only the settings with
the others; its ``--on sagemaker`` options and their one call live in
sagemaker_commands.py. Registered on the main group by main.py; the command
parses its options, calls one function of ``training/service.py`` (or the
SageMaker path) and shows the result.
"""
from __future__ import annotations

from pathlib import Path

import click

from wildrydes_cli.cli.global_options import WildrydesCommand
from wildrydes_cli.cli.options import bucket_name, local_file, settings_of
from wildrydes_cli.cli.sagemaker_commands import refuse_on_local, sagemaker_options, train_on_sagemaker


@click.command("train", cls=WildrydesCommand,
               short_help="Train a model here or as a SageMaker job; publish it in S3.")
@click.option("--data", default=None, callback=local_file, metavar="FILE",
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
@click.option("--bucket", default=None, callback=bucket_name,
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
    """Train a linear-learner model on this machine (MXNet, or numpy without it), or as a SageMaker training
    job with --on sagemaker, and publish it where SageMaker would.

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

    settings = settings_of(ctx)
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
        with console.progress("training", total=epochs, waiting="preparing") as advance:
            result = service.train_model(request, settings, on_epoch=advance)
    presentation.show(console, result)
    if isinstance(result, TrainBreedsResult) and result.refused:   # the gate kept some breeds' latest.json
        from wildrydes_cli.training.gate import GateRefusedError
        ctx.exit(GateRefusedError.exit_code)

