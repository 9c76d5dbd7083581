"""The workshop's Step 4, checked and repaired: ANY on / -> AWS_PROXY -> function, permission, stage prod.

Why a check after CloudFormation: the template declares the wiring, but the
local emulator skips some of it (it ignores AWS::ApiGateway::Stage, and
template updates to API resources are not applied), and on AWS a user may
have clicked in the console. Making sure here is what lets ``deploy``
converge from any state without duplicating anything: nothing is created
when everything is in place.
"""
from __future__ import annotations

import logging

from wildrydes_cli.aws.client import Aws
from wildrydes_cli.errors import AwsError

LOG = logging.getLogger(__name__)

STAGE = "prod"


def integration_uri(function_arn: str, region: str) -> str:
    partition = function_arn.split(":")[1] if function_arn.startswith("arn:") else "aws"
    return f"arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def source_arn(function_arn: str, region: str, api_id: str) -> str:
    """This API, any stage, method and path (never ``*`` for the API id)."""
    parts = function_arn.split(":")
    partition, account = parts[1], parts[4]
    return f"arn:{partition}:execute-api:{region}:{account}:{api_id}/*"


def _method_ok(resource: dict, uri: str, api_key_required: bool, authorization: str) -> bool:
    method = (resource.get("resourceMethods") or {}).get("ANY") or {}
    integration = method.get("methodIntegration") or {}
    return integration.get("type") == "AWS_PROXY" and integration.get("uri") == uri and \
        bool(method.get("apiKeyRequired")) == api_key_required and \
        (method.get("authorizationType") or "NONE") == authorization


def _has_permission(policy: dict, arn: str, resource: str | None = None) -> bool:
    """A statement letting API Gateway invoke from ``arn`` (on ``resource`` when given: moto keeps one policy
    for the function and its aliases, Lambda one per qualifier)."""
    for statement in policy.get("Statement", []):
        if resource is not None and statement.get("Resource") != resource:
            continue
        principal = statement.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else principal
        condition = (statement.get("Condition") or {}).get("ArnLike", {}).get("AWS:SourceArn")
        if service == "apigateway.amazonaws.com" and condition == arn:
            return True
    return False


def ensure(aws: Aws, api_id: str, function_name: str, function_arn: str, region: str,
           api_key_required: bool = False, authorization: str = "NONE", qualifier: str | None = None) -> list[str]:
    """Repair what is missing; returns what was repaired (empty when all was in place).

    ``qualifier``: the methods invoke that alias of the function (a canary's ``live``), with a
    permission of the alias's own (Lambda keeps one resource policy per qualifier); None: the
    function itself ($LATEST), which a plain deploy returns the API to.

    ``api_key_required``: every method requires an API key (--auth api-key); ``authorization``:
    every method's AuthorizationType (AWS_IAM with --auth iam). A method that says otherwise is
    made again (the emulator does not apply a template update's change of either).
    """
    repaired: list[str] = []
    target = f"{function_name}:{qualifier}" if qualifier else function_name
    if qualifier:
        function_arn = f"{function_arn}:{qualifier}"
    uri = integration_uri(function_arn, region)
    resources = aws.api_resources(api_id)
    for path in ("/", "/breeds", "/breeds/{breed}"):
        resource = resources.get(path)
        if resource is None:
            if path == "/":
                raise AwsError(f"API {api_id} has no root resource: run `wildrydes cleanup`, then deploy again.")
            continue  # per-breed routes are optional; the template adds them
        if not _method_ok(resource, uri, api_key_required, authorization):
            aws.put_proxy_method(api_id, resource["id"], uri, api_key_required=api_key_required,
                                 authorization=authorization)
            repaired.append(f"ANY {path} -> {target}" + (" (API key required)" if api_key_required else "")
                            + (" (signed requests only)" if authorization == "AWS_IAM" else ""))
    arn = source_arn(function_arn, region, api_id)
    policy = aws.qualified_policy(function_name, qualifier) if qualifier else aws.function_policy(function_name)
    if not _has_permission(policy, arn, function_arn if qualifier else None):
        if qualifier:
            aws.add_qualified_invoke_permission(function_name, qualifier, arn)
        else:
            aws.add_invoke_permission(function_name, arn)
        repaired.append(f"permission for {arn}" + (f" on {target}" if qualifier else ""))
    if repaired or not aws.stage_exists(api_id, STAGE):
        aws.create_deployment(api_id, STAGE)
        repaired.append(f"deployment to stage {STAGE}")
    for item in repaired:
        LOG.info("repaired: %s", item)
    return repaired
