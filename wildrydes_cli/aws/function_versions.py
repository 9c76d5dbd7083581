"""The AWS wrapper's Lambda version and alias intents (``Aws`` inherits them): publish, alias, its weights.

Why apart from client.py: a canary is one concern (freeze what is served as a version,
freeze the candidate as another, split the traffic between them with a weighted alias)
and it has timing rules of its own. Lambda refuses to publish while the function's last
update is in progress (ResourceConflictException), and a version it publishes starts
``Pending`` until it is ``Active`` (the CLI's ``published-version-active`` waiter), so
both are waited for here, in the wrapper's one polling loop. The alias's weights are
fractions (AdditionalVersionWeights, 0.0-1.0 to one other version); the caller speaks in
percent.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from wildrydes_cli.errors import AwsError, NotFoundError
from wildrydes_cli.results import CanaryState

LOG = logging.getLogger(__name__)

ALIAS = "live"   # the alias API Gateway invokes once a canary has started


class FunctionVersionIntents:
    """Mixed into ``Aws``: ``client``, ``translate``, ``poll_until``, ``wait_function`` and ``function_config`` come
    from there."""

    client: Any
    translate: Any
    poll_until: Any
    wait_function: Any
    function_config: Any

    def publish_version(self, name: str, description: str, timeout: float = 120.0, poll: float = 1.0) -> str:
        """Freeze $LATEST (code and configuration, MODEL_PATH with it) as a version, Active; its number.

        Lambda returns the newest version instead when nothing changed since it was published.
        """
        self.wait_function(name)   # publishing during an update is a ResourceConflictException
        with self.translate(f"publish a version of {name}"):
            version = str(self.client("lambda").publish_version(FunctionName=name,
                                                                Description=description[:256])["Version"])
        state: dict = {}

        def active() -> bool:
            nonlocal state
            state = self.version_config(name, version) or {}
            return state.get("State", "Active") not in ("Pending",)

        self.poll_until(active, lambda: f"Version {version} of {name} still Pending", "try again in a minute",
                        timeout=timeout, poll=poll)
        if state.get("State") == "Failed":
            raise AwsError(f"Version {version} of {name} failed: {state.get('StateReason', 'no reason given')}")
        return version

    def version_config(self, name: str, qualifier: str) -> dict | None:
        try:
            with self.translate(f"read version {qualifier} of {name}"):
                return self.client("lambda").get_function_configuration(FunctionName=name, Qualifier=qualifier)
        except NotFoundError:
            return None

    def alias(self, name: str, alias: str = ALIAS) -> dict | None:
        try:
            with self.translate(f"read alias {alias} of {name}"):
                return self.client("lambda").get_alias(FunctionName=name, Name=alias)
        except NotFoundError:
            return None

    def point_alias(self, name: str, version: str, canary: tuple[str, int] | None = None,
                    alias: str = ALIAS) -> str:
        """The alias on ``version``, with ``canary`` = (version, percent) of the requests elsewhere; its ARN.

        One call (CreateAlias the first time, UpdateAlias after): the switch is atomic for callers.
        """
        weights = {canary[0]: round(canary[1] / 100, 2)} if canary else {}
        routing = {"AdditionalVersionWeights": weights}
        with self.translate(f"point alias {alias} of {name} at version {version}"):
            if self.alias(name, alias) is None:
                answer = self.client("lambda").create_alias(FunctionName=name, Name=alias, FunctionVersion=version,
                                                            RoutingConfig=routing)
            else:
                answer = self.client("lambda").update_alias(FunctionName=name, Name=alias, FunctionVersion=version,
                                                            RoutingConfig=routing)
        return str(answer["AliasArn"])

    def qualified_policy(self, name: str, qualifier: str) -> dict:
        try:
            with self.translate(f"read the resource policy of {name}:{qualifier}"):
                return json.loads(self.client("lambda").get_policy(FunctionName=name, Qualifier=qualifier)["Policy"])
        except NotFoundError:
            return {"Statement": []}

    def add_qualified_invoke_permission(self, name: str, qualifier: str, source_arn: str) -> None:
        """Let API Gateway invoke the alias (a permission on the function does not cover its aliases)."""
        with self.translate(f"allow API Gateway to invoke {name}:{qualifier}"):
            self.client("lambda").add_permission(
                FunctionName=name, Qualifier=qualifier, StatementId=f"wildrydes-{uuid.uuid4().hex[:12]}",
                Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com", SourceArn=source_arn)

    def canary_state(self, name: str) -> CanaryState | None:
        """The canary the alias runs (a weight to a second version), or None."""
        found = self.alias(name)
        weights = ((found or {}).get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if not found or not weights:
            return None
        candidate, share = next(iter(weights.items()))
        stable = str(found["FunctionVersion"])
        return CanaryState(function_name=name, alias_arn=str(found["AliasArn"]), stable_version=stable,
                           candidate_version=str(candidate), percent=int(round(float(share) * 100)),
                           stable_model=self._model_of(name, stable), candidate_model=self._model_of(name, candidate))

    def _model_of(self, name: str, version: str) -> str | None:
        config = self.version_config(name, version) or {}
        return ((config.get("Environment") or {}).get("Variables") or {}).get("MODEL_PATH")
