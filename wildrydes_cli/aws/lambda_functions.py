"""The AWS wrapper's Lambda and IAM intents (``Aws`` inherits them): a function's configuration, its role.

Why apart from client.py: MODEL_PATH is set on a function whose other variables must be
kept, and Lambda applies a configuration change asynchronously (LastUpdateStatus), so it
is waited for here; the role's policies are read as JSON text for the policy checks.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from botocore.exceptions import ClientError

from wildrydes_cli.aws.boto_errors import code_of, message_of
from wildrydes_cli.errors import AwsError, NotFoundError

LOG = logging.getLogger(__name__)


class FunctionIntents:
    """Mixed into ``Aws``: ``client``, ``translate``, ``poll_until`` come from there."""

    client: Any
    translate: Any
    poll_until: Any

    def role_exists(self, name: str) -> bool:
        return self.role_arn(name) is not None

    def role_arn(self, name: str) -> str | None:
        """The role's ARN as IAM holds it (its path included), None when there is no such role."""
        try:
            with self.translate(f"read role {name}"):
                return str(self.client("iam").get_role(RoleName=name)["Role"]["Arn"])
        except NotFoundError:
            return None

    def role_policies(self, name: str) -> tuple[str, list[tuple[str, str]]] | None:
        """(role ARN, [(which policy, JSON document)]) for a role's identity policies, inline and managed
        (default versions); None when IAM will not tell these credentials (access denied)."""
        iam = self.client("iam")
        documents: list[tuple[str, str]] = []
        doing = f"read the policies of role {name}"
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy in page["PolicyNames"]:
                    document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                    documents.append((f"inline policy {policy} of role {name}", _json_text(document)))
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                for attached in page["AttachedPolicies"]:
                    policy_arn = attached["PolicyArn"]
                    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
                    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]
                    documents.append((f"managed policy {policy_arn} attached to role {name}",
                                      _json_text(document["Document"])))
        except ClientError as exc:
            if code_of(exc) in ("AccessDenied", "AccessDeniedException"):
                LOG.info("cannot %s: %s", doing, message_of(exc))
                return None
            with self.translate(doing):
                raise
        return arn, documents

    def function_config(self, name: str) -> dict | None:
        try:
            with self.translate(f"read function {name}"):
                return self.client("lambda").get_function_configuration(FunctionName=name)
        except NotFoundError:
            return None

    def function_env(self, name: str) -> dict[str, str]:
        config = self.function_config(name)
        if config is None:
            raise NotFoundError(f"Function {name} does not exist.")
        return dict((config.get("Environment") or {}).get("Variables") or {})

    def set_function_env(self, name: str, updates: dict[str, str], keep: dict[str, str] | None = None) -> bool:
        """Set ``updates`` on top of the current variables (plus ``keep``); True if it changed.

        Lambda replaces the whole map on update, so merge first: other
        variables a user added survive a new MODEL_PATH.
        """
        self.wait_function(name)  # Lambda refuses a change while a previous one is in progress
        current = self.function_env(name)
        wanted = {**(keep or {}), **current, **updates}
        if wanted == current:
            return False
        with self.translate(f"update the environment of {name}"):
            self.client("lambda").update_function_configuration(
                FunctionName=name, Environment={"Variables": wanted})
        self.wait_function(name)
        return True

    def wait_function(self, name: str, timeout: float = 120.0, poll: float = 1.0) -> None:
        """Until the function's last update (or creation) is done: Lambda refuses a change meanwhile."""
        config: dict = {}

        def done() -> bool:
            nonlocal config
            config = self.function_config(name) or {}
            return config.get("LastUpdateStatus", "Successful") != "InProgress" and \
                config.get("State", "Active") != "Pending"

        self.poll_until(done, lambda: f"Function {name} still updating", "try again in a minute",
                        timeout=timeout, poll=poll)
        if config.get("LastUpdateStatus") == "Failed":
            raise AwsError(f"Updating {name} failed: {config.get('LastUpdateStatusReason', '')}")

    def function_policy(self, name: str) -> dict:
        try:
            with self.translate(f"read the resource policy of {name}"):
                return json.loads(self.client("lambda").get_policy(FunctionName=name)["Policy"])
        except NotFoundError:
            return {"Statement": []}

    def add_invoke_permission(self, name: str, source_arn: str) -> None:
        """Let API Gateway invoke the function, from this API only."""
        with self.translate(f"allow API Gateway to invoke {name}"):
            self.client("lambda").add_permission(
                FunctionName=name, StatementId=f"wildrydes-{uuid.uuid4().hex[:12]}",
                Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com", SourceArn=source_arn)


def _json_text(document: Any) -> str:
    """IAM answers a policy document URL-decoded into a dict (boto3); the evaluator reads JSON text."""
    return document if isinstance(document, str) else json.dumps(document)
