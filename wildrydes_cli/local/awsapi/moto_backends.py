"""Every read of moto's in-memory backends, in one place (the daemon hosts moto in-process).

Why an adapter: moto's backends are not a public API; their attribute names
(``apigateway_backends``, ``resource_methods``, ``code_sha_256``, ...) may change
in any moto release. The execute-api front (routes.py), the Lambda runner
(functions.py, and its log writer), the journal's replay (persist.py,
replay_s3.py) and the kept log events' restore (kept_logs.py via server.py) reach them through these few functions only, which return plain
values, and tests/local/awsapi/test_moto_backends.py holds each one to moto's current
behaviour, so an upgrade that renames something fails there, by name, instead
of as a 403 or a missing function at request time.

Lookups use ``dict.get`` on moto's ``BackendDict``: its own ``__getitem__``
would create a backend for any account or region it is asked about.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiResource:
    """One API Gateway resource as moto holds it: where it hangs and its methods' integrations."""

    resource_id: str
    parent_id: str | None
    path_part: str | None
    methods: dict[str, tuple[str, str | None] | None]   # method -> (integration type, uri), or None


@dataclass(frozen=True)
class LambdaFunction:
    """A deployed function's configuration as moto holds it, frozen when read (what the runner runs)."""

    arn: str
    name: str
    account_id: str
    region: str
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    environment: tuple[tuple[str, str], ...]   # sorted (name, value) pairs: hashable, comparable
    code_sha256: str
    last_modified: str
    code_bucket: str | None
    code_key: str | None

    @property
    def fingerprint(self) -> tuple:
        """What warm workers depend on: a change of any of these retires them."""
        return (self.code_sha256, self.handler, self.environment, self.timeout, self.memory_size,
                self.runtime, self.last_modified)


# --- API Gateway ------------------------------------------------------------------------

def _apigateway_backends() -> Any:
    from moto.apigateway.models import apigateway_backends
    return apigateway_backends


def rest_api_in(account_id: str, region: str, api_id: str) -> Any | None:
    """The RestAPI object with this id in one account and region, or None."""
    per_account = dict.get(_apigateway_backends(), account_id)
    backend = dict.get(per_account, region) if per_account is not None else None
    return backend.apis.get(api_id) if backend is not None else None


def find_rest_api(api_id: str) -> tuple[str, str, Any] | None:
    """(account_id, region, RestAPI) for an API id in any account and region moto has created.

    Copies moto's dicts before scanning: moto's own threads may add a region meanwhile.
    """
    for account_id, per_account in list(dict.items(_apigateway_backends())):
        for region, backend in list(dict.items(per_account)):
            api = backend.apis.get(api_id)
            if api is not None:
                return account_id, region, api
    return None


def api_resources(api: Any) -> list[ApiResource]:
    out = []
    for rid, res in list(api.resources.items()):
        methods: dict[str, tuple[str, str | None] | None] = {}
        for name, method in list(res.resource_methods.items()):
            integ = method.method_integration
            methods[name.upper()] = (integ.integration_type, integ.uri) if integ is not None else None
        out.append(ApiResource(rid, res.parent_id, res.path_part, methods))
    return out


def stage_variables(api: Any, stage: str) -> dict[str, str] | None:
    """The stage's variables ({} when it has none), or None when the stage does not exist."""
    found = api.stages.get(stage)
    if found is None:
        return None
    return dict(found.variables or {})


# --- Lambda -----------------------------------------------------------------------------

def lambda_function(arn: str) -> Any | None:
    """moto's function object for an ARN (opaque to callers: pass it to the functions below)."""
    from moto.awslambda.models import lambda_backends

    parts = arn.split(":")
    if len(parts) < 7:
        return None
    region, account_id, name = parts[3], parts[4], parts[6]
    per_account = dict.get(lambda_backends, account_id)
    backend = dict.get(per_account, region) if per_account is not None else None
    if backend is None:
        return None
    try:
        return backend.get_function(name)
    except Exception:  # moto raises its own UnknownFunctionException
        return None


def function_version(fn: Any) -> tuple:
    """Changes whenever anything the runner depends on changes (cheap: a few attribute reads)."""
    return (id(fn), fn.last_modified, fn.code_sha_256, id(fn.environment_vars), fn.handler, fn.timeout,
            fn.memory_size)


def function_config(fn: Any) -> LambdaFunction:
    code = fn.code or {}
    return LambdaFunction(
        arn=fn.function_arn, name=fn.function_name, account_id=fn.account_id, region=fn.region,
        handler=fn.handler or "", runtime=fn.run_time or "", timeout=float(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        code_sha256=fn.code_sha_256, last_modified=str(fn.last_modified),
        code_bucket=code.get("S3Bucket"), code_key=code.get("S3Key"))


def function_code_snapshot(fn: Any) -> bytes | None:
    """The zip moto kept when the function was created or updated (None when it kept none)."""
    return getattr(fn, "code_bytes", None) or None


# --- S3 ---------------------------------------------------------------------------------

def s3_object(account_id: str, bucket: str, key: str) -> bytes | None:
    """An object's bytes, or None when the bucket or key does not exist."""
    from moto.s3.models import s3_backends

    try:
        found = s3_backends[account_id]["aws"].get_object(bucket, key)
    except Exception as exc:  # moto's MissingBucket / MissingKey
        LOG.info("s3://%s/%s not readable: %s", bucket, key, exc)
        return None
    return found.value if found is not None else None


def s3_keys(account_id: str, bucket: str, prefix: str) -> list[tuple[str, int]] | None:
    """(key, size) of the bucket's current objects under ``prefix``, in key order; None without the bucket."""
    from moto.s3.models import s3_backends

    backend = dict.get(dict.get(s3_backends, account_id) or {}, "aws")
    found = backend.buckets.get(bucket) if backend is not None else None
    if found is None:
        return None
    keys = []
    for name in list(found.keys.keys()):
        if not name.startswith(prefix):
            continue
        key = found.keys.get(name)
        if key is not None:
            keys.append((name, int(key.size)))
    return sorted(keys)


def s3_bucket_region(account_id: str, bucket: str) -> str | None:
    """The region a bucket was created in, or None when there is no such bucket."""
    from moto.s3.models import s3_backends

    backend = dict.get(dict.get(s3_backends, account_id) or {}, "aws")
    found = backend.buckets.get(bucket) if backend is not None else None
    return str(found.region_name) if found is not None else None


# --- IAM and accounts (the training jobs' role, the caller's account) ---------------------

def account_of(access_key: str) -> str:
    """The account moto files a request signed with ``access_key`` under."""
    import os

    from moto.iam.models import get_account_id_from

    return os.environ.get("MOTO_ACCOUNT_ID") or get_account_id_from(access_key)


def role_trust_policy(account_id: str, role_name: str) -> str | None:
    """The role's trust policy document (JSON text), or None when the account has no such role."""
    from moto.iam.models import iam_backends

    backend = dict.get(dict.get(iam_backends, account_id) or {}, "aws")
    if backend is None:
        return None
    role = next((r for r in list(backend.roles.values()) if r.name == role_name), None)
    return None if role is None else str(role.assume_role_policy_document)


# --- CloudWatch Logs (written by the Lambda runner, as Lambda's runtime writes them) ---

def append_log_events(account_id: str, region: str, group: str, stream: str, events: list[dict],
                      keep: int) -> None:
    """Append events to a log stream, creating group and stream as Lambda does; keep the newest ``keep``."""
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]   # the function's own account and region
    if group not in backend.groups:
        backend.create_log_group(group, {})
    streams = backend.groups[group].streams
    if stream not in streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, events)
    stored = streams[stream].events
    if len(stored) > keep:
        del stored[:len(stored) - keep]


def restore_log_events(account_id: str, region: str, group: str, stream: str, events: list[dict],
                       keep: int) -> int:
    """Put back events kept on disk (kept_logs.py) with their own timestamps; how many were put.

    Unlike ``append_log_events`` this skips PutLogEvents' ingestion window
    (events older than 14 days are refused there): these were accepted when
    they were written. The group's retention, when it has one, still applies,
    as CloudWatch would have expired them meanwhile.
    """
    import time

    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]
    if group not in backend.groups:
        backend.create_log_group(group, {})
    log_group = backend.groups[group]
    if stream not in log_group.streams:
        backend.create_log_stream(group, stream)
    events = sorted(events, key=lambda e: e["timestamp"])   # stable: one timestamp keeps write order
    days = log_group.retention_in_days
    if days:
        oldest = int((time.time() - int(days) * 86400) * 1000)
        events = [e for e in events if e["timestamp"] >= oldest]
    events = events[max(0, len(events) - keep):]
    if events:
        log_group.put_log_events(stream, events)
    return len(events)


def log_group_exists(account_id: str, region: str, group: str) -> bool:
    """Whether moto holds this log group (False once DeleteLogGroup or a stack's deletion removed it)."""
    from moto.logs.models import logs_backends

    per_account = dict.get(logs_backends, account_id)
    backend = dict.get(per_account, region) if per_account is not None else None
    return backend is not None and group in backend.groups


# --- persistence (journal replay, persist.py / replay_s3.py) ---------------------------

def seed_ids(seed: int | None) -> None:
    """Seed the generator moto draws its ids from (API, deployment, stack and request ids)."""
    from moto.moto_api._internal import mock_random

    mock_random.seed(seed)


def put_s3_object(access_key: str, region: str, bucket_name: str, key_name: str, body: bytes,
                  headers: dict[str, str], checksum_algorithm: str | None, checksum: str | None) -> bool:
    """What moto's ``S3Response.put_object`` does for a plain PutObject; False when the bucket
    needs moto's full path (missing, object lock, logging)."""
    import os

    from moto.iam.models import get_account_id_from
    from moto.s3.models import s3_backends
    from moto.s3.utils import metadata_from_headers
    from moto.utilities.utils import get_partition

    account = os.environ.get("MOTO_ACCOUNT_ID") or get_account_id_from(access_key)
    backend = s3_backends[account][get_partition(region)]
    bucket = backend.buckets.get(bucket_name)
    if bucket is None or bucket.object_lock_enabled or bucket.logging:
        return False
    key = backend.put_object(bucket_name, key_name, body, storage="STANDARD", encryption=None,
                             kms_key_id=None, bucket_key_enabled=None, lock_mode=None,
                             lock_legal_status=None, lock_until=None, checksum_value=checksum)
    key.set_metadata(metadata_from_headers(headers))
    key.set_acl(bucket.acl)
    key.website_redirect_location = None
    if checksum_algorithm:
        key.checksum_algorithm = checksum_algorithm
    backend.put_object_tagging(key, {})
    return True
