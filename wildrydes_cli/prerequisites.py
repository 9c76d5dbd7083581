"""The prerequisites stack (**contract**): what ``bootstrap`` makes from cloudformation/prerequisites.yml,
and what ``train --on sagemaker`` and ``cleanup`` read from it.

- Stack ``wildrydes-ml-mod1-3`` (``Settings.prereq_stack``), made by ``bootstrap``: outputs
  ``DataBucket``, ``DataProcessingExecutionRoleName``/``Arn`` and ``SAGEMAKER_ROLE_OUTPUT``.
- Beside a module 1 stack of that name that wildrydes did not make (the workshop's own, which it
  never changes): the SageMaker execution role alone, in stack ``role_stack_name(...)``, made from
  the same template with ``EXISTING_BUCKET_PARAMETER`` set to that stack's bucket. Its outputs are
  ``DataBucket`` (that bucket) and ``SAGEMAKER_ROLE_OUTPUT``.
- Either stack's ``TRAINING_KMS_PARAMETER``: the bucket's default KMS key, which the execution role
  may use (bootstrap sets it from GetBucketEncryption; empty when the bucket is not SSE-KMS).

A ground module (no layer's): bootstrap and cleanup (deploy) and the training job (training) all
need these names, and neither layer may import the other.
"""
from __future__ import annotations

from importlib import resources

TEMPLATE = "prerequisites.yml"
SAGEMAKER_ROLE_OUTPUT = "SageMakerExecutionRoleArn"
EXISTING_BUCKET_PARAMETER = "ExistingDataBucket"
TRAINING_KMS_PARAMETER = "TrainingKmsKeyArns"    # the bucket's default KMS key(s), for the execution role


def role_stack_name(prereq_stack: str) -> str:
    """Where the SageMaker execution role lives when the prerequisites stack is not wildrydes'."""
    return f"{prereq_stack}-training"


def template_body() -> str:
    """The template as shipped inside the CLI (``wildrydes_cli.templates``, the cloudformation/ folder)."""
    return resources.files("wildrydes_cli.templates").joinpath(TEMPLATE).read_text(encoding="utf-8")
