"""The matching inside IAM policies: wildcards, ARNs, policy variables and condition operators.

Why apart from ``iam_policy.py``: this is the part with IAM's fine print
(IAM User Guide, "IAM JSON policy elements: Condition operators" and "IAM
policy elements: Variables and tags"): a condition key missing from the
request makes a condition false except for the negated operators,
``...IfExists``, ``ForAllValues:`` and ``Null``; any listed value of a key may
match, a negated operator must match none; ARNs match part by part; a policy
variable with no single value in the request (and no default) matches nothing,
and a substituted value never acts as a wildcard. ``iam_policy.py`` parses
documents and decides; this module answers "does this match".
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

_STRING_OPS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"}
_ARN_OPS = {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
_NUMERIC_OPS = {"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"}
_OTHER_OPS = {"Bool", "Null", "IpAddress", "NotIpAddress"}
OPERATORS = frozenset(_STRING_OPS | _ARN_OPS | _NUMERIC_OPS | _OTHER_OPS)
_NEGATED = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
                      "ArnNotLike", "NumericNotEquals", "NotIpAddress"})
QUALIFIERS = ("ForAnyValue", "ForAllValues")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'((?:[^']|'')*)'\s*$")
# Private-use characters mark substituted text inside a glob (they cannot occur in an IAM policy value).
_LITERAL_START, _LITERAL_END = "\ue000", "\ue001"


@dataclass(frozen=True)
class Condition:
    """One key of one operator in a statement's Condition element."""

    operator: str                   # the base operator, e.g. "StringLike"
    key: str                        # the condition key, lower-cased (keys are case-insensitive)
    values: tuple[str, ...]
    qualifier: str | None = None    # "ForAnyValue" / "ForAllValues"
    if_exists: bool = False


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """``*`` any run of characters (``/`` and ``:`` too), ``?`` exactly one; the rest literal."""
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ARN matching: each of the six colon-separated parts on its own; ``*`` alone matches anything."""
    return pattern == "*" or _arn_regex(pattern).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _arn_regex(pattern: str) -> re.Pattern[str]:
    """One regex for an ARN pattern: a wildcard in the first five parts stays within its part (no ``:``),
    in the resource part it may span anything; a pattern that is not six parts is a plain glob."""
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return _glob(pattern, False)
    within = ["".join("[^:]*" if c == "*" else "[^:]" if c == "?" else re.escape(c) for c in part)
              for part in parts[:5]]
    return re.compile(":".join(within + [_glob(parts[5], False).pattern]), re.DOTALL)


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


def pattern_matches(pattern: str, value: str, variables: bool, ctx: Mapping[str, tuple[str, ...]],
                    arn: bool) -> bool:
    """A Resource (``arn``) or other element pattern against a value; ``variables``: version 2012-10-17."""
    if variables and "${" in pattern:
        expanded = _expand(pattern, ctx, wildcards=True)
        if expanded is None:
            return False
        if arn and expanded != "*":
            parts, given = expanded.split(":", 5), value.split(":", 5)
            if len(parts) == 6 and len(given) == 6:
                return all(_glob(p, False).fullmatch(v) is not None for p, v in zip(parts, given))
        return _glob(expanded, False).fullmatch(value) is not None
    return arn_match(pattern, value) if arn else glob_match(pattern, value)


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
    raise ValueError(f"operator {operator} is not evaluated")   # iam_policy.parse lets none through


def condition_holds(condition: Condition, variables: bool, ctx: Mapping[str, tuple[str, ...]]) -> bool:
    """One key of one operator of a statement's Condition, against the request's context."""
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
                           condition.operator in _ARN_OPS) if variables and "${" in value else value
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
