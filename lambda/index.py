"""The deployed function: API Gateway REST proxy event in, proxy response out.

Handler ``index.handler``. Configured by environment (see ``config.py``):
``OUTPUT_BUCKET``, ``MODEL_PATH``, ``INFERENCE_ENGINE`` (lean|mxnet) and the
breed-cache knobs. Routes:

    GET  /                 metadata of the default model (MODEL_PATH)
    POST /                 score rides with the default model
                           (or a breed's: ?breed=NAME or a "breed" field;
                           ?explain=true or "explain": true adds each
                           feature's term of the margin, see explain.py)
    GET  /breeds           breeds with a published model (?limit=&next=)
    GET  /breeds/{breed}   metadata of that breed's newest model
    POST /breeds/{breed}   score rides with that breed's newest model

Every outcome is a valid proxy response with a strict JSON body (no NaN);
failures are ``{"error": ...}`` with 400/404/405/413/415/422/503 (422: the
model's score for finite inputs is not finite, see ``guards``), details go to the log and
never a traceback to the client. The workshop's original function returned a
bare float as ``body``, which API Gateway answers with 502.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
import time

import config
import explain
import formats
import guards
import models
import s3get

LOG = logging.getLogger()
LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper() if os.environ.get("LOG_LEVEL", "").upper()
             in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")

ALLOWED = {"Allow": "GET, POST"}
DEFAULT_PAGE = 100
MAX_PAGE = 1000

_store: models.ModelStore | None = None   # one per execution environment
_served: dict[str, str] = {}   # what the current request was served with, for its log line


def cache_stats() -> dict:
    """This execution environment's model cache (what the breed benchmarks report); empty before a request."""
    return _store.cache_stats() if _store is not None else {}


def _model_store() -> models.ModelStore:
    """Create the store on first use: configuration errors become a 503, never an import crash."""
    global _store
    if _store is None:
        try:
            settings = config.load_config()
        except config.ConfigError as exc:
            raise models.ModelError(503, str(exc)) from None
        # The stdlib S3 reader, not boto3: ~90% of the cold start was boto3's import.
        _store = models.ModelStore(settings, s3get.S3Client.from_env())
    return _store


def _header(event: dict, name: str) -> str | None:
    headers = event.get("headers")
    if not isinstance(headers, dict):
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == lowered:
                value = candidate
                break
    return value if isinstance(value, str) else None


def _body_text(event: dict) -> str:
    body = event.get("body")
    if body is None or body == "":
        raise formats.RequestError(400, "empty body: POST a JSON ride such as "
                                        '{"distance": 30, "healthpoints": 30, "magicpoints": 2500, '
                                        '"TMAX": 333, "TMIN": 300, "PRCP": 0}')
    if not isinstance(body, str):
        raise formats.RequestError(400, "body must be a string in the proxy event")
    encoded = event.get("isBase64Encoded") is True
    # Refuse an oversized body before decoding it (the arithmetic is in guards' docstring).
    if not encoded:
        guards.check_text_body(body)
    else:
        guards.check_base64_body(body)
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise formats.RequestError(400, "body is marked isBase64Encoded but is not valid base64") from None
        guards.check_decoded_body(raw)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise formats.RequestError(400, "body is not UTF-8 text") from None
    return body


# The API's resources (cloudformation/function.yml) and the route each one is.
RESOURCES = {"/": "root", "/breeds": "breeds", "/breeds/{breed}": "breed"}


def _route(event: dict) -> tuple[str, str | None]:
    """('root' | 'breeds' | 'breed', breed name); 404 for anything else.

    From the API resource API Gateway matched and its path parameters, not from ``path``: behind a
    custom domain with a base path mapping, ``path`` carries the base path too (``/ml/breeds/x``).
    A ``/{proxy+}`` resource gives the path below the API in its ``proxy`` parameter; only an
    event without a resource (a direct invocation) is routed by its ``path``.
    """
    resource = event.get("resource")
    params = event.get("pathParameters")
    params = params if isinstance(params, dict) else {}
    if isinstance(resource, str) and resource in RESOURCES:
        if RESOURCES[resource] == "breed":
            return "breed", models.validate_breed(params.get("breed"))
        return RESOURCES[resource], None
    if isinstance(resource, str) and resource.endswith("{proxy+}") and isinstance(params.get("proxy"), str):
        return _route_path(resource[:-len("{proxy+}")] + params["proxy"], params)
    if resource not in (None, ""):
        shown = resource[:100] if isinstance(resource, str) else type(resource).__name__
        raise models.ModelError(404, f"no route {shown!r}: use / or /breeds/{{breed}}")
    return _route_path(event.get("path"), params)


def _route_path(path, params: dict) -> tuple[str, str | None]:
    """The route of a path below the API (an event without a resource, or a proxy resource's)."""
    if path is None:
        path = "/"
    if not isinstance(path, str):
        raise formats.RequestError(400, "path must be a string in the proxy event")
    parts = [part for part in path.split("/") if part]
    if not parts:
        return "root", None
    if parts[0] == "breeds" and len(parts) == 1:
        return "breeds", None
    if parts[0] == "breeds":
        name = "/".join(parts[1:])
        if isinstance(params.get("breed"), str):
            name = params["breed"]
        return "breed", models.validate_breed(name)
    raise models.ModelError(404, f"no route {path[:100]!r}: use / or /breeds/{{breed}}")


def _query(event: dict, name: str) -> str | None:
    params = event.get("queryStringParameters")
    value = params.get(name) if isinstance(params, dict) else None
    return value if isinstance(value, str) else None


def _model_for(store: models.ModelStore, breed) -> models.LoadedModel:
    if breed is None:
        return store.default()
    _served["breed"] = breed = models.validate_breed(breed)
    return store.breed(breed)


def _page_size(raw: str | None) -> int:
    """``?limit=``: ASCII digits only, 1 to MAX_PAGE; anything else a 400 naming the parameter.

    ``str.isdigit`` accepts full-width and Arabic-Indic digits (which ``int``
    reads) and superscripts (which it refuses), and ``int`` of more than 4,300
    digits raises: both were reached with client input. The length is checked
    before any conversion.
    """
    if raw is None:
        return DEFAULT_PAGE
    if 0 < len(raw) <= len(str(MAX_PAGE)) and raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    raise formats.RequestError(400, f"limit must be a whole number from 1 to {MAX_PAGE} in ASCII digits, "
                                    f"got {raw[:20]!r}{' (cut)' if len(raw) > 20 else ''}")


def _list_breeds(event: dict) -> dict:
    limit = _page_size(_query(event, "limit"))
    start_after = _query(event, "next")
    if start_after is not None:
        models.validate_breed(start_after)
    return _model_store().list_breeds(limit, start_after)


def _predict(event: dict, breed) -> dict:
    text = _body_text(event)
    kind = formats.body_kind(_header(event, "Content-Type"), text)
    store = _model_store()
    payload = None
    if kind == "json":
        payload = formats.decode_json(text)
        if breed is None:
            breed = formats.breed_field(payload)
        model = _model_for(store, breed)
        request = formats.rows_from_json(payload, model.dimension, model.features)
    else:
        model = _model_for(store, breed)
        request = formats.rows_from_csv(text, model.dimension)
    asked = explain.wanted(_query(event, "explain"), payload)
    response = formats.text_response(200, model.respond(request, asked))
    guards.check_response(response, len(request.rows), asked)   # over Lambda's 6 MB: a 413, not a 502
    return response


def _handle(event) -> dict:
    if not isinstance(event, dict):
        raise formats.RequestError(400, "the event is not an API Gateway proxy event")
    method = event.get("httpMethod")
    method = method.upper() if isinstance(method, str) else ""
    if method not in ("GET", "POST"):
        return formats.error_response(405, f"method {method or '(none)'} is not allowed; use GET or POST",
                                      ALLOWED)
    route, breed = _route(event)
    if route == "root":
        breed = _query(event, "breed")
    if method == "POST":
        if route == "breeds":
            return formats.error_response(405, "POST /breeds/{breed} to score with a breed's model", ALLOWED)
        return _predict(event, breed)
    if route == "breeds":
        return formats.proxy_response(200, _list_breeds(event))
    return formats.proxy_response(200, _model_for(_model_store(), breed).info)


def _answer(event) -> dict:
    try:
        return _handle(event)
    except (formats.RequestError, guards.InputError) as exc:
        return formats.error_response(exc.status, exc.message)
    except models.ModelError as exc:
        if exc.status >= 500:
            LOG.error("model unavailable: %s", exc.message)
        return formats.error_response(exc.status, exc.message)
    except Exception:  # a bug in this function: log it, answer without a traceback
        LOG.exception("unhandled error")
        return formats.error_response(500, "internal error in the inference function; see its log")


def _request_line(event, status: int, started: float) -> None:
    """One log line per request: route, breed, status, latency; never the body, headers or credentials.

    The path is client input: repr() keeps a newline in it from forging a second log line.
    """
    method = event.get("httpMethod") if isinstance(event, dict) else None
    path = event.get("path") if isinstance(event, dict) else None
    LOG.info("request %s %s breed=%s status=%d ms=%.2f", method if isinstance(method, str) else "-",
             repr(path[:100]) if isinstance(path, str) else "-", _served.get("breed") or "-", status,
             (time.perf_counter() - started) * 1000)


def handler(event, context=None) -> dict:
    """Lambda entry point."""
    started = time.perf_counter()
    _served.clear()
    response = _answer(event)
    _request_line(event, response["statusCode"], started)
    return response
