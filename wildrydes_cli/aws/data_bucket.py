"""Which bucket holds the models, when the user did not say: one rule for every command.

Why one resolver: deploy, train, models and cleanup must agree on the bucket
(they used to disagree on the scratchpad keys and the stack's outputs). The
order: the scratchpad's ``DataBucket:`` line (the workshop's Step 1 records
it there), else the prerequisites stack's ``DataBucket`` output (its physical
id when the output is missing).
"""
from __future__ import annotations

import logging

from wildrydes_cli import scratchpad
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

# Older scratchpads (and hand-written ones) say "bucket:".
_SCRATCHPAD_KEYS = (scratchpad.BUCKET_KEY, "bucket")


def find_data_bucket(settings: Settings, aws: Aws) -> str | None:
    """The data bucket's name, or None when neither the scratchpad nor the prerequisites stack names one."""
    recorded = scratchpad.read(settings.scratchpad)
    for key in _SCRATCHPAD_KEYS:
        if recorded.get(key):
            return recorded[key]
    stack = settings.prereq_stack
    if aws.stack(stack) is None:
        return None
    return aws.stack_outputs(stack).get("DataBucket") or aws.stack_resource_physical_id(stack, "DataBucket")


def require_data_bucket(settings: Settings, aws: Aws, doing: str, other_ways: str = "") -> str:
    """The data bucket, or a NotFoundError saying how to make or name one (``doing``: e.g. 'publish to')."""
    bucket = find_data_bucket(settings, aws)
    if bucket is None:
        raise NotFoundError(
            f"no data bucket to {doing}: stack {settings.prereq_stack} does not exist and "
            f"{settings.scratchpad} has no 'DataBucket:' line. Run `wildrydes bootstrap`, pass --bucket NAME"
            f"{other_ways}")
    return bucket
