"""CloudWatch Logs filter patterns for unstructured log events, as the local target's FilterLogEvents applies them.

Why: moto evaluates a pattern only when it starts with a letter (then every word must appear)
or with a quote (then the text between its first and last characters must appear). Any other
pattern matched every event: ``?ERROR ?WARN``, ``-DEBUG``, ``503``, ``{ $.status = 503 }``.
So `wildrydes logs --filter` on the local target showed lines that the same filter hides on AWS.

This module reads the text forms the CloudWatch Logs User Guide documents ("Filter pattern
syntax for metric filters, subscription filters, filter log events, and Live Tail";
FilterLogEvents' ``filterPattern``):

- an empty pattern, or only spaces: every event;
- terms separated by spaces, each a word or a "quoted phrase": events that contain all of
  them (``ERROR Exception``). Terms are case-sensitive and match where they appear in the
  message, as moto matched them;
- a term written ``-TERM``: events without it (``-ERROR``: every other event);
- terms written ``?TERM``: events with at least one of them (``?ERROR ?Exception``). Mixed
  with plain terms, all the plain ones are needed too.

JSON (``{ ... }``), space-delimited (``[ ... ]``) and ``%regex%`` patterns are refused with a
ValueError that names the form. The local target does not evaluate them, and matching every
event, as moto did, would look like an answer. A regex is refused rather than handed to
Python's backtracking ``re``: ``%a*a*b%`` over a 256 KiB log line runs for tens of seconds
(a search that never ends, to the caller), where CloudWatch's own engine does not backtrack.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

MAX_PATTERN_CHARS = 1024      # FilterLogEvents' filterPattern: length 0 to 1024 (API Reference)


@dataclass(frozen=True)
class Pattern:
    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()

    def matches(self, message: str) -> bool:
        return (all(term in message for term in self.required)
                and not any(term in message for term in self.excluded)
                and (not self.any_of or any(term in message for term in self.any_of)))


@lru_cache(maxsize=256)
def parse(text: str | None) -> Pattern:
    """The pattern ``text`` describes; ValueError (its message says what is wrong) for one not read here."""
    text = text or ""
    if len(text) > MAX_PATTERN_CHARS:
        raise ValueError(f"a filter pattern is at most {MAX_PATTERN_CHARS} characters")
    stripped = text.strip()
    forms = {"{": "JSON ({ ... })", "[": "space-delimited ([ ... ])", "%": "%regex%"}
    if stripped[:1] in forms:
        raise ValueError(f"the local target does not evaluate {forms[stripped[0]]} filter patterns: use terms, "
                         "\"quoted phrases\", ?any or -excluded, or run against --target aws")
    groups: dict[str, list[str]] = {"": [], "-": [], "?": []}
    for prefix, term in _terms(text):
        groups[prefix].append(term)
    return Pattern(tuple(groups[""]), tuple(groups["-"]), tuple(groups["?"]))


def _terms(text: str) -> list[tuple[str, str]]:
    """(prefix, term) for each term of ``text``: prefix "" (required), "-" (excluded) or "?" (any of)."""
    found: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        prefix = text[at] if text[at] in "-?" else ""
        at += len(prefix)
        if at < len(text) and text[at] == '"':     # a phrase: "" is in every message
            end = text.find('"', at + 1)
            if end < 0:
                raise ValueError(f"the filter pattern has an unterminated quote: {text[at:at + 40]!r}")
            found.append((prefix, text[at + 1:end]))
            at = end + 1
            continue
        end = at
        while end < len(text) and not text[end].isspace():
            end += 1
        if end == at:
            raise ValueError(f"the filter pattern has a lone {prefix!r}: write it before a term, as in {prefix}ERROR")
        found.append((prefix, text[at:end]))
        at = end
    return found
