"""The workshop's steps as plain functions, one import away (for scripts and notebooks).

The CLI's commands call these; each lives in a small module of its own so no
file grows into a god module:

    Step 0 (modules 1-2)  bootstrap.bootstrap     stack wildrydes-ml-mod1-3: data bucket + role
    Step 1                scratchpad.record_prerequisites
    Steps 2-4             deploy.deploy           package, stack, MODEL_PATH, API wiring, state
    Step 5                predict.predict         POST the ride over HTTP
    status                status.status
    Clean up              cleanup.cleanup

Example::

    from wildrydes_cli import workshop
    from wildrydes_cli.settings import Settings
    settings = workshop.resolve(Settings(target="aws", region="eu-west-1"))
    aws, console = workshop.aws_for(settings), workshop.Console()
    result = workshop.deploy(settings, aws, workshop.DeployRequest(), console)
"""
from __future__ import annotations

from wildrydes_cli.aws import aws_for
from wildrydes_cli.bootstrap import bootstrap
from wildrydes_cli.cleanup import cleanup
from wildrydes_cli.console import Console
from wildrydes_cli.deploy import DeployRequest, deploy
from wildrydes_cli.predict import predict
from wildrydes_cli.scratchpad import record_prerequisites
from wildrydes_cli.status import status
from wildrydes_cli.target import resolve

__all__ = ["Console", "DeployRequest", "aws_for", "bootstrap", "cleanup", "deploy", "predict",
           "record_prerequisites", "resolve", "status"]
