"""What CloudFormation's UpdateStack does that moto's does not, done right after moto's.

Why: moto 5.2 updates an ``AWS::IAM::Role`` by its description only, so a stack
update that changes a role's inline policies or trust policy left the old ones in
place on the local target (the SageMaker execution role that ``bootstrap`` brings
up to date, for one). CloudFormation changes both in place. ``call_moto`` is the
call the journal's door (persist.py) makes for live requests and for replayed
ones alike, so a restart rebuilds the same roles.
"""
from __future__ import annotations

import logging

from wildrydes_cli.local.awsapi import moto_backends, wsgi
from wildrydes_cli.local.awsapi.stack_rules import SCOPE, cloudformation_form
from wildrydes_cli.local.http import HttpRequest, HttpResponse

LOG = logging.getLogger(__name__)


def call_moto(request: HttpRequest, port: int, client: tuple[str, int] | None = None) -> HttpResponse:
    response = wsgi.call_moto(request, port, client)
    if 200 <= response.status < 300:
        form = cloudformation_form(request)
        if form is not None and form.get("Action") == "UpdateStack":
            scope = SCOPE.search(request.header("authorization") or "")
            if scope is not None:
                account = moto_backends.account_of(scope.group(1))
                roles = moto_backends.apply_role_updates(account, scope.group(2), form.get("StackName", ""))
                if roles:
                    LOG.info("UpdateStack %s: the policies of role(s) %s as the template now gives them",
                             form.get("StackName"), ", ".join(roles))
    return response
