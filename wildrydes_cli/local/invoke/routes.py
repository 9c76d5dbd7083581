"""Find what an execute-api request should run, from the emulated API Gateway.

The daemon hosts moto in the same process, so routes are read straight from
moto's in-memory API Gateway backends through ``moto_backends`` (no HTTP call
to ourselves, a few dict lookups per request). What ``deploy`` changed is visible on the next request.

Matching follows API Gateway: a literal path segment beats ``{param}``, which
beats a greedy ``{proxy+}``; a method falls back to ``ANY``; anything not found
(API, stage, resource, method) is ``None``, which the gateway answers with 403.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import unquote

from wildrydes_cli.local.awsapi import moto_backends

LOG = logging.getLogger(__name__)

_LAMBDA_URI = re.compile(r"/functions/(?P<arn>arn:[^/]+)/invocations")


@dataclass(frozen=True)
class Resource:
    """An API resource reduced to what matching needs."""

    resource_id: str
    path: str                      # e.g. "/", "/breeds/{breed}"
    methods: dict                  # method name -> (integration type, uri) or None


@dataclass(frozen=True)
class Route:
    """A matched request: the resource, its path parameters and the Lambda to call."""

    api_id: str
    account_id: str
    region: str
    stage: str
    resource_id: str
    resource_path: str
    path_parameters: dict[str, str] | None
    stage_variables: dict[str, str] | None
    integration_type: str
    function_arn: str | None
    api_key_required: bool = False
    authorization_type: str = "NONE"   # AWS_IAM: SigV4-signed callers only


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _match(template: str, segments: list[str]) -> tuple[tuple, dict[str, str]] | None:
    """Match raw path segments to a resource template; return (score, params) or None."""
    parts = _segments(template)
    params: dict[str, str] = {}
    literal = 0
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[i:]
            if not rest:
                return None
            params[part[1:-2]] = unquote("/".join(rest))
            return (0, literal, len(parts)), params
        if i >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = unquote(segments[i])
        elif part != unquote(segments[i]):
            return None
        else:
            literal += 1
    if len(parts) != len(segments):
        return None
    return (1, literal, len(parts)), params


def match_resource(resources: list[Resource], raw_path: str) -> tuple[Resource, dict[str, str]] | None:
    """The best resource for a raw (still percent-encoded) path below the stage."""
    segments = _segments(raw_path)
    best = None
    for resource in resources:
        found = _match(resource.path, segments)
        if found and (best is None or found[0] > best[0]):
            best = (found[0], resource, found[1])
    return (best[1], best[2]) if best else None


def function_arn_from_uri(uri: str | None) -> str | None:
    """``arn:aws:apigateway:...:lambda:path/2015-03-31/functions/<ARN>/invocations`` -> ARN."""
    if not uri:
        return None
    found = _LAMBDA_URI.search(uri)
    return found.group("arn") if found else None


# --- the emulated API Gateway, through the one moto adapter ----------------------------

_WHERE: dict[str, tuple[str, str]] = {}


def _find_api(api_id: str):
    """(account_id, region, RestAPI) for an API id; a known id's location is remembered (two dict lookups)."""
    where = _WHERE.get(api_id)
    if where is not None:
        api = moto_backends.rest_api_in(where[0], where[1], api_id)
        if api is not None:
            return where[0], where[1], api
        _WHERE.pop(api_id, None)
    found = moto_backends.find_rest_api(api_id)
    if found is not None:
        _WHERE[api_id] = (found[0], found[1])
    return found


def _resources(api) -> list[Resource]:
    by_id = {r.resource_id: r for r in moto_backends.api_resources(api)}
    paths: dict[str, str] = {}

    def path_of(rid: str) -> str:
        if rid in paths:
            return paths[rid]
        res = by_id[rid]
        if not res.parent_id or res.parent_id not in by_id:
            result = "/"
        else:
            parent = path_of(res.parent_id)
            result = parent.rstrip("/") + "/" + (res.path_part or "")
        paths[rid] = result
        return result

    return [Resource(rid, path_of(rid), res.methods) for rid, res in by_id.items()]


def resolve(api_id: str, stage: str, method: str, raw_path: str) -> Route | None:
    """The route for a request to ``/restapis/{api_id}/{stage}/_user_request_{raw_path}``, or None."""
    found = _find_api(api_id)
    if found is None:
        return None
    account_id, region, api = found
    variables = moto_backends.stage_variables(api, stage)
    if variables is None:
        return None
    matched = match_resource(_resources(api), raw_path or "/")
    if matched is None:
        return None
    resource, params = matched
    integration = resource.methods.get(method.upper()) or resource.methods.get("ANY")
    if integration is None:
        return None
    integration_type, uri, key_required, authorization = integration
    return Route(api_id=api_id, account_id=account_id, region=region, stage=stage,
                 resource_id=resource.resource_id, resource_path=resource.path,
                 path_parameters=params or None, stage_variables=variables or None,
                 integration_type=str(integration_type or "").upper(),
                 function_arn=function_arn_from_uri(uri), api_key_required=key_required,
                 authorization_type=authorization)
