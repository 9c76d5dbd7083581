"""``wildrydes status``: what is deployed where, and whether it serves the newest model.

Reads the state file first (no rediscovery), then asks the services for the
live picture: stack states, the function's configuration, the API, and the
newest model in the bucket compared with the deployed MODEL_PATH; with
``--auth api-key``, the plan's limits and the key's requests today (GetUsage).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone

from wildrydes_cli import deployment_record, model_card
from wildrydes_cli.aws import api_keys
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.aws.found_deployment import deployment_in_use
from wildrydes_cli.aws.target import STAGE
from wildrydes_cli.errors import WildrydesError
from wildrydes_cli.results import FunctionInfo, StatusResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)


def status(settings: Settings, aws: Aws) -> StatusResult:
    stacks = {}
    for name in (settings.prereq_stack, *settings.function_stacks):
        stack = aws.stack(name)
        stacks[name] = stack["StackStatus"] if stack else "absent"
    others = tuple(region for region in deployment_record.regions_with_deployments(
        settings.state_dir, settings.target, settings.account) if region != settings.region)
    deployment, recorded = deployment_in_use(settings, aws)   # recorded by deploy, else found from the stacks
    if deployment is None:
        return StatusResult(target=settings.target, region=settings.region, stacks=stacks, deployed=False,
                            other_regions=others)
    config = aws.function_config(deployment.function_name)
    env = ((config or {}).get("Environment") or {}).get("Variables") or {}
    function = None
    if config:
        function = FunctionInfo(name=deployment.function_name, runtime=config.get("Runtime"),
                                memory_mb=config.get("MemorySize"), engine=env.get("INFERENCE_ENGINE"),
                                model_path=env.get("MODEL_PATH"), last_modified=config.get("LastModified"))
    bucket_there = bool(deployment.bucket) and aws.bucket_exists(deployment.bucket)
    newest = aws.newest_model_key(deployment.bucket) if bucket_there else None
    deployed_model = env.get("MODEL_PATH") or deployment.model_path
    api_exists = bool(deployment.api_id) and aws.rest_api_exists(deployment.api_id)
    # What the target does not have (a local emulator that started empty, a stack deleted by hand,
    # the workshop's Step 2 done by hand without Step 4): then nothing is serving, so nothing is "up to date".
    missing = tuple(name for name, gone in (
        ("stack", stacks.get(deployment.stack, "absent") == "absent"), ("function", config is None),
        ("API", not api_exists), (f"stage {STAGE}", api_exists and not aws.stage_exists(deployment.api_id, STAGE)))
        if gone)
    return StatusResult(
        target=settings.target, region=settings.region, stacks=stacks, deployed=True,
        stack=deployment.stack, bucket=deployment.bucket, function=function,
        api_id=deployment.api_id if api_exists else None,
        invoke_url=aws.target.deployment_url(deployment) if deployment.api_id else None,
        deployed_model=deployed_model, newest_model=newest,
        up_to_date=not missing and (newest is None or newest == deployed_model), deployed_at=deployment.deployed_at,
        missing=missing, gone_hint=aws.target.gone_hint if missing and recorded else "", other_regions=others,
        recorded=recorded, pinned=recorded and deployment.pinned,
        deployed_card=model_card.read_card(aws, deployment.bucket, deployed_model)
        if bucket_there and deployed_model else None,
        canary=aws.canary_state(deployment.function_name) if config else None,
        **_access(aws, deployment.stack, deployment.api_id if api_exists else None))


def _access(aws, stack: str, api_id: str | None, today: date | None = None) -> dict:
    """The stack's auth mode, its usage plan's limits (from its parameters) and the key's usage today (UTC)."""
    params = aws.stack_parameters(stack)
    keyed = params.get("Auth") == "api-key"
    limits = api_keys.limits(params)
    usage = None
    if keyed and api_id:
        try:
            key = api_keys.current_key(aws, stack, params)
            usage = api_keys.usage_today(aws, api_id, str(key["id"]), limits["quota"],
                                         today or datetime.now(timezone.utc).date())
        except WildrydesError as exc:     # the rest of status still stands; say why the usage is not shown
            LOG.warning("today's usage of the API key is not shown: %s", exc)
    return {"auth": params.get("Auth") or "none", **limits,
            "limits_enforced": aws.target.usage_plan_limits if keyed else None, "usage": usage}
