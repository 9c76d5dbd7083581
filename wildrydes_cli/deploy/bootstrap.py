"""``wildrydes bootstrap``: what the workshop's modules 1-2 leave behind, for those who skipped them.

Creates stack wildrydes-ml-mod1-3 (data bucket + DataProcessingExecutionRole +
SageMakerExecutionRole) from cloudformation/prerequisites.yml, or reuses it, and
records the bucket and role in the scratchpad so later commands find them. A
module 1 stack the workshop made is never changed: the SageMaker execution role
it lacks goes into a stack of its own beside it (``prerequisites.py`` says
where). On the local target ``deploy`` calls it when the bucket is missing. ``record_prerequisites`` is the workshop's
Step 1 alone (``wildrydes scratchpad``): read the names from an existing stack.
"""
from __future__ import annotations

import logging

from wildrydes_cli import prerequisites, scratchpad
from wildrydes_cli.aws import checks
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.aws.stacks import outputs_of
from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.prerequisites import (
    EXISTING_BUCKET_PARAMETER,
    SAGEMAKER_ROLE_OUTPUT,
    TRAINING_KMS_PARAMETER,
    role_stack_name,
)
from wildrydes_cli.progress import Progress
from wildrydes_cli.results import BootstrapResult, ScratchpadResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)


def bootstrap(settings: Settings, aws: Aws, console: Progress) -> BootstrapResult:
    """Create (or find) the prerequisites stack; returns bucket, role and whether it was created."""
    name, template = settings.prereq_stack, prerequisites.template_body()
    existing = aws.usable_prerequisites(name)   # a failed stack's bucket was never made: never reuse it
    created = updated = False
    if existing is None:
        aws.account_id()
        with console.step(f"Create stack {name} (data bucket, DataProcessingExecutionRole, SageMakerExecutionRole)"):
            aws.deploy_stack(name, template, {})
        created = True
    elif made_by_wildrydes(existing):
        # An earlier bootstrap's stack: brought up to this version's template (the SageMaker execution
        # role, or its policy as it is now) and to the bucket's default KMS key. A stack someone else made
        # (the workshop's own module 1) is left as it is.
        parameters = training_parameters(aws, outputs_of(existing).get("DataBucket"))
        if not aws.stack_is_current(name, template, parameters):
            with console.step(f"Update stack {name} (SageMakerExecutionRole for `train --on sagemaker`"
                              f"{_with_key(parameters)}, as this version makes it)"):
                updated = aws.deploy_stack(name, template, parameters) == "updated"
    outputs = aws.stack_outputs(name)
    bucket = outputs.get("DataBucket") or aws.stack_resource_physical_id(name, "DataBucket")
    role = (outputs.get("DataProcessingExecutionRoleName")
            or aws.stack_resource_physical_id(name, "DataProcessingExecutionRole"))
    scratchpad.write(settings.scratchpad, {scratchpad.BUCKET_KEY: bucket, scratchpad.ROLE_KEY: role})
    sagemaker_role, role_stack = outputs.get(SAGEMAKER_ROLE_OUTPUT), None
    if sagemaker_role is None:     # the workshop's own module 1 stack: the role goes in a stack beside it
        role_stack = role_stack_name(settings.prereq_stack)
        sagemaker_role = _role_beside(aws, console, role_stack, name, bucket, template)
    return BootstrapResult(stack=name, created=created, bucket=bucket, role=role, scratchpad=str(settings.scratchpad),
                           updated=updated, sagemaker_role=sagemaker_role, sagemaker_role_stack=role_stack)


def _role_beside(aws: Aws, console: Progress, name: str, beside: str, bucket: str, template: str) -> str:
    """The SageMaker execution role for ``bucket`` in stack ``name`` (prerequisites.yml with only that role),
    made, or brought up to this template and ``bucket`` (the stack it is beside may have another now); its ARN."""
    existing = aws.usable_prerequisites(name)
    parameters = {EXISTING_BUCKET_PARAMETER: bucket, **training_parameters(aws, bucket)}
    if existing is None or not aws.stack_is_current(name, template, parameters):
        verb = "Create" if existing is None else "Update"
        with console.step(f"{verb} stack {name} (SageMakerExecutionRole for bucket {bucket}{_with_key(parameters)}; "
                          f"stack {beside}, which wildrydes did not make, stays as it is)"):
            aws.deploy_stack(name, template, parameters)
    return aws.stack_outputs(name)[SAGEMAKER_ROLE_OUTPUT]


def training_parameters(aws: Aws, bucket: str | None) -> dict[str, str]:
    """The template's TrainingKmsKeyArns: the bucket's default KMS key, which the execution role must use to
    read the channels and write the model in an SSE-KMS bucket (empty: not KMS-encrypted, or unknown)."""
    return {TRAINING_KMS_PARAMETER: (checks.bucket_kms_key(aws, bucket) if bucket else None) or ""}


def _with_key(parameters: dict[str, str]) -> str:
    key = parameters.get(TRAINING_KMS_PARAMETER)
    return f" and KMS key {key}" if key else ""



def made_by_wildrydes(stack: dict) -> bool:
    """Whether ``bootstrap`` made this stack (``deploy_stack`` tags what it creates)."""
    return any(tag.get("Key") == "wildrydes" and tag.get("Value") == "true" for tag in stack.get("Tags") or [])


def record_prerequisites(settings: Settings, aws: Aws) -> ScratchpadResult:
    """Step 1: read the role and bucket from the prerequisites stack, record them."""
    stack = settings.prereq_stack
    if aws.usable_prerequisites(stack) is None:   # a failed stack's names point at nothing: refused
        raise NotFoundError(f"Stack {stack} does not exist in {settings.region}: run `wildrydes bootstrap` "
                            "to create the data bucket and DataProcessingExecutionRole.")
    role = aws.stack_resource_physical_id(stack, "DataProcessingExecutionRole")
    bucket = aws.stack_resource_physical_id(stack, "DataBucket")
    changed = scratchpad.write(settings.scratchpad, {scratchpad.BUCKET_KEY: bucket, scratchpad.ROLE_KEY: role})
    return ScratchpadResult(scratchpad=str(settings.scratchpad), bucket=bucket, role=role, changed=changed)
