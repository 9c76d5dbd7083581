"""The workshop's making and unmaking steps: ``scratchpad``, ``bootstrap``, ``deploy``, ``package``, ``cleanup``.

Why together: each one changes what exists on the target (the bucket and role,
the stack, the uploaded code, the API) through one function of ``deploy/``;
reading it back is observe_commands.py's. Registered on the main group by
main.py; each command parses its options, calls one core function and shows
the result, importing what it needs when it runs so that ``wildrydes --help``
stays fast.
"""
from __future__ import annotations

from pathlib import Path

import click

from wildrydes_cli.cli.global_options import WildrydesCommand
from wildrydes_cli.cli.options import aws_context, bucket_name, local_file, settings_of


@click.command("scratchpad", cls=WildrydesCommand, short_help="Step 1: record bucket and role in the scratchpad.")
@click.pass_context
def scratchpad_cmd(ctx: click.Context) -> None:
    """Step 1: record the data bucket and DataProcessingExecutionRole in the scratchpad."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.bootstrap import record_prerequisites
    settings, aws, console = aws_context(ctx)
    presentation.show(console, record_prerequisites(settings, aws))


@click.command("bootstrap", cls=WildrydesCommand, short_help="Create the data bucket and role (wildrydes-ml-mod1-3).")
@click.pass_context
def bootstrap_cmd(ctx: click.Context) -> None:
    """Create the data bucket and DataProcessingExecutionRole (stack wildrydes-ml-mod1-3)."""
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.bootstrap import bootstrap
    settings, aws, console = aws_context(ctx)
    presentation.show(console, bootstrap(settings, aws, console))


@click.command("deploy", cls=WildrydesCommand, short_help="Steps 2-4: package, create the stack, wire the API.")
@click.option("--bucket", callback=bucket_name, help="Data bucket holding the models (default: stack wildrydes-ml-mod1-3's, else the scratchpad's DataBucket when it exists on this target).")
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
@click.option("--gate-data", default=None, callback=local_file, metavar="FILE",
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
        check_local_engine(engine, target_class(settings_of(ctx).target).runs_functions_here)
    if canary is not None:   # before anything starts
        from wildrydes_cli.deploy.canary import check_percent
        check_percent(canary)
    request = DeployRequest(bucket=bucket, role=role, model_path=model_path, engine=engine, yes=yes,
                            memory_mb=memory_mb, new_role=new_role, auth=auth, rate=rate, burst=burst, quota=quota,
                            canary=canary)
    check_request(request)
    from wildrydes_cli.training.gate import GateOptions, deploy_gate
    gate = deploy_gate(GateOptions(data=gate_data, max_regression=max_regression, force=force))
    settings, aws, console = aws_context(ctx, writes_state=True)
    if complete:
        from dataclasses import replace
        request = replace(request, stack=settings.complete_stack)
    result = deploy(settings, aws, request, console, confirm=console.confirm,
                    run_bootstrap=lambda: bootstrap(settings, aws, console), gate=gate)
    presentation.show(console, result)


@click.command("package", cls=WildrydesCommand, short_help="Build and upload the function's zip; print its key.")
@click.option("--engine", type=click.Choice(["lean", "mxnet"]), default="lean", show_default=True,
              help="lean: standard library only, python3.13; mxnet: the workshop's MXNet, python3.11.")
@click.option("--bucket", callback=bucket_name,
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
    settings, aws, console = aws_context(ctx, writes_state=True)
    presentation.show(console, package(settings, aws, engine, bucket, console))


@click.command("cleanup", cls=WildrydesCommand, short_help="Delete what deploy made (models stay).")
@click.option("--delete-bucket", is_flag=True, help="Also delete the data bucket and every model in it (asks first).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (before deleting the stacks on AWS, or the bucket).")
@click.pass_context
def cleanup_cmd(ctx: click.Context, delete_bucket: bool, yes: bool) -> None:
    """Delete what deploy made (stacks, uploaded code, leftover API); the bucket's models stay.

    On AWS it asks first (--yes for scripts); on the local target it does not.
    """
    from wildrydes_cli.cli import presentation
    from wildrydes_cli.deploy.cleanup import cleanup
    settings, aws, console = aws_context(ctx, writes_state=True)
    presentation.show(console, cleanup(settings, aws, console, delete_bucket=delete_bucket,
                                       confirm=console.confirm, yes=yes))

