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
Decision: an explicit Deny in any statement wins; else an Allow; else the
implicit deny. Anything this module does not evaluate (Date and Binary
operators, an unknown operator, a malformed document) is a ``PolicyError`` at
parse time, so a caller fails closed and says why instead of guessing.
"""
from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"
MAX_DOCUMENT_CHARS = 128 * 1024   # IAM's own limits are far lower (10,240 for a managed policy)

_STRING_OPS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"}
_ARN_OPS = {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
_NUMERIC_OPS = {"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"}
_OTHER_OPS = {"Bool", "Null", "IpAddress", "NotIpAddress"}
OPERATORS = frozenset(_STRING_OPS | _ARN_OPS | _NUMERIC_OPS | _OTHER_OPS)
_NEGATED = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
                      "ArnNotLike", "NumericNotEquals", "NotIpAddress"})
_QUALIFIERS = ("ForAnyValue", "ForAllValues")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'((?:[^']|'')*)'\s*$")
_ACCOUNT = re.compile(r"^\d{12}$")


class PolicyError(ValueError):
    """A policy document this module cannot evaluate faithfully; the message names what and where."""


@dataclass(frozen=True)
class Condition:
    operator: str                   # the base operator, e.g. "StringLike"
    key: str                        # the condition key, lower-cased (keys are case-insensitive)
    values: tuple[str, ...]
    qualifier: str | None = None    # "ForAnyValue" / "ForAllValues"
    if_exists: bool = False


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
        if qualifier and qualifier not in _QUALIFIERS:
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

def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """``*`` any run of characters (``/`` and ``:`` too), ``?`` exactly one; the rest literal."""
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ARN matching: each of the six colon-separated parts on its own; ``*`` alone matches anything."""
    if pattern == "*":
        return True
    parts, given = pattern.split(":", 5), value.split(":", 5)
    if len(parts) != 6 or len(given) != 6:
        return glob_match(pattern, value)
    return all(glob_match(p, v) for p, v in zip(parts, given))


def _expand(text: str, ctx: Mapping[str, tuple[str, ...]], wildcards: bool) -> str | None:
    """``text`` with its policy variables replaced; None when one has no value.

    With ``wildcards`` (a glob follows) each substituted value is wrapped in
    markers, so a ``*`` or ``?`` it holds (or ``${*}``) stays literal.
    """
    out: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        out.append(text[position:match.start()])
        position = match.end()
        inner = match.group(1)
        if inner in ("*", "?", "$"):
            value: str | None = inner
        else:
            default = _DEFAULT.match(inner)
            key = (default.group(1) if default else inner.strip()).lower()
            found = ctx.get(key)
            value = found[0] if found and len(found) == 1 else None
            if value is None and default:
                value = default.group(2).replace("''", "'")
        if value is None:
            return None
        out.append(_LITERAL_START + value + _LITERAL_END if wildcards else value)
    out.append(text[position:])
    return "".join(out)


# Private-use characters mark substituted text inside a glob (they cannot occur in an IAM policy value).
_LITERAL_START, _LITERAL_END = "\ue000", "\ue001"


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """A glob's regex; the parts between the markers (substituted variables) are literal."""
    body, literal = [], False
    for c in pattern:
        if c == _LITERAL_START:
            literal = True
        elif c == _LITERAL_END:
            literal = False
        elif not literal and c == "*":
            body.append(".*")
        elif not literal and c == "?":
            body.append(".")
        else:
            body.append(re.escape(c))
    return re.compile("".join(body), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _pattern_matches(pattern: str, value: str, policy: Policy, ctx: Mapping[str, tuple[str, ...]],
                     arn: bool) -> bool:
    if policy.variables and "${" in pattern:
        expanded = _expand(pattern, ctx, wildcards=True)
        if expanded is None:
            return False
        if arn and expanded != "*":
            parts, given = expanded.split(":", 5), value.split(":", 5)
            if len(parts) == 6 and len(given) == 6:
                return all(_glob(p, False).fullmatch(v) is not None for p, v in zip(parts, given))
        return _glob(expanded, False).fullmatch(value) is not None
    return arn_match(pattern, value) if arn else glob_match(pattern, value)


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


# --- conditions -------------------------------------------------------------------------

def _compare(operator: str, wanted: str, actual: str) -> bool:
    """The positive form of ``operator`` for one policy value and one request value."""
    if operator in ("StringEquals", "StringNotEquals"):
        return wanted == actual
    if operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return wanted.casefold() == actual.casefold()
    if operator in ("StringLike", "StringNotLike"):
        return _glob(wanted, False).fullmatch(actual) is not None
    if operator in _ARN_OPS:
        parts, given = wanted.split(":", 5), actual.split(":", 5)
        if len(parts) != 6 or len(given) != 6:
            return False
        return all(_glob(p, False).fullmatch(v) is not None for p, v in zip(parts, given))
    if operator == "Bool":
        return wanted.lower() == actual.lower()
    if operator in _NUMERIC_OPS:
        try:
            a, w = float(actual), float(wanted)
        except ValueError:
            return False
        return {"NumericEquals": a == w, "NumericNotEquals": a == w, "NumericLessThan": a < w,
                "NumericLessThanEquals": a <= w, "NumericGreaterThan": a > w,
                "NumericGreaterThanEquals": a >= w}[operator]
    if operator in ("IpAddress", "NotIpAddress"):
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted, strict=False)
        except ValueError:
            return False
    raise PolicyError(f"operator {operator} is not evaluated")   # parse() lets none through


def _condition_holds(condition: Condition, policy: Policy, ctx: Mapping[str, tuple[str, ...]]) -> bool:
    actual = ctx.get(condition.key) or ()
    if condition.operator == "Null":
        return any((not actual) == (wanted.lower() == "true") for wanted in condition.values)
    negated = condition.operator in _NEGATED
    if not actual:
        if condition.if_exists or condition.qualifier == "ForAllValues":
            return True
        return negated and condition.qualifier != "ForAnyValue"
    wanted: list[str] = []
    for value in condition.values:
        expanded = _expand(value, ctx, wildcards=condition.operator in ("StringLike", "StringNotLike") or
                           condition.operator in _ARN_OPS) if policy.variables and "${" in value else value
        if expanded is not None:   # a value whose variable has no value matches nothing
            wanted.append(expanded)

    def satisfies(one: str) -> bool:
        hit = any(_compare(condition.operator, w, one) for w in wanted)
        return not hit if negated else hit

    if condition.qualifier == "ForAllValues":
        return all(satisfies(one) for one in actual)
    if condition.qualifier == "ForAnyValue" or not negated:
        return any(satisfies(one) for one in actual)
    return all(satisfies(one) for one in actual)   # negated, unqualified: no value may match


# --- evaluation -------------------------------------------------------------------------

def statement_applies(statement: Statement, policy: Policy, request: Request) -> bool:
    """Whether ``statement`` speaks about ``request`` (its effect aside)."""
    if statement.actions is not None and not _action_matches(statement.actions, request.action):
        return False
    if statement.not_actions is not None and _action_matches(statement.not_actions, request.action):
        return False
    ctx = request.context
    if statement.resources is not None and \
            not any(_pattern_matches(p, request.resource, policy, ctx, True) for p in statement.resources):
        return False
    if statement.not_resources is not None and \
            any(_pattern_matches(p, request.resource, policy, ctx, True) for p in statement.not_resources):
        return False
    if statement.principals is not None or statement.not_principals is not None:
        if request.principal is None:
            return False
        if statement.principals is not None and not _principal_matches(statement.principals, request.principal):
            return False
        if statement.not_principals is not None and \
                _principal_matches(statement.not_principals, request.principal):
            return False
    return all(_condition_holds(c, policy, ctx) for c in statement.conditions)


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
