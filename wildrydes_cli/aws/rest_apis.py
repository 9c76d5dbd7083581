"""The AWS wrapper's API Gateway and CloudWatch Logs intents (``Aws`` inherits them): methods, stages, keys, log events.

Why apart from client.py: the API is wired and redeployed by hand when a stack made by
someone else lacks it (a stage serves a snapshot until the next CreateDeployment), and the
function's log events are read back for ``wildrydes logs``.
"""
from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from wildrydes_cli.aws.boto_errors import is_missing
from wildrydes_cli.errors import NotFoundError

LOG = logging.getLogger(__name__)


class RestApiIntents:
    """Mixed into ``Aws``: ``client``, ``translate``, ``_exists`` come from there."""

    client: Any
    translate: Any
    _exists: Any

    def rest_api_exists(self, api_id: str) -> bool:
        return self._exists(f"read API {api_id}",
                            lambda: self.client("apigateway").get_rest_api(restApiId=api_id))

    def delete_rest_api(self, api_id: str) -> bool:
        if not self.rest_api_exists(api_id):
            return False
        with self.translate(f"delete API {api_id}"):
            self.client("apigateway").delete_rest_api(restApiId=api_id)
        return True

    def api_resources(self, api_id: str) -> dict[str, dict]:
        """The API's resources by path, with their methods."""
        with self.translate(f"read the resources of API {api_id}"):
            pages = self.client("apigateway").get_paginator("get_resources").paginate(
                restApiId=api_id, embed=["methods"])
            return {item["path"]: item for page in pages for item in page.get("items", [])}

    def stage_exists(self, api_id: str, stage: str) -> bool:
        return self._exists(f"read stage {stage} of API {api_id}",
                            lambda: self.client("apigateway").get_stage(restApiId=api_id, stageName=stage))

    def put_proxy_method(self, api_id: str, resource_id: str, uri: str, api_key_required: bool = False,
                         authorization: str = "NONE") -> None:
        """ANY + AWS_PROXY integration on one resource (the workshop's Step 4 by hand), requiring an API key or
        not, with this AuthorizationType (NONE, or AWS_IAM).

        A method whose key requirement or authorization differs is deleted and made again (UpdateMethod is not in
        the emulator);
        the stage serves its snapshot until the next deployment, so callers see the change only then.
        """
        gw = self.client("apigateway")
        with self.translate(f"wire API {api_id}"):
            method: dict | None
            try:
                method = gw.get_method(restApiId=api_id, resourceId=resource_id, httpMethod="ANY")
            except ClientError as exc:
                if not is_missing(exc):
                    raise
                method = None
            if method is not None and (bool(method.get("apiKeyRequired")) != api_key_required or
                                       (method.get("authorizationType") or "NONE") != authorization):
                gw.delete_method(restApiId=api_id, resourceId=resource_id, httpMethod="ANY")
                method = None
            if method is None:
                gw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="ANY",
                              authorizationType=authorization, apiKeyRequired=api_key_required)
            gw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod="ANY",
                               type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)

    def api_keys_named(self, prefix: str) -> list[dict]:
        """API keys whose name starts with ``prefix``, values included (the caller decides what to show)."""
        with self.translate(f"read the API keys named {prefix}*"):
            pages = self.client("apigateway").get_paginator("get_api_keys").paginate(
                nameQuery=prefix, includeValues=True)
            return [k for page in pages for k in page.get("items", []) if str(k.get("name", "")).startswith(prefix)]

    def stage_deployed_at(self, api_id: str, stage: str) -> Any | None:
        """When the deployment the stage serves was created (a datetime), None without the stage."""
        gw = self.client("apigateway")
        try:
            with self.translate(f"read stage {stage} of API {api_id}"):
                deployment = gw.get_stage(restApiId=api_id, stageName=stage).get("deploymentId")
                if not deployment:
                    return None
                return gw.get_deployment(restApiId=api_id, deploymentId=deployment).get("createdDate")
        except NotFoundError:
            return None

    def create_deployment(self, api_id: str, stage: str) -> str:
        with self.translate(f"deploy API {api_id} to stage {stage}"):
            return self.client("apigateway").create_deployment(
                restApiId=api_id, stageName=stage, description="Deployed by wildrydes.")["id"]

    def log_group_exists(self, name: str) -> bool:
        with self.translate(f"read log group {name}"):
            groups = self.client("logs").describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
        return any(group.get("logGroupName") == name for group in groups)

    def log_events(self, group: str, start_ms: int, filter_pattern: str | None = None,
                   next_token: str | None = None) -> dict:
        """One page of FilterLogEvents; a missing group raises NotFoundError."""
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
        if filter_pattern:
            kwargs["filterPattern"] = filter_pattern
        if next_token:
            kwargs["nextToken"] = next_token
        with self.translate(f"read log group {group}"):
            return self.client("logs").filter_log_events(**kwargs)
