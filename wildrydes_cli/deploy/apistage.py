"""Does stage ``prod`` serve the API as the stack now has it? (API Gateway stage snapshots)

Why: a REST API stage serves the deployment it points to, a snapshot of the
API's resources and methods at CreateDeployment time. ``ProdDeployment`` in
function.yml is created once (AWS::ApiGateway::Deployment is immutable), so a
stack update that changes methods or routes updates the API but not what
``prod`` serves. A deploy interrupted between the stack update and the new
deployment (Ctrl-C, a lost connection) leaves ``prod`` stale too, and the next
deploy finds the stack unchanged. So the rule looks at what AWS holds, not at
what this run did: when the deployment ``prod`` serves is older than the
stack's last update, deploy makes a new one. After a parameter-only update
that is one harmless redeployment of the same API. moto applies no API changes
and reports no LastUpdatedTime, which is why this was never seen before.
"""
from __future__ import annotations

import logging
from datetime import datetime

LOG = logging.getLogger(__name__)


def stage_is_stale(stack_updated: datetime | None, deployment_created: datetime | None) -> bool:
    """True when the stack was updated after the stage's deployment was made.

    API Gateway's createdDate has whole seconds, CloudFormation's LastUpdatedTime milliseconds: a
    deployment made later in the second the update started reads as older, and is made once more
    (harmless); one made before the update can never read as newer.
    """
    if stack_updated is None or deployment_created is None:
        return False
    return deployment_created.timestamp() < stack_updated.timestamp()
