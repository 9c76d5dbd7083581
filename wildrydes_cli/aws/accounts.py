"""Which AWS account the credentials belong to, bound into the settings (state is kept per account).

Why: the deployed-state file was named by target and region only; after
switching ``--profile`` to another account, ``predict`` called the first
account's URL and ``cleanup`` tried to delete stacks that are not there. The
account (one STS GetCallerIdentity) becomes part of the state file's name and
of the deploy lock's. The local target has one fixed account and keeps its
old file names.

A state file from before that change (``deployed/aws-<region>.json``) is
migrated the first time these credentials find no file of their own: each
deployment it records moves to this account's file when its stack is here
(same function) or, the stack gone, its bucket is reachable with these
credentials, so ``status``, ``predict`` and ``cleanup`` (with the code zips to
remove) see it again. What belongs elsewhere stays in the old file.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)


def bind(settings: Settings, aws: Any = None) -> Settings:
    """``settings`` with ``account`` set (AWS target only); ``aws`` gets the bound settings too."""
    from wildrydes_cli.aws.target import target_class, target_for
    if target_class(settings.target).fixed_account or settings.account:
        return settings
    if aws is None:
        from wildrydes_cli.aws.client import Aws
        aws = Aws(target_for(settings))
    bound = replace(settings, account=aws.account_id())
    aws.target = replace(aws.target, settings=bound)
    aws.settings = bound
    _adopt_unbound_state(bound, aws)
    return bound


def _adopt_unbound_state(settings: Settings, aws: Any) -> None:
    """Move what the account-less state file recorded for this account into this account's file."""
    from wildrydes_cli import deployment_record
    old = deployment_record.state_path(replace(settings, account=None))
    if deployment_record.state_path(settings).exists() or not old.exists():
        return
    found = deployment_record.load_file(old)
    mine = {name: d for name, d in found.items() if _here(aws, d)}
    if not mine:
        return
    current = deployment_record.current_name(old)
    deployment_record.save(settings, mine, current=current if current in mine else None)
    deployment_record.save_file(old, {name: d for name, d in found.items() if name not in mine})
    LOG.info("moved %s from %s into the state of account %s", ", ".join(mine), old, settings.account)


def _here(aws: Any, deployment: Any) -> bool:
    stack = aws.stack(deployment.stack)
    if stack is not None:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return outputs.get("FunctionName") == deployment.function_name
    try:
        return bool(deployment.bucket) and bool(aws.bucket_exists(deployment.bucket))
    except Exception as exc:   # 403: not this account's bucket
        LOG.debug("bucket %s not reachable here: %s", deployment.bucket, exc)
        return False


def current_deployment(settings: Settings):
    """The deployment predict talks to, or an error naming the account when there is none."""
    from wildrydes_cli import deployment_record
    deployment = deployment_record.current(settings)
    if deployment is None and settings.account:
        raise NotFoundError(f"Nothing is deployed on target {settings.target} in account {settings.account} "
                            f"({settings.region}): run `wildrydes deploy` with these credentials, or pass "
                            "--url INVOKE_URL.")
    return deployment
