"""IAM policy documents, parsed and evaluated as IAM evaluates them (the local target's access checks).

Why our own evaluator: moto's (``moto/iam/access_control.py``, 5.2) matches
``*`` only (``?`` is literal and ``.`` a regex wildcard), answers an explicit
Deny for an Allow whose condition does not hold, checks conditions only for
the trust relationship, and raises on a trust policy whose principal is a
Service. The local target needs the documented behaviour, because what it
reports must be what AWS would do (IAM User Guide, "Policy evaluation logic"
and "IAM JSON policy elements: Condition operators"). It is a module of its
own, with no I/O, so any check can reuse it: the function role's S3 calls
today, API Gateway's ``execute-api:Invoke`` tomorrow.

What is evaluated, statement by statement:
- ``Effect``; ``Action``/``NotAction`` (case-insensitive, ``*`` and ``?``);
  ``Resource``/``NotResource`` (each of the six colon-separated parts of an
  ARN matched on its own, ``*`` and ``?`` within a part, the resource part may
  hold colons and slashes); absent means any resource (trust policies);
- ``Principal``/``NotPrincipal`` against the principal a request names
  (``"*"``, ``AWS`` ARNs or account ids, ``Service``, ``Federated``) when the
  caller gives one (resource-based and trust policies); a statement with a
  principal never applies to an identity-policy check;
- ``Condition``: every operator and every key must hold (AND), any value of a
  key may match (OR); String*, Arn*, Bool, Null, Numeric*, IpAddress and
  NotIpAddress, with ``...IfExists`` and the ``ForAnyValue:``/``ForAllValues:``
  qualifiers. A key missing from the request makes the condition false,
  except for the negated operators (true), ``...IfExists`` (true),
  ``ForAllValues:`` (true) and ``Null``;
- policy variables (``${aws:username}``, ``${key, 'default'}``, ``${*}``,
  ``${?}``, ``${$}``) in resources and condition values of version
  2012-10-17 policies; a variable with no single value in the request and no
  default makes that resource or value match nothing.
The matching itself (wildcards, ARNs, variables, operators) is
``iam_matching.py``. Decision: an explicit Deny in any statement wins; else an
Allow; else the implicit deny. Anything this module does not evaluate (Date and Binary
operators, an unknown operator, a malformed document) is a ``PolicyError`` at
parse time, so a caller fails closed and says why instead of guessing.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wildrydes_cli.local.awsapi.iam_matching import (
    OPERATORS,
    QUALIFIERS,
    Condition,
    condition_holds,
    glob_match,
    pattern_matches,
)

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"
MAX_DOCUMENT_CHARS = 128 * 1024   # IAM's own limits are far lower (10,240 for a managed policy)

_ACCOUNT = re.compile(r"^\d{12}$")


class PolicyError(ValueError):
    """A policy document this module cannot evaluate faithfully; the message names what and where."""


@dataclass(frozen=True)
class Statement:
    effect: str
    sid: str = ""
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    not_principals: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Policy:
    name: str                       # where it comes from, for messages: "inline policy ReadModels of role r"
    statements: tuple[Statement, ...]
    variables: bool = True          # version 2012-10-17 (policy variables are substituted)


@dataclass(frozen=True)
class Request:
    """What is asked: the action, the resource's ARN, the condition keys (lower-cased names) and the principal.

    ``principal`` maps a principal type ("AWS", "Service", ...) to the identities
    the caller is (a role session: its assumed-role ARN and its role's ARN); it
    matters only for policies with a Principal element.
    """

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]]
    principal: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Decision:
    effect: str                     # ALLOW, EXPLICIT_DENY or IMPLICIT_DENY
    policy: str | None = None       # the deciding policy's name (None for the implicit deny)
    sid: str | None = None

    @property
    def allowed(self) -> bool:
        return self.effect == ALLOW


def context(**keys: str | Sequence[str] | None) -> dict[str, tuple[str, ...]]:
    """Condition keys for a Request: ``context(**{"s3:prefix": "breeds/"})``; None values are left out."""
    out: dict[str, tuple[str, ...]] = {}
    for name, value in keys.items():
        if value is not None:
            out[name.lower()] = (value,) if isinstance(value, str) else tuple(value)
    return out


# --- parsing ----------------------------------------------------------------------------

class ParsedPolicies:
    """Parsed policies kept by (name, document text), at most ``limit`` (then forgotten all at once).

    A policy is parsed again only when its text changes, so a check per request costs a dict
    lookup; the bound keeps documents that churn (a role edited in a loop) from growing it.
    """

    def __init__(self, limit: int = 512) -> None:
        self.limit = limit
        self._parsed: dict[tuple[str, str], Policy] = {}

    def get(self, name: str, text: str) -> Policy:
        cached = self._parsed.get((name, text))
        if cached is None:
            if len(self._parsed) >= self.limit:
                self._parsed.clear()
            cached = self._parsed[(name, text)] = parse(text, name)
        return cached


def parse(document: str | Mapping[str, Any], name: str = "policy") -> Policy:
    """A policy from its JSON text (or the decoded mapping); ``PolicyError`` naming the problem."""
    if isinstance(document, str):
        if len(document) > MAX_DOCUMENT_CHARS:
            raise PolicyError(f"{name} is over {MAX_DOCUMENT_CHARS} characters")
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise PolicyError(f"{name} is not JSON: {exc}") from None
    if not isinstance(document, Mapping):
        raise PolicyError(f"{name} is not a JSON object")
    raw = document.get("Statement")
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{name} has no Statement")
    version = document.get("Version", "2008-10-17")
    statements = tuple(_statement(s, f"{name}, statement {i + 1}") for i, s in enumerate(raw))
    return Policy(name, statements, variables=version == "2012-10-17")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{where} must be a string or a list of strings")
    return tuple(values)


def _principal(value: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value == "*":
        return (("*", ("*",)),)
    if not isinstance(value, Mapping) or not value:
        raise PolicyError(f"{where} must be \"*\" or an object such as {{\"AWS\": ARN}} or {{\"Service\": NAME}}")
    out = []
    for kind, names in value.items():
        given = _strings(names, f"{where}.{kind}")
        if kind == "AWS":   # an account id stands for the account's root ARN
            given = tuple(f"arn:aws:iam::{v}:root" if _ACCOUNT.match(v) else v for v in given)
        out.append((str(kind), given))
    return tuple(out)


def _statement(raw: Any, where: str) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} is not an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be Allow or Deny, not {str(effect)[:40]!r}")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where} needs exactly one of Action and NotAction")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError(f"{where} has both Resource and NotResource")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError(f"{where} has both Principal and NotPrincipal")

    def opt(key: str) -> tuple[str, ...] | None:
        return _strings(raw[key], f"{where}: {key}") if key in raw else None

    return Statement(
        effect=effect, sid=str(raw.get("Sid", "")), actions=opt("Action"), not_actions=opt("NotAction"),
        resources=opt("Resource"), not_resources=opt("NotResource"),
        principals=_principal(raw["Principal"], f"{where}: Principal") if "Principal" in raw else None,
        not_principals=_principal(raw["NotPrincipal"], f"{where}: NotPrincipal") if "NotPrincipal" in raw else None,
        conditions=_conditions(raw.get("Condition"), where))


def _conditions(raw: Any, where: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: Condition must be an object")
    out = []
    for full, keys in raw.items():
        qualifier, _, operator = str(full).rpartition(":")
        if qualifier and qualifier not in QUALIFIERS:
            raise PolicyError(f"{where}: unknown condition qualifier {qualifier!r}")
        if_exists = operator.endswith("IfExists") and operator != "IfExists"
        base = operator[:-len("IfExists")] if if_exists else operator
        if base not in OPERATORS:
            raise PolicyError(f"{where}: condition operator {full!r} is not evaluated by the local target "
                              f"(it evaluates {', '.join(sorted(OPERATORS))}, with ...IfExists and "
                              "ForAnyValue:/ForAllValues:)")
        if base == "Null" and if_exists:
            raise PolicyError(f"{where}: NullIfExists is not an operator")
        if not isinstance(keys, Mapping) or not keys:
            raise PolicyError(f"{where}: {full} must map condition keys to values")
        for key, values in keys.items():
            listed = values if isinstance(values, list) else [values]
            if not listed or not all(isinstance(v, (str, int, float, bool)) for v in listed):
                raise PolicyError(f"{where}: {full} {key} must be a value or a list of values")
            text = tuple(("true" if v else "false") if isinstance(v, bool) else str(v) for v in listed)
            out.append(Condition(base, str(key).lower(), text, qualifier or None, if_exists))
    return tuple(out)


# --- matching ---------------------------------------------------------------------------

def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(glob_match(p, action, ignore_case=True) for p in patterns)


def _principal_matches(element: tuple[tuple[str, tuple[str, ...]], ...],
                       principal: Mapping[str, tuple[str, ...]]) -> bool:
    for kind, names in element:
        if kind == "*":
            return True
        given = principal.get(kind, ())
        if any(name == "*" and given for name in names) or any(name in given for name in names):
            return True
    return False


# --- evaluation -------------------------------------------------------------------------

def statement_applies(statement: Statement, policy: Policy, request: Request) -> bool:
    """Whether ``statement`` speaks about ``request`` (its effect aside)."""
    if statement.actions is not None and not _action_matches(statement.actions, request.action):
        return False
    if statement.not_actions is not None and _action_matches(statement.not_actions, request.action):
        return False
    ctx = request.context
    if statement.resources is not None and \
            not any(pattern_matches(p, request.resource, policy.variables, ctx, True) for p in statement.resources):
        return False
    if statement.not_resources is not None and \
            any(pattern_matches(p, request.resource, policy.variables, ctx, True) for p in statement.not_resources):
        return False
    if statement.principals is not None or statement.not_principals is not None:
        if request.principal is None:
            return False
        if statement.principals is not None and not _principal_matches(statement.principals, request.principal):
            return False
        if statement.not_principals is not None and \
                _principal_matches(statement.not_principals, request.principal):
            return False
    return all(condition_holds(c, policy.variables, ctx) for c in statement.conditions)


def evaluate(policies: Iterable[Policy], request: Request) -> Decision:
    """IAM's decision over ``policies`` together: an explicit Deny wins, then an Allow, else implicit deny."""
    allowed: Decision | None = None
    for policy in policies:
        for statement in policy.statements:
            if not statement_applies(statement, policy, request):
                continue
            if statement.effect == "Deny":
                return Decision(EXPLICIT_DENY, policy.name, statement.sid or None)
            if allowed is None:
                allowed = Decision(ALLOW, policy.name, statement.sid or None)
    return allowed or Decision(IMPLICIT_DENY)


def evaluate_same_account(identity: Iterable[Policy], resource_policy: Policy | None, request: Request,
                          principal: Mapping[str, tuple[str, ...]]) -> Decision:
    """A principal's request to a resource of its own account: a Deny in the identity policies or the
    resource's policy refuses, an Allow in either grants (IAM User Guide, "Policy evaluation for requests
    within a single account"). ``principal`` is whom the resource policy's Principal must name."""
    by_identity = evaluate(identity, request)
    if resource_policy is None or by_identity.effect == EXPLICIT_DENY:
        return by_identity
    as_principal = Request(request.action, request.resource, request.context, principal)
    by_resource = evaluate([resource_policy], as_principal)
    if by_resource.effect == EXPLICIT_DENY or (by_resource.allowed and not by_identity.allowed):
        return by_resource
    return by_identity
