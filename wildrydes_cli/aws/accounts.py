"""Which AWS account the credentials belong to, bound into the settings (state is kept per account).

Why: the deployed-state file was named by target and region only; after
switching ``--profile`` to another account, ``predict`` called the first
account's URL and ``cleanup`` tried to delete stacks that are not there. The
account (one STS GetCallerIdentity) becomes part of the state file's name and
of the deploy lock's. The local target has one fixed account and keeps its
old file names.
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
    return bound


def current_deployment(settings: Settings):
    """The deployment predict talks to, or an error naming the account when there is none."""
    from wildrydes_cli import deployment_record
    deployment = deployment_record.current(settings)
    if deployment is None and settings.account:
        raise NotFoundError(f"Nothing is deployed on target {settings.target} in account {settings.account} "
                            f"({settings.region}): run `wildrydes deploy` with these credentials, or pass "
                            "--url INVOKE_URL.")
    return deployment
