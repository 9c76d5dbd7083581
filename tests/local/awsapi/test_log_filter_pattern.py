"""The filter patterns FilterLogEvents applies on the local target: the CloudWatch Logs User Guide's examples
for unstructured events, and a clear refusal of the forms it does not read (moto matched them to every event)."""
from __future__ import annotations

import pytest

from wildrydes_cli.local.awsapi.log_filter_pattern import MAX_PATTERN_CHARS, parse

EVENTS = ["[ERROR] Caught IllegalArgumentException", "[ERROR] Unhandled Exception",
          "[WARN] disk 91% full", "status=503 breed=pegasus 0.31 ms", "[INFO] started"]


def kept(pattern: str) -> list[str]:
    return [event for event in EVENTS if parse(pattern).matches(event)]


@pytest.mark.parametrize("pattern, expected", [
    ("", EVENTS),                                                   # every event
    ("   ", EVENTS),
    ("ERROR", EVENTS[:2]),
    ("ERROR Exception", EVENTS[:2]),                                # all the terms
    ("ERROR Unhandled", EVENTS[1:2]),
    ("-ERROR", EVENTS[2:]),                                         # every event without it
    ("ERROR -Unhandled", EVENTS[:1]),
    ("?WARN ?INFO", [EVENTS[2], EVENTS[4]]),                        # any of them
    ("?WARN ?Unhandled ERROR", EVENTS[1:2]),                        # mixed: the plain term is needed too
    ('"status=503"', EVENTS[3:4]),                                  # a phrase with symbols
    ('"Unhandled Exception"', EVENTS[1:2]),
    ('"Caught" "Exception"', EVENTS[:1]),                           # two phrases (moto read this as one)
    ("503", EVENTS[3:4]),                                           # a number (moto matched everything)
    ("error", []),                                                  # case-sensitive
    ('""', EVENTS),
])
def test_the_user_guides_forms(pattern, expected):
    assert kept(pattern) == expected


@pytest.mark.parametrize("pattern, says", [
    ("{ $.status = 503 }", "JSON"),
    ("[ip, user, status=503, ...]", "space-delimited"),
    ('ERROR "unterminated', "unterminated quote"),
    ("ERROR ? WARN", "lone '?'"),
    ("%a*a*b%", "%regex%"),          # Python's backtracking re: tens of seconds on one long line
    ("x" * (MAX_PATTERN_CHARS + 1), f"at most {MAX_PATTERN_CHARS} characters"),
])
def test_a_pattern_not_read_here_is_refused_saying_why(pattern, says):
    with pytest.raises(ValueError) as refused:
        parse(pattern)
    assert says in str(refused.value)
