"""Which bucket holds the models, when the user did not say: one rule for every command.

Why one resolver: deploy, train, models and cleanup must agree on the bucket
(they used to disagree on the scratchpad keys and the stack's outputs). The
order: this target's prerequisites stack (its ``DataBucket`` output, else the
resource's physical id), else the scratchpad's ``DataBucket:`` line when that
bucket exists on this target.

Why the stack first, and the check: the scratchpad is one file in the working
directory shared by both targets. ``wildrydes bootstrap`` on the local target
records the emulator's bucket there; ``--target aws`` then read that name and
used it on AWS, where bucket names are global (a stranger's bucket answers
403, a missing one 404). A prerequisites stack that failed (ROLLBACK_COMPLETE)
is refused here, as bootstrap refuses it: its bucket was never made, or was
removed with the rollback.
"""
from __future__ import annotations

import logging

from wildrydes_cli import scratchpad
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.errors import AwsError, NotFoundError
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

# Older scratchpads (and hand-written ones) say "bucket:".
_SCRATCHPAD_KEYS = (scratchpad.BUCKET_KEY, "bucket")


def find_data_bucket(settings: Settings, aws: Aws) -> str | None:
    """The data bucket's name, or None when neither this target's prerequisites stack nor the
    scratchpad names one that exists here; a failed prerequisites stack is an error."""
    stack = settings.prereq_stack
    if aws.usable_prerequisites(stack) is not None:
        return aws.stack_outputs(stack).get("DataBucket") or aws.stack_resource_physical_id(stack, "DataBucket")
    return _recorded_here(settings, aws)


def _recorded_here(settings: Settings, aws: Aws) -> str | None:
    recorded = scratchpad.read(settings.scratchpad)
    name = next((recorded[key] for key in _SCRATCHPAD_KEYS if recorded.get(key)), None)
    if name is None:
        return None
    try:
        exists = aws.bucket_exists(name)
    except AwsError as exc:   # 403: another account's bucket (the name is global), or not ours to read
        raise AwsError(f"{settings.scratchpad} names bucket {name}, which these credentials may not use on target "
                       f"{settings.target} ({exc.format_message()}). It may have been recorded on another target: "
                       "pass --bucket NAME, or run `wildrydes bootstrap` (or `wildrydes scratchpad`) on this "
                       "target.") from exc
    if not exists:
        LOG.info("%s names bucket %s, which does not exist on target %s: not used",
                 settings.scratchpad, name, settings.target)
        return None
    return name


def require_data_bucket(settings: Settings, aws: Aws, doing: str, other_ways: str = "") -> str:
    """The data bucket, or a NotFoundError saying how to make or name one (``doing``: e.g. 'publish to')."""
    bucket = find_data_bucket(settings, aws)
    if bucket is None:
        raise NotFoundError(
            f"no data bucket to {doing}: stack {settings.prereq_stack} does not exist and "
            f"{settings.scratchpad} names no bucket that exists on target {settings.target} ('DataBucket:' line). "
            f"Run `wildrydes bootstrap`, pass --bucket NAME{other_ways}")
    return bucket
