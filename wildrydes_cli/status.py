"""``wildrydes status``: what is deployed where, and whether it serves the newest model.

Reads the state file first (no rediscovery), then asks the services for the
live picture: stack states, the function's configuration, the API, and the
newest model in the bucket compared with the deployed MODEL_PATH.
"""
from __future__ import annotations

import logging

from wildrydes_cli import state
from wildrydes_cli.aws import Aws
from wildrydes_cli.console import Console
from wildrydes_cli.settings import Settings
from wildrydes_cli.target import invoke_url

LOG = logging.getLogger(__name__)


def status(settings: Settings, aws: Aws) -> dict:
    stacks = {}
    for name in (settings.prereq_stack, *settings.function_stacks):
        stack = aws.stack(name)
        stacks[name] = stack["StackStatus"] if stack else "absent"
    deployment = state.current(settings)
    result: dict = {"target": settings.target, "region": settings.region, "stacks": stacks,
                    "deployed": deployment is not None}
    if deployment is None:
        return result
    config = aws.function_config(deployment.function_name)
    env = ((config or {}).get("Environment") or {}).get("Variables") or {}
    function = None
    if config:
        function = {"name": deployment.function_name, "runtime": config.get("Runtime"),
                    "memory_mb": config.get("MemorySize"), "engine": env.get("INFERENCE_ENGINE"),
                    "model_path": env.get("MODEL_PATH"), "last_modified": config.get("LastModified")}
    newest = aws.newest_model_key(deployment.bucket) if aws.bucket_exists(deployment.bucket) else None
    deployed_model = env.get("MODEL_PATH") or deployment.model_path
    result.update({
        "stack": deployment.stack, "bucket": deployment.bucket, "function": function,
        "api_id": deployment.api_id if aws.rest_api_exists(deployment.api_id) else None,
        # locally the emulator's port may have changed since deploy: rebuild the URL
        "invoke_url": invoke_url(settings, deployment.api_id) if settings.endpoint_url else deployment.invoke_url, "deployed_model": deployed_model, "newest_model": newest,
        "up_to_date": newest is None or newest == deployed_model, "deployed_at": deployment.deployed_at,
    })
    return result


def render(result: dict, console: Console) -> None:
    console.table(["stack", "status"], list(result["stacks"].items()),
                  title=f"target {result['target']} ({result['region']})")
    if not result["deployed"]:
        console.line("Nothing deployed yet: run `wildrydes deploy`.")
        return
    function = result.get("function") or {}
    console.fields({
        "function": function.get("name") or "missing (run `wildrydes deploy`)",
        "runtime": function.get("runtime"), "memory": f"{function.get('memory_mb')} MB" if function else None,
        "engine": function.get("engine"), "MODEL_PATH": result.get("deployed_model"),
        "last modified": function.get("last_modified"), "API": result.get("api_id"),
        "invoke URL": result.get("invoke_url"), "newest model": result.get("newest_model"),
        "up to date": "yes" if result.get("up_to_date") else "no - run `wildrydes deploy` to roll it out",
    })
