"""CloudFormation stacks as moto holds them, for stack_rules.py (what CloudFormation does that moto does not).

A rule resolves the names a template gives from the stack's parameters and resources, and records
a create or update that CloudFormation would fail (its events, its rollback status).

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StackFacts:
    """A stack as moto holds it: what a rule needs to resolve the names its template gives."""

    stack_id: str
    status: str
    template: str
    parameters: dict[str, str]
    resources: dict[str, str]      # logical id -> physical id, of the resources it has made


def parse_template(body: str) -> dict:
    """A template (YAML or JSON) as moto reads it: short tags become their Fn:: / Ref forms."""
    from moto.cloudformation.models import Stack
    parsed = Stack.parse_template(body)
    return parsed if isinstance(parsed, dict) else {}


def _cloudformation(account_id: str, region: str) -> Any | None:
    from moto.cloudformation.models import cloudformation_backends
    per_account = dict.get(cloudformation_backends, account_id)
    return dict.get(per_account, region) if per_account is not None else None


def _live_stack(account_id: str, region: str, name: str) -> Any | None:
    backend = _cloudformation(account_id, region)
    for stack in list(backend.stacks.values()) if backend is not None else []:
        if name in (stack.name, stack.stack_id) and stack.status != "DELETE_COMPLETE":
            return stack
    return None


def stack_facts(account_id: str, region: str, name: str) -> StackFacts | None:
    """The stack named (or with this id), None when there is none (deleted ones are none)."""
    stack = _live_stack(account_id, region, name)
    if stack is None:
        return None
    made = stack.resource_map._parsed_resources
    declared = stack.resource_map._resource_json_map
    resources = {logical: str(getattr(made[logical], "physical_resource_id", None) or "")
                 for logical in list(declared) if made.get(logical) is not None}
    template = stack.template if isinstance(stack.template, str) else ""
    parameters = {str(k): str(v) for k, v in (stack.resource_map.resolved_parameters or {}).items()}
    return StackFacts(stack.stack_id, stack.status, template, parameters, resources)


def fail_stack_operation(account_id: str, region: str, name: str, template: str, create: bool,
                         failed: tuple[str, str, str, str]) -> str:
    """Record a create or update that CloudFormation would fail on one resource and roll back.

    ``failed`` is (logical id, resource type, physical id, reason). An update leaves the stack as
    it was, in UPDATE_ROLLBACK_COMPLETE; a create leaves a stack with no resources, in
    ROLLBACK_COMPLETE. The events are CloudFormation's, oldest first (moto answers newest first).
    Returns the stack id.
    """
    from moto.cloudformation.models import Event, Stack
    from moto.cloudformation.utils import generate_stack_id

    backend = _cloudformation(account_id, region)
    if backend is None:   # moto makes a region's backend on first use: this call is the first
        from moto.cloudformation.models import cloudformation_backends
        backend = cloudformation_backends[account_id][region]
    stack = None if create else _live_stack(account_id, region, name)
    if stack is None:
        stack = Stack(stack_id=generate_stack_id(name, region, account_id), name=name,  # type: ignore[abstract]
                      template={}, parameters={}, account_id=account_id, region_name=region)
        stack.template = template
        backend.stacks[stack.stack_id] = stack
    logical, kind, physical, reason = failed
    verb = "CREATE" if create else "UPDATE"
    rollback = "ROLLBACK" if create else "UPDATE_ROLLBACK"
    rows = [(name, "AWS::CloudFormation::Stack", stack.stack_id, f"{verb}_IN_PROGRESS", "User Initiated"),
            (logical, kind, "", "CREATE_IN_PROGRESS", None),
            (logical, kind, physical, "CREATE_FAILED", reason),
            (name, "AWS::CloudFormation::Stack", stack.stack_id, f"{rollback}_IN_PROGRESS",
             f"The following resource(s) failed to create: [{logical}]." + (" Rollback requested by user."
                                                                             if create else "")),
            (name, "AWS::CloudFormation::Stack", stack.stack_id, f"{rollback}_COMPLETE", None)]
    for row_logical, row_type, row_physical, status, why in rows:
        stack.events.append(Event(stack_id=stack.stack_id, stack_name=name, logical_resource_id=row_logical,
                                  physical_resource_id=row_physical, resource_type=row_type,
                                  resource_status=status, resource_status_reason=why, resource_properties=None))
    stack.status = f"{rollback}_COMPLETE"
    return str(stack.stack_id)


def apply_role_updates(account_id: str, region: str, name: str) -> list[str]:
    """After an update: each ``AWS::IAM::Role`` of the stack gets the inline policies and trust policy its
    template now gives (CloudFormation updates both in place, "Update requires: No interruption"; moto
    5.2's update of a role changes only its description). Returns the roles' names it rewrote.

    The documents are resolved by moto's own template parser against the stack's resources, and kept
    as JSON text, as IAM's PutRolePolicy keeps them (moto keeps CloudFormation's as a dict). Only the
    policies the role's ``Policies`` names are written: others on the role stay, since they may come
    from an ``AWS::IAM::Policy`` resource (function.yml's DecryptModels) or from PutRolePolicy. A
    policy a new template no longer names stays too (CloudFormation would delete it; no template of
    ours drops one).
    """
    import json

    from moto.cloudformation.parsing import clean_json
    from moto.iam.models import Role

    stack = _live_stack(account_id, region, name)
    if stack is None:
        return []
    resource_map = stack.resource_map
    made = resource_map._parsed_resources
    rewritten = []
    for logical, declared in list(resource_map._resource_json_map.items()):
        role = made.get(logical)
        if not isinstance(role, Role) or not isinstance(declared, dict):
            continue
        properties = clean_json(declared.get("Properties") or {}, resource_map)
        policies = {str(p["PolicyName"]): p["PolicyDocument"] for p in properties.get("Policies") or []
                    if isinstance(p, dict) and "PolicyName" in p and "PolicyDocument" in p}
        role.policies.update({key: value if isinstance(value, str) else json.dumps(value)
                              for key, value in policies.items()})
        trust = properties.get("AssumeRolePolicyDocument")
        if trust is not None:
            role.assume_role_policy_document = trust if isinstance(trust, str) else json.dumps(trust)
        rewritten.append(role.name)
    return rewritten
