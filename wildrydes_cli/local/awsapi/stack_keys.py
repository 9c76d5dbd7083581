"""A stack's API keys, usage plans and their association on the local target, made from its template.

Why: moto's CloudFormation skips ``AWS::ApiGateway::ApiKey``, ``UsagePlan`` and
``UsagePlanKey`` (with a warning, NOTES-moto.md), so a stack deployed with
``--auth api-key`` would have methods that require a key and no key to send.
After moto accepts a CreateStack or UpdateStack, this module reads the
template's keys, plans and associations (conditions evaluated; names, stages,
throttling and quota resolved from the stack's parameters and resources) and
makes what CloudFormation would have made: a key whose name changed is
replaced (a new value; the old key is deleted, as CloudFormation replaces a
key on a new ``Name``), a plan's limits change in place, a resource whose
condition became false goes; after a DeleteStack everything the stack had goes.

They are made with API Gateway calls through the journal (``persist.py``), so
``aws apigateway get-api-keys`` shows them and a restart replays them with the
same ids and value, like any call a user makes. What belongs to which stack is
tagged as CloudFormation tags what it makes (``aws:cloudformation:stack-name``,
``aws:cloudformation:logical-id``). Live traffic only, in front of the journal:
the replay replays the API Gateway calls, not this.
"""
from __future__ import annotations

import json
import logging
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from wildrydes_cli.local.awsapi import moto_backends, stack_rules
from wildrydes_cli.local.http import HttpRequest, HttpResponse

LOG = logging.getLogger(__name__)

MotoCall = Callable[[HttpRequest, int, "tuple[str, int] | None"], HttpResponse]
STACK_TAG, LOGICAL_TAG = "aws:cloudformation:stack-name", "aws:cloudformation:logical-id"
_ACTIONS = ("CreateStack", "UpdateStack", "DeleteStack")
_KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 40   # API Gateway's generated keys are 40 letters and digits


@dataclass(frozen=True)
class KeySpec:
    logical: str
    name: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class PlanSpec:
    logical: str
    name: str
    description: str
    stages: tuple[tuple[str, str], ...]
    rate: float | None
    burst: int | None
    quota_limit: int | None
    quota_period: str | None


@dataclass(frozen=True)
class Wanted:
    """What a stack's template says should exist; ``links`` are (plan logical id, key logical id)."""

    keys: tuple[KeySpec, ...] = ()
    plans: tuple[PlanSpec, ...] = ()
    links: tuple[tuple[str, str], ...] = ()


def wanted(template: dict, values: dict[str, str]) -> Wanted:
    """The template's keys, plans and associations whose condition holds, resolved with ``values``."""
    conditions = template.get("Conditions") or {}
    keys, plans, links = [], [], []
    for logical, spec in (template.get("Resources") or {}).items():
        if not isinstance(spec, dict) or not str(spec.get("Type", "")).startswith("AWS::ApiGateway::"):
            continue
        if "Condition" in spec and not stack_rules.condition(conditions, spec["Condition"], values):
            continue
        props = _value(spec.get("Properties") or {}, values, conditions)
        props = props if isinstance(props, dict) else {}
        if spec["Type"] == "AWS::ApiGateway::ApiKey":
            keys.append(KeySpec(logical, str(props.get("Name") or f"{values.get('AWS::StackName')}-{logical}"),
                                str(props.get("Description") or ""), _true(props.get("Enabled", False))))
        elif spec["Type"] == "AWS::ApiGateway::UsagePlan":
            throttle: dict = props["Throttle"] if isinstance(props.get("Throttle"), dict) else {}
            quota: dict = props["Quota"] if isinstance(props.get("Quota"), dict) else {}
            stages = tuple((str(s.get("ApiId")), str(s.get("Stage"))) for s in props.get("ApiStages") or []
                           if isinstance(s, dict))
            plans.append(PlanSpec(logical, str(props.get("UsagePlanName") or f"{values.get('AWS::StackName')}-"
                                               f"{logical}"), str(props.get("Description") or ""), stages,
                                  _float(throttle.get("RateLimit")), _int(throttle.get("BurstLimit")),
                                  _int(quota.get("Limit")), str(quota["Period"]).upper() if quota.get("Period")
                                  else None))
        elif spec["Type"] == "AWS::ApiGateway::UsagePlanKey":
            raw = spec.get("Properties") or {}
            plan, key = _ref(raw.get("UsagePlanId")), _ref(raw.get("KeyId"))
            if plan and key:
                links.append((plan, key))
    return Wanted(tuple(keys), tuple(plans), tuple(links))


def _ref(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) and isinstance(value.get("Ref"), str) else None


def _value(value: Any, values: dict[str, str], conditions: dict) -> Any:
    """A property resolved: nested maps and lists, Fn::If between them, AWS::NoValue as None."""
    if isinstance(value, list):
        return [v for v in (_value(item, values, conditions) for item in value) if v is not None]
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) == "Fn::If":
        args = value["Fn::If"]
        if isinstance(args, list) and len(args) == 3:
            return _value(args[1] if stack_rules.condition(conditions, args[0], values) else args[2], values,
                          conditions)
        return None
    if value == {"Ref": "AWS::NoValue"}:
        return None
    if isinstance(value, dict) and not (len(value) == 1 and (next(iter(value)) == "Ref" or
                                                             next(iter(value)).startswith("Fn::"))):
        resolved = {k: _value(v, values, conditions) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not None}
    if isinstance(value, (bool, int, float)):
        return value
    return stack_rules.resolve(value, values, conditions)


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


class StackKeys:
    """Wraps the call that carries CloudFormation requests (``StackRules.call``): after a stack
    operation moto accepted, its keys and plans are made through ``journaled`` (the journal's call)."""

    def __init__(self, call: MotoCall, journaled: MotoCall) -> None:
        self._call, self._journaled = call, journaled

    def call(self, request: HttpRequest, port: int, client: tuple[str, int] | None = None) -> HttpResponse:
        form = stack_rules.cloudformation_form(request)
        action = form.get("Action") if form is not None else None
        if form is None or action not in _ACTIONS:
            return self._call(request, port, client)
        scope = stack_rules.SCOPE.search(request.header("authorization") or "")
        assert scope is not None   # cloudformation_form found it
        access_key, region = scope.group(1), scope.group(2)
        account = moto_backends.account_of(access_key)
        before = moto_backends.stack_facts(account, region, form.get("StackName", ""))
        response = self._call(request, port, client)
        if not 200 <= response.status < 300:
            return response
        name = _stack_name(before) if before is not None else form.get("StackName", "")
        try:
            after = None if action == "DeleteStack" else moto_backends.stack_facts(account, region, name or "")
            target = Wanted()
            if after is not None:
                template = moto_backends.parse_template(after.template) if after.template else {}
                values = dict(after.parameters)
                values.update(stack_rules.pseudo_parameters(account, region, name or ""))
                values.update({k: v for k, v in after.resources.items() if v})
                target = wanted(template, values)
            _Api(self._journaled, port, access_key, region).reconcile(account, name or "", target)
        except Exception:  # noqa: BLE001 - the stack operation stands; what its keys lack is logged
            LOG.exception("%s %s: its API keys and usage plans could not be made", action, name)
        return response


def _stack_name(facts: moto_backends.StackFacts) -> str:
    """arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID -> NAME."""
    parts = facts.stack_id.split("/")
    return parts[1] if len(parts) >= 3 else facts.stack_id


class _Api:
    """API Gateway calls, as a client signed with ``access_key`` would send them (routed by their scope)."""

    def __init__(self, call: MotoCall, port: int, access_key: str, region: str) -> None:
        self._call, self._port, self._access_key, self._region = call, port, access_key, region

    def send(self, method: str, path: str, body: dict | None = None) -> dict:
        date = time.strftime("%Y%m%d", time.gmtime())
        headers = [("Host", f"127.0.0.1:{self._port}"), ("Content-Type", "application/json"),
                   ("Authorization", f"AWS4-HMAC-SHA256 Credential={self._access_key}/{date}/{self._region}/"
                                     "apigateway/aws4_request, SignedHeaders=host, Signature=0")]
        data = json.dumps(body).encode() if body is not None else b""
        response = self._call(HttpRequest(method, path, "HTTP/1.1", headers, data), self._port, None)
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{method} {path}: HTTP {response.status} {response.body[:300]!r}")
        return json.loads(response.body) if response.body[:1] == b"{" else {}

    def reconcile(self, account: str, stack: str, target: Wanted) -> None:
        my_keys = [k for k in moto_backends.api_keys(account, self._region) if k.tags.get(STACK_TAG) == stack]
        my_plans = [p for p in moto_backends.usage_plans(account, self._region) if p.tags.get(STACK_TAG) == stack]
        key_ids: dict[str, str] = {}
        for spec in target.keys:
            found = next((k for k in my_keys if k.tags.get(LOGICAL_TAG) == spec.logical and k.name == spec.name),
                         None)
            key_ids[spec.logical] = found.key_id if found is not None else self._create_key(stack, spec)
        plan_ids: dict[str, str] = {}
        for spec_plan in target.plans:
            found_plan = next((p for p in my_plans if p.tags.get(LOGICAL_TAG) == spec_plan.logical), None)
            plan_ids[spec_plan.logical] = self._plan(stack, spec_plan, found_plan)
        keep_keys = set(key_ids.values())
        for plan in moto_backends.usage_plans(account, self._region):
            if plan.tags.get(STACK_TAG) != stack:
                continue
            wanted_keys = {key_ids[k] for p, k in target.links if plan_ids.get(p) == plan.plan_id and k in key_ids}
            for key_id in sorted(set(plan.key_ids) - wanted_keys):
                self.send("DELETE", f"/usageplans/{quote(plan.plan_id)}/keys/{quote(key_id)}")
            for key_id in sorted(wanted_keys - set(plan.key_ids)):
                self.send("POST", f"/usageplans/{quote(plan.plan_id)}/keys", {"keyId": key_id, "keyType": "API_KEY"})
        for key in my_keys:
            if key.key_id not in keep_keys:
                self.send("DELETE", f"/apikeys/{quote(key.key_id)}")
                LOG.info("stack %s: API key %s (%s) deleted", stack, key.key_id, key.name)
        for old in my_plans:
            if old.plan_id not in plan_ids.values():
                self.send("DELETE", f"/usageplans/{quote(old.plan_id)}")
                LOG.info("stack %s: usage plan %s deleted", stack, old.plan_id)

    def _create_key(self, stack: str, spec: KeySpec) -> str:
        value = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_LENGTH))
        made = self.send("POST", "/apikeys", {"name": spec.name, "description": spec.description,
                                              "enabled": spec.enabled, "value": value,
                                              "tags": {STACK_TAG: stack, LOGICAL_TAG: spec.logical}})
        LOG.info("stack %s: API key %s (%s) created", stack, made.get("id"), spec.name)
        return str(made["id"])

    def _plan(self, stack: str, spec: PlanSpec, found: moto_backends.UsagePlanFacts | None) -> str:
        throttle = {k: v for k, v in (("rateLimit", spec.rate), ("burstLimit", spec.burst)) if v is not None}
        if found is not None and (found.rate, found.burst) != (spec.rate, spec.burst) and \
                spec.rate is not None and spec.rate != int(spec.rate):
            # moto's UpdateUsagePlan takes whole numbers only: a fractional rate makes the plan anew
            for key_id in found.key_ids:
                self.send("DELETE", f"/usageplans/{quote(found.plan_id)}/keys/{quote(key_id)}")
            self.send("DELETE", f"/usageplans/{quote(found.plan_id)}")
            found = None
        if found is None:
            body: dict[str, Any] = {"name": spec.name, "description": spec.description,
                                    "apiStages": [{"apiId": a, "stage": s} for a, s in spec.stages],
                                    "tags": {STACK_TAG: stack, LOGICAL_TAG: spec.logical}}
            if throttle:
                body["throttle"] = throttle
            if spec.quota_limit is not None:
                body["quota"] = {"limit": spec.quota_limit, "period": spec.quota_period or "DAY"}
            made = self.send("POST", "/usageplans", body)
            LOG.info("stack %s: usage plan %s (%s) created", stack, made.get("id"), spec.name)
            return str(made["id"])
        ops: list[dict[str, str]] = []
        if (found.rate, found.burst) != (spec.rate, spec.burst):
            ops += [{"op": "replace", "path": f"/throttle/{k}", "value": f"{v:g}"} for k, v in throttle.items()]
        if (found.quota_limit, found.quota_period) != (spec.quota_limit, spec.quota_period):
            ops += ([{"op": "replace", "path": "/quota/limit", "value": str(spec.quota_limit)},
                     {"op": "replace", "path": "/quota/period", "value": spec.quota_period or "DAY"}]
                    if spec.quota_limit is not None else [{"op": "remove", "path": "/quota"}])
        for api, stage in set(found.stages) - set(spec.stages):
            ops.append({"op": "remove", "path": "/apiStages", "value": f"{api}:{stage}"})
        for api, stage in set(spec.stages) - set(found.stages):
            ops.append({"op": "add", "path": "/apiStages", "value": f"{api}:{stage}"})
        if ops:
            self.send("PATCH", f"/usageplans/{quote(found.plan_id)}", {"patchOperations": ops})
        return found.plan_id
