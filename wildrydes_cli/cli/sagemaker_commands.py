"""The SageMaker side of the command line: ``train``'s ``--on sagemaker`` options and ``wildrydes jobs``.

Kept apart from train_commands.py so that the train command there only gains a decorator and
one branch; the options users of the SageMaker SDK expect (instance type and
count, spot, limits, Linear Learner's hyperparameters) are parsed here and handed
to ``training.job_watch`` as one ``SageMakerOptions``.
"""
from __future__ import annotations

import functools

import click

from wildrydes_cli.cli.global_options import WildrydesCommand
from wildrydes_cli.cli.options import settings_of

SAGEMAKER_ONLY = ("instance_type", "instance_count", "spot", "max_runtime", "max_wait", "mini_batch_size",
                  "learning_rate", "wd", "l1", "normalize_data", "selection_criteria", "feature_dim", "role",
                  "job_name", "no_wait", "concurrent_jobs", "content_type")
DEFAULTS = {"instance_type": "ml.m5.large", "instance_count": 1, "spot": False, "max_runtime": 3600,
            "normalize_data": True, "selection_criteria": "accuracy", "no_wait": False, "concurrent_jobs": 2,
            "content_type": "recordio-protobuf"}


def sagemaker_options(command):
    """``train``'s options for a SageMaker training job (each refused with ``--on local``)."""
    options = [
        click.option("--on", "on", type=click.Choice(("local", "sagemaker")), default="local", show_default=True,
                     help="Train on this machine, or as a SageMaker training job (built-in Linear Learner) on the "
                          "current target: the local emulator runs the job for real; on AWS it is billed."),
        click.option("--instance-type", default="ml.m5.large", show_default=True,
                     help="[sagemaker] Training instance type."),
        click.option("--instance-count", type=int, default=1, show_default=True,
                     help="[sagemaker] Instances; more than 1 shards the training channel (ShardedByS3Key)."),
        click.option("--spot", is_flag=True, help="[sagemaker] Managed spot training (checkpoints in S3)."),
        click.option("--max-runtime", type=int, default=3600, show_default=True,
                     help="[sagemaker] MaxRuntimeInSeconds: the job is stopped after this long."),
        click.option("--max-wait", type=int, default=None,
                     help="[sagemaker] MaxWaitTimeInSeconds with --spot (default: twice --max-runtime)."),
        click.option("--mini-batch-size", type=int, default=None,
                     help="[sagemaker] Linear Learner's mini_batch_size (default: as a local run, at most 1000)."),
        click.option("--learning-rate", type=float, default=None, help="[sagemaker] learning_rate (default auto)."),
        click.option("--wd", type=float, default=None, help="[sagemaker] L2 regularisation (wd; default auto)."),
        click.option("--l1", type=float, default=None, help="[sagemaker] L1 regularisation (l1; default auto)."),
        click.option("--normalize-data/--no-normalize-data", default=True, show_default=True,
                     help="[sagemaker] Standardise the features before training (normalize_data)."),
        click.option("--selection-criteria", type=click.Choice(("accuracy", "f_beta", "loss_function")),
                     default="accuracy", show_default=True,
                     help="[sagemaker] binary_classifier_model_selection_criteria: how the threshold is chosen."),
        click.option("--feature-dim", type=int, default=None,
                     help="[sagemaker] feature_dim (default: the rides' 6 features; another value is refused)."),
        click.option("--role", default=None,
                     help="[sagemaker] Execution role ARN (default: SageMakerExecutionRole of the bootstrap stack)."),
        click.option("--job-name", default=None, help="[sagemaker] Training job name (default: "
                                                      "linear-learner-YYYY-MM-DD-HH-MM-SS-mmm, as the workshop's)."),
        click.option("--no-wait", is_flag=True, help="[sagemaker] Print the job's name and return; see `wildrydes jobs`."),
        click.option("--content-type", type=click.Choice(("recordio-protobuf", "csv")), default="recordio-protobuf",
                     show_default=True,
                     help="[sagemaker] The channels' format: recordio-protobuf (one protobuf Record a row, what the "
                          "SageMaker SDK sends Linear Learner and AWS calls optimized: faster to write and read, "
                          "about 68 bytes a ride) or csv (the workshop's format: headerless, label first, about "
                          "27 bytes a ride)."),
        click.option("--concurrent-jobs", type=int, default=2, show_default=True,
                     help="[sagemaker] With --breeds: training jobs in flight at once (a queue under SageMaker's "
                          "quota)."),
    ]
    return functools.reduce(lambda c, option: option(c), reversed(options), command)


def refuse_on_local(given: dict) -> None:
    """``--on local`` with a SageMaker option: say so instead of ignoring it."""
    changed = [name for name in SAGEMAKER_ONLY if given.get(name) not in (DEFAULTS.get(name), None)]
    if changed:
        flag = "--" + changed[0].replace("_", "-")
        raise click.UsageError(f"{flag} applies to a SageMaker training job: add --on sagemaker, or drop {flag}")


def train_on_sagemaker(ctx: click.Context, request, breeds: int | None, given: dict) -> None:
    """The one call of ``train --on sagemaker``: a job (or one per breed), waited for with a progress display."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.training import job_watch
    from wildrydes_cli.training.sagemaker_job import SageMakerOptions

    if request.trainer != "auto":
        raise click.UsageError(f"--trainer {request.trainer} chooses this machine's trainer; a SageMaker job runs "
                               "Linear Learner: drop --trainer, or use --on local")
    if request.save is not None:
        raise click.UsageError("--save keeps a model on this machine; a SageMaker job writes it to the bucket: "
                               "drop --save, or use --on local")
    options = SageMakerOptions(
        instance_type=given["instance_type"], instance_count=given["instance_count"], spot=given["spot"],
        max_runtime=given["max_runtime"], max_wait=given["max_wait"], mini_batch_size=given["mini_batch_size"],
        learning_rate=given["learning_rate"], wd=given["wd"], l1=given["l1"], normalize_data=given["normalize_data"],
        selection=given["selection_criteria"], feature_dim=given["feature_dim"], role=given["role"],
        job_name=given["job_name"], wait=not given["no_wait"], concurrent_jobs=given["concurrent_jobs"],
        content_type=given["content_type"])
    settings = settings_of(ctx)
    console = console_for(settings)
    if breeds is not None:
        with console.progress("breeds", total=max(breeds, 1)) as advance:
            result = job_watch.run_breed_jobs(request, breeds, options, settings, on_breed=advance)
        presentation.show(console, result)
        if result.refused:   # the gate kept some breeds' latest.json
            from wildrydes_cli.training.gate import GateRefusedError
            ctx.exit(GateRefusedError.exit_code)
        return

    def ask_stop(name: str) -> bool:
        return console.confirm(f"Stop training job {name}? (No leaves it running)", default=False)

    from wildrydes_cli.cli import training_views
    presentation.show(console, job_watch.run_job(request, options, settings, on_status=training_views.job_progress(
        console), ask_stop=ask_stop))


@click.command("jobs", cls=WildrydesCommand, short_help="Recent SageMaker training jobs: status, metrics, model.")
@click.option("--limit", type=int, default=20, show_default=True, help="How many of the newest jobs (1-100).")
@click.option("--name-contains", default=None, help="Only jobs whose name contains this.")
@click.pass_context
def jobs_cmd(ctx: click.Context, limit: int, name_contains: str | None) -> None:
    """List the newest SageMaker training jobs on the target: status, validation metrics, billable seconds, model."""
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.aws.target import resolve
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.cli.console import console_for
    from wildrydes_cli.observe.jobs import MAX_JOBS, list_jobs

    if not 1 <= limit <= MAX_JOBS:
        raise click.UsageError(f"--limit must be between 1 and {MAX_JOBS} (got {limit})")
    target = resolve(settings_of(ctx))
    presentation.show(console_for(target.settings), list_jobs(target.settings, Aws(target), limit, name_contains))
