"""Names a CloudFormation template gives its resources, resolved as CloudFormation resolves them.

For two rules of the real-AWS layer (behaviours 10 and 11: stack_behaviour.py), checked before moto
sees a CreateStack/UpdateStack: which log group it would create that exists already, and which
function role it names that does not exist. Only the forms templates use for names: a literal, a
Ref, a Sub of parameters, pseudo parameters and resources the stack already has, an If; a
resource's Condition is evaluated (Equals, Not, And, Or, Condition).
"""
from __future__ import annotations

import re
from typing import Any, Callable


def _context(raw: Callable[[str], Any], region: str, params: dict,
             operation: str) -> tuple[dict, dict[str, str], dict[str, str]] | None:
    """(template, values a name may use, the stack's own resources' physical ids), None without a template."""
    from cfnlint.decode import decode_str
    template, _ = decode_str(params.get("TemplateBody") or "{}")
    if not template:
        return None
    name = params.get("StackName", "")
    owned: dict[str, str] = {}
    if operation == "UpdateStack":
        resources = raw("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
        owned = {r["LogicalResourceId"]: r.get("PhysicalResourceId") or "" for r in resources
                 if r.get("LogicalResourceId")}
    values = {k: str(v.get("Default", "")) for k, v in (template.get("Parameters") or {}).items()}
    values.update({p["ParameterKey"]: p.get("ParameterValue", "") for p in params.get("Parameters", [])})
    values.update({"AWS::Region": region, "AWS::AccountId": "123456789012", "AWS::StackName": name,
                   "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"})
    values.update({k: v for k, v in owned.items() if v})
    return template, values, owned


def _made(template: dict, values: dict[str, str], kind: str) -> list[tuple[str, dict]]:
    """(logical id, properties) of the template's resources of ``kind`` whose Condition holds."""
    conditions = template.get("Conditions") or {}
    return [(logical, spec.get("Properties") or {}) for logical, spec in (template.get("Resources") or {}).items()
            if spec.get("Type") == kind
            and ("Condition" not in spec or _condition(conditions, spec["Condition"], values))]


def existing_log_group(raw: Callable[[str], Any], region: str, params: dict,
                       operation: str) -> tuple[str, str] | None:
    """(logical id, name) of a log group the template would create that already exists outside the stack."""
    found = _context(raw, region, params, operation)
    if found is None:
        return None
    template, values, owned = found
    logs = raw("logs")
    for logical, properties in _made(template, values, "AWS::Logs::LogGroup"):
        group = None if logical in owned else _resolve(properties.get("LogGroupName"), values, template)
        if group and any(g["logGroupName"] == group for g in
                         logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])):
            return logical, group
    return None


def missing_role(raw: Callable[[str], Any], region: str, params: dict, operation: str) -> tuple[str, str] | None:
    """(logical id, role ARN) of a function whose role ARN names no existing role (its path included)."""
    found = _context(raw, region, params, operation)
    if found is None:
        return None
    template, values, _ = found
    roles = None
    for logical, properties in _made(template, values, "AWS::Lambda::Function"):
        arn = _resolve(properties.get("Role"), values, template)
        if not arn or ":role/" not in arn:
            continue   # a role of this stack (GetAtt), or not resolvable here
        if roles is None:
            roles = {r["Arn"] for page in raw("iam").get_paginator("list_roles").paginate() for r in page["Roles"]}
        if arn not in roles:
            return logical, arn
    return None


def _resolve(value: Any, values: dict[str, str], template: dict) -> str | None:
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (op, args), = value.items()
    if op == "Ref":
        return values.get(args)
    if op == "Fn::Sub" and isinstance(args, str):
        names = re.findall(r"\$\{([^}!]+)\}", args)
        if any(n not in values for n in names):
            return None
        return re.sub(r"\$\{([^}!]+)\}", lambda m: values[m.group(1)], args)
    if op == "Fn::If":
        chosen = args[1] if _condition(template.get("Conditions") or {}, args[0], values) else args[2]
        return _resolve(chosen, values, template)
    return None


def _condition(conditions: dict, name_or_expr: Any, values: dict[str, str]) -> bool:
    expr = conditions.get(name_or_expr) if isinstance(name_or_expr, str) else name_or_expr
    if not isinstance(expr, dict):
        return bool(expr)
    (op, args), = expr.items()
    if op == "Fn::Equals":
        return _resolve(args[0], values, {}) == _resolve(args[1], values, {})
    if op == "Fn::Not":
        return not _condition(conditions, args[0], values)
    if op == "Fn::And":
        return all(_condition(conditions, a, values) for a in args)
    if op == "Fn::Or":
        return any(_condition(conditions, a, values) for a in args)
    if op == "Condition":
        return _condition(conditions, args, values)
    return True
