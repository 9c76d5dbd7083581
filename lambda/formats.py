"""Request parsing of the HTTP API and its proxy responses (pure functions); the prediction
bodies themselves are written by bodies.py.

Three request styles reach the same model:

- the workshop's JSON: ``{"distance": 30, "healthpoints": 30, "magicpoints": 2500,
  "TMAX": 333, "TMIN": 300, "PRCP": 0}`` — features by *name*, any order, mapped
  to the training order; a JSON list of such objects is a batch;
- SageMaker's JSON: ``{"instances": [{"features": [...]}, ...]}``;
- SageMaker's CSV: one row of feature values per line.

Everything a client can get wrong raises ``RequestError`` with the HTTP
status and a message that names the field, row or value at fault.
"""
from __future__ import annotations

import json
import math
from array import array
from itertools import repeat

import guards

# The notebook's column order: the models are trained on this order (contract).
WORKSHOP_FEATURES = ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")
# Request keys that select a model or ask for more output rather than carry a feature.
ROUTING_KEYS = ("breed", "explain")

MAX_BODY_BYTES = guards.MAX_BODY_BYTES   # 413 above this: 4 MiB, so any request fits Lambda's 6 MB event
MAX_BATCH_ROWS = 1000          # 400 above this: keeps one invocation well inside 128 MB and 3 s

JSON_TYPES = ("application/json", "application/jsonlines", "")
CSV_TYPES = ("text/csv",)
# What curl -d sends without -H: the workshop's own function read such a body as JSON, so a body
# that is JSON is read as JSON; anything else under this type is refused (415) with the fix.
FORM_TYPE = "application/x-www-form-urlencoded"


class RequestError(Exception):
    """A bad request: ``status`` is the HTTP code, the message names what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ParsedRequest:
    """Feature rows in training order, and how the client asked (for the response shape)."""

    __slots__ = ("rows", "style")

    def __init__(self, rows: list, style: str) -> None:
        self.rows = rows
        self.style = style    # "single", "batch" (workshop JSON) or "sagemaker"


def media_type(content_type: str | None) -> str:
    """``'application/json; charset=utf-8'`` -> ``'application/json'``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(400, f"{where} must be a number, got {json.dumps(value)[:40]}")
    number = float(value)
    if not math.isfinite(number):
        raise RequestError(400, f"{where} must be a finite number, got {value}")
    return number


def _check_batch_size(count: int) -> None:
    if count == 0:
        raise RequestError(400, "empty batch: send at least one ride")
    if count > MAX_BATCH_ROWS:
        raise RequestError(400, f"batch of {count} rows is over the limit of {MAX_BATCH_ROWS}; split it")


def _vector(values, dimension: int, where: str) -> array:
    """A SageMaker ``features`` list as an array of doubles (8 bytes a value: see ``_csv_row``)."""
    if not isinstance(values, list):
        raise RequestError(400, f"{where} must be a list of {dimension} numbers")
    if len(values) != dimension:
        raise RequestError(400, f"{where} has {len(values)} values; this model takes {dimension}")
    try:
        row = array("d", values)   # numbers only, in one C loop
    except (TypeError, OverflowError):
        row = None
    if row is None or any(map(isinstance, values, repeat(bool))) or not all(map(math.isfinite, row)):
        return array("d", (_number(v, f"{where}[{i}]") for i, v in enumerate(values)))   # raises, naming it
    return row


class FeatureMap:
    """Maps request keys (case-insensitive) to positions in the model's feature order."""

    def __init__(self, feature_names) -> None:
        self.names = tuple(feature_names) if feature_names else None
        self._index = {name.lower(): i for i, name in enumerate(self.names or ())}

    def row(self, ride, where: str) -> list:
        if self.names is None:
            raise RequestError(400, "this model has no feature names; send SageMaker's format "
                                    '{"instances": [{"features": [...]}]} or text/csv rows')
        if not isinstance(ride, dict):
            raise RequestError(400, f"{where} must be a JSON object of features, got {type(ride).__name__}")
        row: list[float | None] = [None] * len(self.names)
        index = self._index
        for key, value in ride.items():
            position = index.get(key.lower())
            if position is None:
                if key in ROUTING_KEYS:
                    continue
                raise RequestError(400, f"unknown feature {key!r} in {where}; "
                                        f"expected: {', '.join(self.names)}")
            row[position] = _number(value, f"feature {key!r} in {where}")
        if None in row:
            missing = [name for name, v in zip(self.names, row) if v is None]
            raise RequestError(400, f"missing feature {missing[0]!r} in {where}; "
                                    f"expected: {', '.join(self.names)}")
        return row


def decode_json(text: str):
    """The decoded body; ``guards.InputError`` (400) for bad, too deep or ambiguous JSON."""
    return guards.loads(text)


def body_kind(content_type: str | None, text: str = "") -> str:
    """``'json'`` or ``'csv'``; 415 for any other media type.

    curl's default form type counts as JSON when the body is a JSON object or list (curl -d '{...}'
    without -H, as the workshop's own function accepted it).
    """
    kind = media_type(content_type)
    if kind in JSON_TYPES or kind.endswith("+json"):
        return "json"
    if kind in CSV_TYPES:
        return "csv"
    if kind == FORM_TYPE and text.lstrip()[:1] in ("{", "["):
        return "json"
    raise RequestError(415, f"unsupported Content-Type {kind!r}; send application/json "
                            "(e.g. curl -H 'Content-Type: application/json') or text/csv")


def breed_field(payload) -> object:
    """The ``breed`` a workshop-style JSON object names, if any (validated by the caller)."""
    if isinstance(payload, dict):
        return payload.get("breed")
    return None


def rows_from_json(payload, dimension: int, features: FeatureMap) -> ParsedRequest:
    """Rows from a decoded workshop-style or SageMaker-style JSON body."""
    if isinstance(payload, dict) and "instances" in payload:
        instances = payload["instances"]
        if not isinstance(instances, list):
            raise RequestError(400, '"instances" must be a list of {"features": [...]} objects')
        _check_batch_size(len(instances))
        rows = []
        for i, instance in enumerate(instances):
            if not isinstance(instance, dict) or "features" not in instance:
                raise RequestError(400, f'instances[{i}] must be an object with a "features" list')
            rows.append(_vector(instance["features"], dimension, f"instances[{i}].features"))
        return ParsedRequest(rows, "sagemaker")
    if isinstance(payload, dict):
        return ParsedRequest([features.row(payload, "the request")], "single")
    if isinstance(payload, list):
        _check_batch_size(len(payload))
        return ParsedRequest([features.row(ride, f"ride {i}") for i, ride in enumerate(payload)], "batch")
    raise RequestError(400, "body must be a JSON object of features, a list of them, "
                            'or {"instances": [{"features": [...]}]}')


def rows_from_csv(text: str, dimension: int) -> ParsedRequest:
    """Parse SageMaker's text/csv: one row of feature values per line, no header."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        count = line.count(",") + 1
        if count != dimension:
            raise RequestError(400, f"CSV line {number} has {count} values; this model takes {dimension}")
        rows.append(_csv_row(line, number))
        if len(rows) > MAX_BATCH_ROWS:
            break
    _check_batch_size(len(rows))
    return ParsedRequest(rows, "sagemaker")


CSV_PIECE_CHARS = 64 * 1024


def _csv_row(line: str, number: int) -> array:
    """One CSV line's values, into an array of doubles, a piece of the line at a time.

    Why pieces: ``line.split(",")`` of a 4 MiB line of ``0.5,`` makes a million
    strings (~50 MiB) before the first is converted; a 64 KiB piece makes ~16,000.
    With the array (8 bytes a value, not a float object's 32), a full-width row
    of a 2^20-feature model costs ~8 MiB, not ~90.
    """
    row = array("d")
    start, column = 0, 1
    while True:
        cut = line.find(",", start + CSV_PIECE_CHARS) if len(line) - start > CSV_PIECE_CHARS else -1
        cells = (line[start:] if cut < 0 else line[start:cut]).split(",")
        try:
            values = list(map(float, cells))
        except ValueError:
            values = []
        if len(values) != len(cells) or not all(map(math.isfinite, values)):
            _refuse_cell(cells, number, column)
        row.extend(values)
        if cut < 0:
            return row
        start, column = cut + 1, column + len(cells)


def _refuse_cell(cells: list, number: int, first_column: int) -> None:
    """The 400 naming the first cell of ``cells`` that is not a finite number."""
    for column, cell in enumerate(cells, start=first_column):
        try:
            value = float(cell)
        except ValueError:
            raise RequestError(400, f"CSV line {number}, column {column}: {cell.strip()[:40]!r} "
                                    "is not a number (no header line, please)") from None
        if not math.isfinite(value):
            raise RequestError(400, f"CSV line {number}, column {column}: {cell.strip()[:40]} is not finite")


def proxy_response(status: int, payload, headers: dict | None = None) -> dict:
    """A valid API Gateway proxy response: int status, str body, JSON content type."""
    return text_response(status, guards.dumps(payload), headers)


def text_response(status: int, body: str, headers: dict | None = None) -> dict:
    """``proxy_response`` for a body already written as strict JSON text (bodies.py)."""
    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    return {"statusCode": status, "headers": all_headers, "body": body, "isBase64Encoded": False}


def error_response(status: int, message: str, headers: dict | None = None) -> dict:
    return proxy_response(status, {"error": message}, headers)
