"""What the function refuses before and after scoring, so every answer is valid and honest.

A request is hostile until shown otherwise. Each guard turns something that
used to become a 500, a hang or invalid JSON into a 4xx naming the problem:

- **Body size** (413): Lambda takes at most 6 MB (6,291,456 bytes) for the
  *whole* synchronous event, not for the body. API Gateway's REST proxy event
  carries the body as a JSON string (quotes, backslashes and control
  characters escaped) or, for binary media types, as base64 (4 characters per
  3 bytes), next to the headers and query string twice each (``headers`` and
  ``multiValueHeaders``) and ``requestContext``. The arithmetic:

  ====================================  ==========================================
  Lambda's event limit                  6,291,456 bytes
  reserved for everything but the body    262,144 (256 KiB): API Gateway allows
                                          10,240 bytes of request line + headers;
                                          4 copies x 6x escaping = 245,760, plus
                                          requestContext (~2 KB) and path
  body budget inside the event          6,029,312 bytes  (EVENT_BODY_BUDGET)
  MAX_BODY_BYTES (the decoded body)     4,194,304 (4 MiB)
    as base64: 4 * ceil(n / 3)          5,592,408 <= 6,029,312
    as text: escaped size, measured     <= 6,029,312, else 413 as well
  ====================================  ==========================================

  So any body this function accepts fits in a 6 MB event, and a body over the
  limit that API Gateway can still deliver gets this function's 413, not
  API Gateway's 500.
- **JSON nesting** (400): CPython's decoder recurses once per ``[`` or ``{``
  (and from 3.12 its C recursion limit is not ``sys.setrecursionlimit``'s, so
  the depth cannot be bounded by lowering that); a pre-scan made of C-speed
  string and regex operations refuses more than ``MAX_DEPTH`` levels before
  the decoder runs (costs: benchmarks/RESULTS.md, bench_guards.py).
- **Numbers beyond a float** (400): integers are decoded as floats, so
  ``1e400`` and a 400-digit integer both become ``inf`` and the field check
  that refuses non-finite values names the field (a big int used to overflow
  later, a 500; one over 4,300 digits was a ValueError without the field).
- **Duplicate keys** (400): ``json.loads`` keeps the last silently; features
  are matched case-insensitively, so ``distance`` and ``DISTANCE`` are
  duplicates too.
- **Response size** (413, see ``check_response``): Lambda refuses a response
  payload over 6,291,556 bytes (its error: "Response payload size exceeded
  maximum allowed payload size (6291556 bytes)", type
  Function.ResponseSizeTooLarge) and API Gateway then answers 502. The
  payload is the whole proxy response as JSON, the body escaped inside it:
  ``?explain=true`` on 1,000 rows of a 300-feature model is 6.5 MB. Above the
  limit the function answers 413 naming it and how many rows fit.
- **Non-finite scores** (422, see ``check_scores``) and **strict JSON out**
  (``allow_nan=False``): a NaN or Infinity never reaches a client.
"""
from __future__ import annotations

import heapq
import json
import math
import re

LAMBDA_EVENT_LIMIT = 6 * 1024 * 1024            # "Request must be smaller than 6291456 bytes"
LAMBDA_RESPONSE_LIMIT = 6_291_556               # "...maximum allowed payload size (6291556 bytes)"
_RESPONSE_MARGIN = 0.97                         # rows vary in length: "the rows that fit" stays under
EVENT_RESERVE = 256 * 1024                      # headers x2, query x2, requestContext (see above)
EVENT_BODY_BUDGET = LAMBDA_EVENT_LIMIT - EVENT_RESERVE
MAX_BODY_BYTES = 4 * 1024 * 1024                # the decoded body
MAX_BASE64_CHARS = -(-MAX_BODY_BYTES // 3) * 4  # base64 length of a MAX_BODY_BYTES body
MAX_DEPTH = 32                                  # the deepest request this API takes has 4 levels
_WORST_ESCAPE = 6                               # a character takes at most 6 bytes escaped (\u001f)

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)   # a JSON string, escapes and all
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_AS_PARENS = str.maketrans("[{]}", "(())")


class InputError(Exception):
    """A request the function refuses: ``status`` is the HTTP code, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _too_large(what: str) -> InputError:
    return InputError(413, f"{what}; the limit is {MAX_BODY_BYTES:,} bytes (4 MiB, so that the request "
                           "fits in Lambda's 6 MB event): send smaller batches")


# ------------------------------------------------------------------- body


def check_text_body(body: str) -> None:
    """413 unless ``body`` (not base64) is within MAX_BODY_BYTES and fits the event once escaped."""
    if len(body) > MAX_BODY_BYTES:  # characters <= UTF-8 bytes: refuse without encoding
        raise _too_large(f"body is over {MAX_BODY_BYTES:,} bytes")
    if len(body) * _WORST_ESCAPE <= EVENT_BODY_BUDGET:  # the common case: cannot be over either bound
        return
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise _too_large(f"body is {size:,} bytes")
    escaped = len(json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")) - 2
    if escaped > EVENT_BODY_BUDGET:
        raise InputError(413, f"body takes {escaped:,} bytes inside the Lambda event once its quotes, "
                              f"backslashes and control characters are escaped; the limit is "
                              f"{EVENT_BODY_BUDGET:,} (Lambda's 6 MB event less room for headers): "
                              "send smaller batches")


def check_base64_body(body: str) -> None:
    """413 before decoding when a base64 body cannot decode to MAX_BODY_BYTES or less."""
    if len(body) > MAX_BASE64_CHARS:
        raise _too_large(f"base64 body of {len(body):,} characters decodes to over {MAX_BODY_BYTES:,} bytes")


def check_decoded_body(raw: bytes) -> None:
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large(f"body is {len(raw):,} bytes")


# ------------------------------------------------------------------- JSON in


def _object(pairs: list) -> dict:
    """Build a JSON object, refusing a key given twice, also in another case."""
    result = dict(pairs)
    if len(result) == len(pairs) and len({key.lower() for key in result}) == len(result):
        return result
    seen: dict[str, str] = {}
    for key, _ in pairs:
        first = seen.get(key.lower())
        if first is None:
            seen[key.lower()] = key
        else:
            also = "" if first == key else f" (same as {first!r}: keys are not case-sensitive)"
            raise InputError(400, f"duplicate key {key!r} in a JSON object{also}; send each feature once")
    return result  # not reached: one of the two checks above found a duplicate


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON ``text`` nests arrays/objects more than ``limit`` levels (no recursion, C-speed).

    Strings are removed (brackets inside them do not nest), then everything
    but brackets; each ``replace("()", "")`` pass removes the innermost pairs,
    so valid JSON d levels deep empties in d passes. A pair left after
    ``limit`` passes means deeper nesting. Unmatched open brackets left over
    would each be recursed into by the decoder too, so more than ``limit`` of
    them counts as too deep (fewer: the decoder goes at most 2 x limit deep
    before it reports the syntax error). Cost: O(length x depth), at most
    ``limit`` passes; measured below the cost of decoding the same text.
    """
    if text.count("[") + text.count("{") <= limit:  # the common case, e.g. one ride
        return False
    shape = _NOT_BRACKET.sub("", _STRING.sub("", text)).translate(_AS_PARENS)
    for _ in range(limit):
        reduced = shape.replace("()", "")
        if reduced == shape:
            break
        shape = reduced
    return "()" in shape or shape.count("(") > limit


# parse_int=float: a C call, no Python frame per number. Features are floats anyway; an integer
# beyond a float becomes inf (refused naming its field) instead of a big int that overflows later,
# and Python's 4,300-digit limit on int conversion (a ValueError) never applies.
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_int=float)


def loads(text: str):
    """``json.loads`` for request bodies, with the guards above; 400 naming the problem."""
    if too_deep(text):
        raise InputError(400, f"body nests JSON arrays or objects more than {MAX_DEPTH} levels deep; "
                              'a request needs 4 at most ({"instances": [{"features": [...]}]})')
    try:
        return _DECODER.decode(text)
    except InputError:
        raise
    except (ValueError, RecursionError) as exc:
        raise InputError(400, f"body is not valid JSON ({exc})") from None


# ------------------------------------------------------------------ JSON out


# Built once: json.dumps with any non-default argument builds a new encoder on every call (~1 µs).
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def dumps(payload) -> str:
    """Strict JSON: NaN and Infinity are not JSON, so they raise instead of reaching a client."""
    return _ENCODE(payload)


def response_bytes(response: dict) -> int:
    """The size of the payload Lambda measures: the proxy response serialized as JSON (the body
    escaped inside it; non-ASCII as \\u escapes, the larger spelling)."""
    body = response.get("body") or ""
    if len(body) * _WORST_ESCAPE + 4096 < LAMBDA_RESPONSE_LIMIT:
        return len(body)   # cannot be near the limit: not worth serializing (a lower bound is enough)
    return len(json.dumps(response))


def check_response(response: dict, rows: int, explained: bool) -> None:
    """413 when Lambda would refuse the response (API Gateway's 502), naming the limit and the rows that fit."""
    size = response_bytes(response)
    if size <= LAMBDA_RESPONSE_LIMIT:
        return
    fit = int(rows * _RESPONSE_MARGIN * LAMBDA_RESPONSE_LIMIT / size)
    what = " with explain" if explained else ""
    if fit >= 1:
        advice = f"send at most {fit:,} row{'' if fit == 1 else 's'} per request{what}"
    else:
        advice = "ask without explain (each feature's term makes the answer large)" if explained else \
            "the model's answer for one row is already too large"
    raise InputError(413, f"the answer to {rows:,} row{'' if rows == 1 else 's'}{what} would be {size:,} bytes, "
                          f"over Lambda's response limit of {LAMBDA_RESPONSE_LIMIT:,} bytes (6 MB): {advice}")


def check_scores(scores: list, rows: list, names, style: str) -> None:
    """422 when a score is not finite, naming the row and the feature values that caused it.

    Why 422 and not 400: the request is well-formed and every value is a finite
    number this API accepts, so nothing in it is malformed (400); it is this
    model whose weights overflow a float on these values - another breed's
    model may score the same ride. Not a 5xx either: the function and the
    model are fine, and retrying the same values gives the same answer. A NaN
    score must never be labelled (NaN > threshold is False, so it was 0).
    """
    if all(map(math.isfinite, scores)):
        return
    for i, score in enumerate(scores):
        if not math.isfinite(score):
            where = {"single": "the ride", "batch": f"ride {i}"}.get(style, f"row {i}")
            raise InputError(422, f"the model's score for {where} is not a finite number ({score}): its "
                                  f"weights overflow a float on {_largest(rows[i], names)}; send values "
                                  "in the range the model was trained on")


def _largest(row, names, shown: int = 6) -> str:
    """The ``shown`` values of largest size, named (a label is made only for those: a row may be 2^20 wide)."""
    top = heapq.nsmallest(shown, range(len(row)), key=lambda j: -abs(row[j]))   # ties: the first column first
    text = ", ".join(f"{names[j] if names else f'features[{j}]'}={row[j]:g}" for j in top)
    return text if len(row) <= shown else f"{text} (the {shown} largest of {len(row)} values)"
