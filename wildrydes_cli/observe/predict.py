"""``wildrydes predict``: the workshop's Step 5 over real HTTP, with the standard library.

Why urllib and not boto3/requests: the endpoint is a plain HTTPS URL (or the
local emulator's), a client needs nothing else, and the CLI shows exactly
what any other client would see: status, body, latency.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from wildrydes_cli import layout, loopback
from wildrydes_cli.deployment_record import Deployment
from wildrydes_cli.errors import NotFoundError, UsageError, WildrydesError
from wildrydes_cli.layout import FEATURES
from wildrydes_cli.observe.ride_table import plain_number, read_rides
from wildrydes_cli.results import BatchPredictResult, PredictResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

TIMEOUT_S = 30.0
BATCH_ROWS = 1000   # the function's per-request limit (lambda/formats.py MAX_BATCH_ROWS)
EXAMPLE_FLAGS = "--distance 30 --healthpoints 30 --magicpoints 2500 --tmin 300 --tmax 333 --prcp 0"


def ride_from_flags(values: dict[str, float | None]) -> dict[str, float]:
    """The workshop JSON from the six flags; every one is required and finite."""
    missing = [f"--{name.lower()}" for name in FEATURES if values.get(name) is None]
    if missing:
        raise UsageError(f"Missing {', '.join(missing)}: predict needs all six features, e.g. {EXAMPLE_FLAGS} "
                         "(or --file rides.csv).")
    given = {name: float(values[name] or 0.0) for name in FEATURES}
    for name, value in given.items():
        if not math.isfinite(value):
            raise UsageError(f"--{name.lower()} is {value}: every feature must be a finite number.")
    return {name: plain_number(value) for name, value in given.items()}


def rides_from_csv(path: Path) -> list[dict[str, float]]:
    """The rides of a CSV file (ride_table.read_rides has their other columns too)."""
    return read_rides(path).rides


def endpoint(base_url: str, breed: str | None) -> str:
    if breed is None:
        return base_url
    if not layout.is_breed_name(breed):
        raise UsageError(f"--breed {breed!r} is not a breed name: use {layout.BREED_RULE}.")
    return base_url.rstrip("/") + f"/{layout.breed_prefix(breed).rstrip('/')}"


def check_url(url: str) -> str:
    """``url`` when urllib can send a request to it; else a UsageError naming it.

    urllib itself raises ValueError ("Invalid IPv6 URL", a port over 65535) or
    http.client.InvalidURL (a space or control character) from deep inside
    ``urlopen``, which reached the user as "unexpected ...", exit 70.
    """
    from urllib.parse import urlsplit
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--url {url!r} is not an http(s) URL.")
    problem = ""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        problem = "it contains a space or a control character"
    else:
        try:
            parts = urlsplit(url)
            parts.port   # noqa: B018 - raises ValueError for a port out of range or not a number
            if not parts.hostname:
                problem = "it has no host"
        except ValueError as exc:
            problem = str(exc)
    if problem:
        raise UsageError(f"--url {url!r} cannot be used: {problem}. Pass the invoke URL that `wildrydes deploy` "
                         "printed, e.g. https://abc123.execute-api.us-east-1.amazonaws.com/prod/.")
    return url


def post_json(url: str, payload: object, timeout: float = TIMEOUT_S,
              clock: Callable[[], float] = time.perf_counter, api_key: str | None = None,
              sign: Callable[[str, str, bytes, dict[str, str]], dict[str, str]] | None = None
              ) -> tuple[int, object, float]:
    """POST JSON (with ``api_key`` as x-api-key, or signed by ``sign``); returns (status, decoded body, latency in
    ms), non-2xx too."""
    check_url(url)
    data = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["x-api-key"] = api_key
    if sign is not None:
        headers = sign("POST", url, data, headers)
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    started = clock()
    try:
        direct = loopback.direct_opener(url)             # the local target: never through a proxy
        with (direct.open(request, timeout=timeout) if direct is not None
              else urllib.request.urlopen(request, timeout=timeout)) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WildrydesError(f"Could not reach {url}: {reason}. Is it deployed? `wildrydes status` shows "
                             "the invoke URL (on the local target, `wildrydes local status`).") from exc
    latency_ms = (clock() - started) * 1000.0
    try:
        body = json.loads(raw.decode() or "null")
    except ValueError:
        body = raw.decode(errors="replace")
    return status, body, latency_ms


def _error_text(status: int, body: object) -> str:
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body.get("Message") or body)
    return str(body)[:300]


def _with_explain(url: str, explain: bool) -> str:
    """``?explain=true`` asks the function for each feature's term of the margin."""
    return url + ("&" if "?" in url else "?") + "explain=true" if explain else url


def predict(base_url: str, rides: list[dict], breed: str | None = None,
            post: Callable[..., tuple[int, object, float]] = post_json, explain: bool = False) -> PredictResult:
    """Send one ride and return the function's answer, with a readable label."""
    url = _with_explain(endpoint(base_url, breed), explain)
    results, latency_ms = _ask(url, rides[0], post)
    return PredictResult(url=url, breed=breed, latency_ms=round(latency_ms, 2), request=rides[0],
                         answer=_annotate(results[0]), explained=explain)


def predict_batch(base_url: str, rides: list[dict], breed: str | None = None,
                  post: Callable[..., tuple[int, object, float]] = post_json,
                  explain: bool = False, extras: list[dict] | None = None,
                  columns: list[str] | None = None) -> BatchPredictResult:
    """Send rides in requests of at most BATCH_ROWS; each prediction comes back beside its ride.

    ``extras``: each ride's other columns from its file, put back beside it (results join to the input);
    ``columns``: the file's column order, which the CSV output keeps.
    """
    url = _with_explain(endpoint(base_url, breed), explain)
    predictions: list[dict] = []
    latency_ms = 0.0
    requests = 0
    for start in range(0, len(rides), BATCH_ROWS):
        chunk = rides[start:start + BATCH_ROWS]
        results, took = _ask(url, chunk, post)
        others = (extras or [{}] * len(rides))[start:start + BATCH_ROWS]
        predictions += [{**other, **ride, **_annotate(result)} for other, ride, result in zip(others, chunk, results)]
        latency_ms += round(took, 2)
        requests += 1
    return BatchPredictResult(url=url, breed=breed, count=len(predictions), requests=requests,
                              latency_ms=round(latency_ms, 2), predictions=predictions, explained=explain,
                              input_columns=list(columns or FEATURES))


def _ask(url: str, payload: object, post: Callable[..., tuple[int, object, float]]) -> tuple[list, float]:
    """POST one request; the function's results and the latency, or an error saying what went wrong."""
    status, body, latency_ms = post(url, payload)
    if status != 200:
        hint = ""
        if status == 403 and "Missing Authentication Token" in _error_text(status, body):
            hint = (" - no API is deployed at this URL (after a restart the local emulator starts empty): "
                    "run `wildrydes deploy`; or the API takes signed requests only (deploy --auth iam): without "
                    "--url, predict signs them")
        elif status == 403 and _error_text(status, body) == "Forbidden":
            hint = (" - this API requires an API key (deploy --auth api-key): without --url, predict sends the "
                    "deployment's key; `wildrydes keys show` prints it")
        elif status == 403 and "execute-api:Invoke" in _error_text(status, body):
            hint = (" - the credentials predict signs with are not allowed to call this API (deploy --auth iam): "
                    "give them an IAM policy allowing execute-api:Invoke on the method's ARN (README, "
                    "\"Protecting the endpoint\"), or use credentials that have one")
        elif status == 403 and _error_text(status, body).startswith(("Signature expired", "Signature not yet current")):
            hint = (" - this machine's clock is more than 5 minutes off: API Gateway refuses a signature that old "
                    "or that new; set the clock (NTP) and try again")
        elif status == 429:
            hint = " - over the usage plan's rate or quota (`wildrydes status` shows them): wait, then try again"
        raise WildrydesError(f"The endpoint answered {status}: {_error_text(status, body)} ({url}){hint}")
    results = _results(body)
    if results is None or not results or not all(isinstance(r, dict) and "score" in r for r in results):
        raise WildrydesError(f"The endpoint answered 200 without scores: {str(body)[:200]} ({url}). "
                             "Is this URL a wildrydes inference API?")
    return results, latency_ms


def _results(body: object) -> list | None:
    if isinstance(body, dict) and isinstance(body.get("predictions"), list):
        return body["predictions"]
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        return body
    return None


def _annotate(result: dict) -> dict:
    out = dict(result)
    label = result.get("predicted_label")
    out["label"] = (None if label is None else
                    "heavy magic use likely" if int(label) == 1 else "heavy magic use unlikely")
    return out


@dataclass(frozen=True)
class PredictRequest:
    """``wildrydes predict``'s options: one ride from the six flags, or a CSV file of rides (a batch)."""

    flags: dict[str, float | None]
    file: Path | None = None
    breed: str | None = None
    url: str | None = None
    explain: bool = False


def run_predict(settings: Settings, request: PredictRequest) -> PredictResult | BatchPredictResult:
    """Read the ride(s), find the invoke URL (the recorded deployment's unless --url), POST, return the answer."""
    if request.file is not None and any(v is not None for v in request.flags.values()):
        raise UsageError("Use either --file or the six feature flags, not both.")
    table = read_rides(request.file) if request.file is not None else None
    rides = table.rides if table is not None else [ride_from_flags(request.flags)]
    target, deployment = None, None
    post: Callable[..., tuple[int, object, float]] = post_json
    if request.url:
        url = request.url
    else:
        target, deployment = deployed(settings)
        url = target.deployment_url(deployment)
        if deployment.auth == "api-key":   # the deployment's key, read through the CLI, never printed
            from wildrydes_cli.aws.client import Aws
            from wildrydes_cli.observe.keys import key_value
            post = functools.partial(post_json, api_key=key_value(Aws(target), deployment.stack))
        elif deployment.auth == "iam":     # signed with this target's credentials (SigV4, execute-api)
            from wildrydes_cli.aws.client import Aws
            post = functools.partial(post_json, sign=Aws(target).sign_execute_api)
    if table is not None:
        return predict_batch(url, rides, breed=request.breed, explain=request.explain, extras=table.extras,
                             columns=table.columns, post=post)
    result = predict(url, rides, breed=request.breed, explain=request.explain, post=post)
    if request.breed and target is not None and deployment is not None:
        newer = newer_breed_model(target, deployment, request.breed, result.answer.get("model_path"))
        if newer:
            result = replace(result, newer_model=newer)
    return result


def newer_breed_model(target, deployment: Deployment, breed: str, served: str | None) -> dict | None:
    """The breed's published model when the function answered with another one (it refreshes on a timer).

    Right after ``train --breed``, a warm function still serves the breed's previous model for up to
    its MODEL_REFRESH_SECONDS: say so rather than let the old answer pass for the new model's.
    """
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.aws.found_deployment import breed_refresh
    aws = Aws(target)
    try:
        index = aws.read_json(deployment.bucket, layout.breed_index_key(breed))
        published = index.get("key") if isinstance(index, dict) else None
        if not published or not served or published == served:
            return None
        refresh = breed_refresh(target.settings, aws, deployment.bucket) or {}
    except (WildrydesError, ValueError) as exc:   # a courtesy: never fail the prediction over it
        LOG.debug("could not compare with the breed's published model: %s", exc)
        return None
    return {"model_path": published, "trained_at": index.get("trained_at"),
            "refresh_seconds": refresh.get("refresh_seconds", layout.DEFAULT_REFRESH_SECONDS)}


def deployed_url(settings: Settings) -> str:
    """The invoke URL of the deployment on this target (for the AWS target: this account's)."""
    target, deployment = deployed(settings)
    return target.deployment_url(deployment)


def deployed(settings: Settings):
    """(target, deployment) on this target (for the AWS target: this account's).

    The recorded deployment, read before anything starts; without a record, the one the
    function stacks show (the workshop's steps done by hand), which needs the target.
    """
    from wildrydes_cli.aws.accounts import bind, current_deployment
    from wildrydes_cli.aws.target import resolve
    settings = bind(settings)
    missing: NotFoundError | None = None
    try:
        deployment = current_deployment(settings)
    except NotFoundError as exc:   # names the account: kept for when the stacks show nothing either
        deployment, missing = None, exc
    target = resolve(settings)
    if deployment is None:
        from wildrydes_cli.aws.client import Aws
        from wildrydes_cli.aws.found_deployment import deployment_from_stacks
        deployment = deployment_from_stacks(target.settings, Aws(target))
        if deployment is None and missing is not None:
            raise missing
        if deployment is not None and not deployment.api_id:
            raise NotFoundError(f"Stack {deployment.stack} has function {deployment.function_name} but no REST API: "
                                "run `wildrydes deploy`, or pass --url INVOKE_URL.")
    return target, require_deployment(deployment)


def require_deployment(deployment: Deployment | None) -> Deployment:
    """What predict talks to by default; without one, say how to get one."""
    if deployment is None:
        raise NotFoundError("Nothing is deployed on this target and region (no state recorded, and no function "
                            "in stack wildrydes-ml-mod3-4 or wildrydes-ml-mod0-4): run `wildrydes deploy`, or pass "
                            "--url INVOKE_URL.")
    return deployment

