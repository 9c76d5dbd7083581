"""Does a stack update change what stage ``prod`` should serve? (API Gateway stage snapshots)

Why: a REST API stage serves the deployment it points to, a snapshot of the
API's resources and methods at CreateDeployment time. ``ProdDeployment`` in
function.yml is created once (AWS::ApiGateway::Deployment is immutable), so a
template update that changes methods or routes updates the API but not what
``prod`` serves. deploy compares the API part of the old and new templates and
creates a new deployment of ``prod`` when it differs. moto applies no
API changes, which is why this was never seen before.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import yaml

LOG = logging.getLogger(__name__)

# Resource types that are part of what a stage snapshots (not the Deployment/Stage themselves).
_NOT_SNAPSHOTTED = {"AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage"}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, !GetAtt...) kept as {tag: value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _tag)


def api_definition(body: str | None) -> str | None:
    """The template's API resources and methods, canonical (None when it cannot be read)."""
    if not body:
        return None
    try:
        template = yaml.load(body, Loader=_CfnLoader)
    except yaml.YAMLError as exc:
        LOG.debug("template not readable as YAML: %s", exc)
        return None
    resources = (template or {}).get("Resources") or {}
    api = {name: spec for name, spec in resources.items() if isinstance(spec, dict)
           and str(spec.get("Type", "")).startswith("AWS::ApiGateway::") and spec.get("Type") not in _NOT_SNAPSHOTTED}
    return json.dumps(api, sort_keys=True, default=str)


def touches_api(old_body: str | None, new_body: str | None) -> bool:
    """True when the update changes what the stage should serve (or when that cannot be told)."""
    old, new = api_definition(old_body), api_definition(new_body)
    return old is None or new is None or old != new
