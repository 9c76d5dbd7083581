"""The CloudFormation templates wildrydes drives, and the parameters it gives them.

Templates ship inside the CLI as ``wildrydes_cli.templates`` (the
cloudformation/ folder), so an installed wildrydes deploys exactly the files
cfn-lint checked in the tests.

``log_group_mode`` decides one parameter from what the account already holds:
a stack taken over from the workshop's own template has a function Lambda may
already have logged for, so ``/aws/lambda/<function>`` exists outside the
stack, and declaring it would fail the update with AlreadyExists (and roll it
back, on every later deploy too). Such a group is left in place and used.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

from wildrydes_cli import layout
from wildrydes_cli.deploy.access import Limits

LOG = logging.getLogger(__name__)

FUNCTION = "function.yml"             # stack wildrydes-ml-mod3-4, and wildrydes-ml-mod0-4 (--complete)
FUNCTION_LOG_GROUP = "ModelInferenceFunctionLogGroup"   # the template's logical id for /aws/lambda/<function>


def template_body(name: str) -> str:
    return resources.files("wildrydes_cli.templates").joinpath(name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class FunctionStack:
    """Every parameter of function.yml, as deploy settles them."""

    bucket: str
    code_key: str
    model_path: str
    engine: str
    runtime: str
    memory_mb: int
    role: str | None = None          # what follows ":role/" in the role's ARN (path/NAME); None: a new role
    log_group: str = "create"        # or "existing" (see log_group_mode)
    kms_keys: tuple[str, ...] = ()   # key ARNs the models are encrypted with
    s3_dns_suffix: str = "amazonaws.com"
    # The local target's endpoint, so the stack's InvokeUrl and CurlCommand outputs point there ("" on AWS).
    execute_api_endpoint: str = ""
    auth: str = "none"                  # who may call the API: none or api-key (access.py)
    limits: Limits = Limits()           # the usage plan's, with api-key
    key_generation: int = 1             # part of the key's name; `keys rotate` raises it

    def parameters(self) -> dict[str, str]:
        """Every parameter, every time: the emulator mishandles UsePreviousValue."""
        return {
            "DataBucket": self.bucket,
            "DataProcessingExecutionRoleName": self.role or "",
            "CodeKey": self.code_key,
            "ModelPath": self.model_path,
            "Engine": self.engine,
            "MemorySize": str(self.memory_mb),
            "Runtime": self.runtime,
            "FunctionLogGroup": self.log_group,
            "ModelKmsKeyArns": ",".join(self.kms_keys),
            "S3DnsSuffix": self.s3_dns_suffix,
            "ExecuteApiEndpoint": self.execute_api_endpoint,
            "Auth": self.auth,
            "ThrottleRate": f"{self.limits.rate:g}",
            "ThrottleBurst": str(self.limits.burst),
            "QuotaLimit": str(self.limits.quota_limit or 0),
            "QuotaPeriod": self.limits.quota_period,
            "ApiKeyGeneration": str(self.key_generation),
        }


def log_group_mode(aws: Any, stack: str) -> str:
    """'create' when the stack makes (or already owns) the function's log group, 'existing' when
    ``/aws/lambda/<function>`` is already there without belonging to the stack."""
    owned = aws.stack_resource_ids(stack)
    if FUNCTION_LOG_GROUP in owned:
        return "create"
    function = owned.get("ModelInferenceFunction")
    if function and aws.log_group_exists(layout.function_log_group(function)):
        LOG.info("log group %s exists outside stack %s: left in place", layout.function_log_group(function), stack)
        return "existing"
    return "create"
