"""The deployment a command reads: the one ``deploy`` recorded, else the one its stacks show.

Why: the workshop's Step 2 done by hand (``aws cloudformation create-stack`` with
the workshop's template under ``wildrydes-ml-mod3-4``, or the break-glass stack
``wildrydes-ml-mod0-4``) leaves no deployment record, and ``status``, ``predict``
and ``logs`` said "nothing deployed". The stacks name everything a reader needs:
the function and the REST API are their resources (found by type, whatever the
template called them: ours say ``ModelInferenceApi``, the workshop's
``ApiGateway``), the bucket is their ``DataBucket`` parameter or the function's
``OUTPUT_BUCKET``, and the invoke URL is the stage ``prod`` of that API.
"""
from __future__ import annotations

import logging

from wildrydes_cli import deployment_record, layout
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.deployment_record import Deployment
from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

FUNCTION_TYPE = "AWS::Lambda::Function"
API_TYPE = "AWS::ApiGateway::RestApi"


def deployment_in_use(settings: Settings, aws: Aws) -> tuple[Deployment | None, bool]:
    """(the deployment, True when recorded by deploy / False when found from the stacks); (None, False) without."""
    recorded = deployment_record.current(settings)
    if recorded is not None:
        return recorded, True
    return deployment_from_stacks(settings, aws), False


def deployed_model(settings: Settings, aws: Aws, bucket: str | None = None) -> str | None:
    """The MODEL_PATH the deployed function serves (from ``bucket`` when given; recorded, or found in its stacks)."""
    deployment, _ = deployment_in_use(settings, aws)
    if deployment is None or (bucket is not None and deployment.bucket != bucket):
        return None
    config = aws.function_config(deployment.function_name)
    if config is None:   # the deployment is gone: nothing is served
        return None
    return ((config.get("Environment") or {}).get("Variables") or {}).get("MODEL_PATH") or deployment.model_path


def deployment_from_stacks(settings: Settings, aws: Aws) -> Deployment | None:
    """The first of the function stacks (mod3-4, then mod0-4) that holds a function, as a Deployment."""
    for name in settings.function_stacks:
        stack = aws.stack(name)
        if stack is None or stack["StackStatus"].startswith("DELETE_"):   # gone, or going
            continue
        try:
            resources = aws.stack_resources(name)
        except NotFoundError:   # deleted between the two calls
            continue
        function = _physical(resources, FUNCTION_TYPE, "ModelInferenceFunction")
        if not function:
            continue
        api = _physical(resources, API_TYPE, "ModelInferenceApi") or ""
        config = aws.function_config(function) or {}
        env = (config.get("Environment") or {}).get("Variables") or {}
        bucket = aws.stack_parameters(name).get("DataBucket") or env.get("OUTPUT_BUCKET", "")
        url = aws.target.invoke_url(api, stack_url=aws.stack_outputs(name).get("InvokeUrl")) if api else ""
        LOG.debug("no deployment recorded: found function %s and API %s in stack %s", function, api, name)
        return Deployment(stack=name, bucket=bucket, function_name=function, api_id=api, invoke_url=url,
                          model_path=env.get("MODEL_PATH", ""), engine=env.get("INFERENCE_ENGINE", "lean"),
                          runtime=str(config.get("Runtime", "")))
    return None


def breed_refresh(settings: Settings, aws: Aws, bucket: str) -> dict | None:
    """Which deployed function reads breeds from ``bucket``, and within how many seconds it serves a new model.

    The function's own MODEL_REFRESH_SECONDS when it sets one, else the function's documented default
    (``layout.DEFAULT_REFRESH_SECONDS``). None when no deployed function reads this bucket.
    """
    deployment, _ = deployment_in_use(settings, aws)
    if deployment is None or deployment.bucket != bucket:
        return None
    config = aws.function_config(deployment.function_name)
    if config is None:
        return None
    env = (config.get("Environment") or {}).get("Variables") or {}
    try:
        seconds, source = float(env[layout.REFRESH_VARIABLE]), "function"
    except (KeyError, ValueError):   # unset, or a value the function itself refuses (it then says so)
        seconds, source = layout.DEFAULT_REFRESH_SECONDS, "default"
    return {"function": deployment.function_name, "refresh_seconds": seconds, "source": source}


def api_of(aws: Aws, stack: str) -> str | None:
    """The REST API the stack made (cleanup deletes it: the emulator's delete_stack leaves it behind)."""
    return _physical(aws.stack_resources(stack), API_TYPE, "ModelInferenceApi")


def _physical(resources: list[dict], kind: str, preferred: str) -> str | None:
    """The physical id of the resource of this type (the ``preferred`` logical id first when there are several)."""
    found = [r for r in resources if r.get("ResourceType") == kind and r.get("PhysicalResourceId")]
    found.sort(key=lambda r: r.get("LogicalResourceId") != preferred)
    return found[0]["PhysicalResourceId"] if found else None
