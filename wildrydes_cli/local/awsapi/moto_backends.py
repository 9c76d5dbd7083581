"""Every read of moto's in-memory backends, in one place (the daemon hosts moto in-process).

Why an adapter: moto's backends are not a public API; their attribute names
(``apigateway_backends``, ``resource_methods``, ``code_sha_256``, ...) may change
in any moto release. The execute-api front (routes.py), the Lambda runner
(functions.py, and its log writer), the journal's replay (persist.py,
replay_s3.py), the kept log events' restore (kept_logs.py via server.py) and
CloudFormation's rules (stack_rules.py, which also records a failed stack
operation) reach them through these few functions only, which return plain
values, and tests/local/awsapi/test_moto_backends.py holds each one to moto's current
behaviour, so an upgrade that renames something fails there, by name, instead
of as a 403 or a missing function at request time.

Memory: moto appends every model object it ever makes (each S3 object
version, each log event, ...) to a class-wide list, ``instances_tracked``,
for its dashboard, so nothing it replaces or trims is ever freed: the
daemon grew by ~0.5 GB in two minutes of invocations and by ~1 MB per
overwrite of a 1 MB object. ``track_instances_weakly`` (called once by the
daemon) keeps that list but makes it weak, so moto's own uses of it (the
dashboard, disposing S3 buffers at a reset) still see every live object
and a dropped one is freed. Log streams are bounded here too
(``append_log_events``): one per execution environment, and a function
that crashes on every request makes a new environment each time.

Lookups use ``dict.get`` on moto's ``BackendDict``: its own ``__getitem__``
would create a backend for any account or region it is asked about.
"""
from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timezone
from typing import Any

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiResource:
    """One API Gateway resource as moto holds it: where it hangs and its methods' integrations."""

    resource_id: str
    parent_id: str | None
    path_part: str | None
    # method -> (integration type, uri, whether it requires an API key, its authorization type), or None
    # without an integration
    methods: dict[str, tuple[str, str | None, bool, str] | None]


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
    role: str = ""                              # the execution role's ARN (its credentials are the function's)

    @property
    def fingerprint(self) -> tuple:
        """What warm workers depend on: a change of any of these retires them."""
        return (self.code_sha256, self.handler, self.environment, self.timeout, self.memory_size,
                self.runtime, self.last_modified, self.role)


# --- memory: moto's registry of every model object --------------------------------------

class WeakInstances:
    """What moto's ``instances_tracked`` list is used as (append, iterate, len), holding weak references.

    Iteration yields the objects still alive, in no promised order. An object
    that cannot be weakly referenced is not tracked (none of moto's models
    defines ``__slots__`` today).
    """

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._refs: dict[int, weakref.ref] = {}
        for item in items:
            self.append(item)

    def append(self, item: Any) -> None:
        key, refs = id(item), self._refs

        def forget(ref: weakref.ref) -> None:
            if refs.get(key) is ref:   # not a newer object that reused the id
                refs.pop(key, None)

        try:
            refs[key] = weakref.ref(item, forget)
        except TypeError:
            return

    def __iter__(self) -> Iterator[Any]:
        for ref in list(self._refs.values()):   # moto's threads may append meanwhile
            item = ref()
            if item is not None:
                yield item

    def __len__(self) -> int:
        return len(self._refs)


def _tracking_weakly(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``BaseModel.__new__`` as moto writes it, with the class's list replaced by a ``WeakInstances``.

    The list is swapped on first use per class, so classes imported later and
    lists that moto's reset put back (``reset_model_data``) are covered too.
    """
    instance: Any = object.__new__(cls)
    tracked = cls.__dict__.get("instances_tracked")
    if not isinstance(tracked, WeakInstances):
        tracked = WeakInstances(tracked or ())
        cls.instances_tracked = tracked   # type: ignore[attr-defined]
    tracked.append(instance)
    return instance


def track_instances_weakly() -> None:
    """Make moto's registry of model objects weak, so what moto drops is freed (idempotent).

    moto's ``BaseModel.__new__`` does ``cls.instances_tracked.append(instance)``
    (``moto/core/common_models.py``); the contract test holds that this is
    still so, and that replacing it frees a dropped object.
    """
    from moto.core.common_models import BaseModel

    if BaseModel.__dict__.get("__new__") is not _NEW:
        BaseModel.__new__ = _NEW   # type: ignore[assignment,method-assign]


_NEW = staticmethod(_tracking_weakly)


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
        methods: dict[str, tuple[str, str | None, bool, str] | None] = {}
        for name, method in list(res.resource_methods.items()):
            integ = method.method_integration
            methods[name.upper()] = (integ.integration_type, integ.uri, bool(method.api_key_required),
                                     str(method.authorization_type or "NONE").upper()) if integ is not None else None
        out.append(ApiResource(rid, res.parent_id, res.path_part, methods))
    return out


def stage_variables(api: Any, stage: str) -> dict[str, str] | None:
    """The stage's variables ({} when it has none), or None when the stage does not exist."""
    found = api.stages.get(stage)
    if found is None:
        return None
    return dict(found.variables or {})



@dataclass(frozen=True)
class ApiKeyFacts:
    """An API key as moto holds it."""

    key_id: str
    name: str
    value: str
    enabled: bool
    tags: dict[str, str]


@dataclass(frozen=True)
class UsagePlanFacts:
    """A usage plan as moto holds it: the stages it admits, its limits and its keys."""

    plan_id: str
    name: str
    stages: tuple[tuple[str, str], ...]        # (API id, stage)
    rate: float | None                          # requests per second; None: not throttled
    burst: int | None
    quota_limit: int | None                     # None: no quota
    quota_period: str | None                    # DAY, WEEK or MONTH
    key_ids: tuple[str, ...]
    tags: dict[str, str]


def _apigateway(account_id: str, region: str) -> Any | None:
    per_account = dict.get(_apigateway_backends(), account_id)
    return dict.get(per_account, region) if per_account is not None else None


def _tags(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {}


def api_keys(account_id: str, region: str) -> list[ApiKeyFacts]:
    backend = _apigateway(account_id, region)
    return [ApiKeyFacts(k.id, str(k.name or ""), str(k.value or ""), bool(k.enabled), _tags(k.tags))
            for k in list(backend.keys.values())] if backend is not None else []


def api_key_by_value(account_id: str, region: str, value: str) -> ApiKeyFacts | None:
    """The key with this value (the execute-api front asks on each request to a method that requires one)."""
    backend = _apigateway(account_id, region)
    for k in list(backend.keys.values()) if backend is not None else []:
        if k.value == value:
            return ApiKeyFacts(k.id, str(k.name or ""), str(k.value or ""), bool(k.enabled), _tags(k.tags))
    return None


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _plan_facts(backend: Any, plan: Any) -> UsagePlanFacts:
    throttle, quota = dict(plan.throttle or {}), dict(plan.quota or {})
    burst, limit = _number(throttle.get("burstLimit")), _number(quota.get("limit"))
    stages = tuple((str(s.get("apiId")), str(s.get("stage"))) for s in list(plan.api_stages or [])
                   if isinstance(s, dict))
    return UsagePlanFacts(plan.id, str(plan.name or ""), stages, _number(throttle.get("rateLimit")),
                          int(burst) if burst is not None else None, int(limit) if limit is not None else None,
                          str(quota["period"]).upper() if quota.get("period") else None,
                          tuple(dict(backend.usage_plan_keys.get(plan.id) or {})), _tags(plan.tags))


def usage_plans(account_id: str, region: str) -> list[UsagePlanFacts]:
    backend = _apigateway(account_id, region)
    return [_plan_facts(backend, plan) for plan in list(backend.usage_plans.values())] if backend is not None else []


def plan_for_key(account_id: str, region: str, key_id: str, api_id: str, stage: str) -> UsagePlanFacts | None:
    """The first usage plan that holds this key and names this API's stage (per request: only that one is built)."""
    backend = _apigateway(account_id, region)
    if backend is None:
        return None
    for plan in list(backend.usage_plans.values()):
        if key_id in (backend.usage_plan_keys.get(plan.id) or {}) and any(
                isinstance(s, dict) and s.get("apiId") == api_id and s.get("stage") == stage
                for s in list(plan.api_stages or [])):
            return _plan_facts(backend, plan)
    return None


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
            fn.memory_size, fn.role)


def function_config(fn: Any) -> LambdaFunction:
    code = fn.code or {}
    return LambdaFunction(
        arn=fn.function_arn, name=fn.function_name, account_id=fn.account_id, region=fn.region,
        handler=fn.handler or "", runtime=fn.run_time or "", timeout=float(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        code_sha256=fn.code_sha_256, last_modified=str(fn.last_modified),
        code_bucket=code.get("S3Bucket"), code_key=code.get("S3Key"), role=str(fn.role or ""))


def stamp_configuration_updates() -> None:
    """UpdateFunctionConfiguration sets LastModified, as Lambda does; moto keeps the creation time.

    (Lambda API reference, FunctionConfiguration.LastModified: "The date and time that the
    function was last updated".) Without it ``status``'s "last modified" stayed at the first
    deploy however often MODEL_PATH changed. Installed once, in the daemon.
    """
    from moto.awslambda.models import LambdaFunction as MotoFunction
    from moto.core.utils import iso_8601_datetime_with_nanoseconds

    original = MotoFunction.update_configuration
    if getattr(original, "_wildrydes_stamps", False):
        return

    def update_configuration(self, config_updates):
        self.last_modified = iso_8601_datetime_with_nanoseconds()
        return original(self, config_updates)

    update_configuration._wildrydes_stamps = True   # type: ignore[attr-defined]
    MotoFunction.update_configuration = update_configuration   # type: ignore[method-assign]


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


# --- IAM and STS (a function's role: its policies, its credentials) --------------------

@dataclass(frozen=True)
class RoleRecord:
    """A role as moto holds it: its trust policy and the documents of its identity policies (JSON text)."""

    arn: str
    name: str
    role_id: str
    account_id: str
    trust_policy: str
    inline: tuple[tuple[str, str], ...]       # (policy name, document)
    managed: tuple[tuple[str, str], ...]      # (policy ARN, its default version's document)
    permissions_boundary: str | None


@dataclass(frozen=True)
class AssumedCredentials:
    """What STS AssumeRole answered (moto's STS backend, in-process)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float                         # epoch seconds
    arn: str                                  # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
    account_id: str

    def __repr__(self) -> str:                # never print the secret
        return f"AssumedCredentials(access_key_id={self.access_key_id!r}, arn={self.arn!r})"


def _document(value: Any) -> str:
    """moto keeps a policy document as the JSON text it was given (API) or decoded (CloudFormation)."""
    import json

    return value if isinstance(value, str) else json.dumps(value)


def _iam_backend(account_id: str, partition: str) -> Any | None:
    from moto.iam.models import iam_backends

    per_account = dict.get(iam_backends, account_id)
    return dict.get(per_account, partition) if per_account is not None else None


def role_record(role_arn: str) -> RoleRecord | None:
    """The role with this ARN and its policies as they are now, or None when there is no such role."""
    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam":
        return None
    backend = _iam_backend(parts[4], parts[1])
    if backend is None:
        return None
    role = next((r for r in list(backend.roles.values()) if r.arn == role_arn), None)
    if role is None:
        return None
    managed = []
    for arn, policy in list(role.managed_policies.items()):
        version = next((v for v in policy.versions if v.version_id == policy.default_version_id), None)
        if version is not None:
            managed.append((arn, _document(version.document)))
    return RoleRecord(arn=role.arn, name=role.name, role_id=role.id, account_id=role.account_id,
                      trust_policy=_document(role.assume_role_policy_document),
                      inline=tuple((name, _document(doc)) for name, doc in list(role.policies.items())),
                      managed=tuple(managed), permissions_boundary=role.permissions_boundary_arn)


def assume_role(role_arn: str, session_name: str, region: str, duration: int) -> AssumedCredentials:
    """STS AssumeRole through moto's STS backend, so STS and IAM know the session (GetCallerIdentity works).

    moto draws the key and secret from its seedable id generator: the caller
    runs this between journaled requests (persist.Persistence.exclusive), after
    re-seeding it from the OS, so the journal's ids stay reproducible and the
    secret is not.
    """
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    account_id = role_arn.split(":")[4]
    backend = sts_backends[account_id][get_partition(region)]
    assumed = backend.assume_role(region_name=region, role_session_name=session_name, role_arn=role_arn,
                                  policy="", duration=duration, external_id="")
    expiration = assumed.expiration   # moto's utcnow(): naive UTC
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=timezone.utc)
    return AssumedCredentials(access_key_id=assumed.access_key_id, secret_access_key=assumed.secret_access_key,
                              session_token=assumed.session_token, expiration=expiration.timestamp(),
                              arn=assumed.arn, account_id=assumed.account_id)


def forget_assumed_role(account_id: str, region: str, access_key_id: str) -> None:
    """Drop an expired session from moto's STS and IAM backends (they never forget one themselves)."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    partition = get_partition(region)
    per_account = dict.get(sts_backends, account_id)
    backend = dict.get(per_account, partition) if per_account is not None else None
    if backend is not None:
        backend.assumed_roles[:] = [r for r in backend.assumed_roles if r.access_key_id != access_key_id]
    iam = _iam_backend(account_id, partition)
    if iam is not None:
        iam.access_keys.pop(access_key_id, None)


def bucket_policy(account_id: str, region: str, bucket: str) -> str | None:
    """The bucket's policy document, or None when the bucket has none (or does not exist)."""
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    per_account = dict.get(s3_backends, account_id)
    backend = dict.get(per_account, get_partition(region)) if per_account is not None else None
    found = backend.buckets.get(bucket) if backend is not None else None
    policy = getattr(found, "policy", None) if found is not None else None
    return policy.decode("utf-8", "replace") if isinstance(policy, bytes) else policy


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

MAX_STREAMS_PER_GROUP = 16


def append_log_events(account_id: str, region: str, group: str, stream: str, events: list[dict],
                      keep: int, keep_streams: int = MAX_STREAMS_PER_GROUP) -> None:
    """Append events to a log stream, creating group and stream as Lambda does; keep the newest ``keep``.

    A group keeps its ``keep_streams`` most recently written streams (one per
    execution environment; the runner starts a new one for each worker it
    replaces, so a function that dies on every request would add one a
    request): at most ``keep`` x ``keep_streams`` events per group in memory.
    """
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]   # the function's own account and region
    if group not in backend.groups:
        backend.create_log_group(group, {})
    streams = backend.groups[group].streams
    if stream not in streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, events)
    if len(streams) > keep_streams:
        others = sorted((item for item in streams.items() if item[0] != stream),
                        key=lambda item: item[1].last_ingestion_time or item[1].creation_time)
        for name, _ in others[:len(streams) - keep_streams]:   # the least recently written
            del streams[name]
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


def log_groups() -> list[tuple[str, str, str]]:
    """(account, region, group) of every log group moto holds (to name a kept-events file whose header is damaged)."""
    from moto.logs.models import logs_backends

    return [(account_id, region, group) for account_id, per_account in list(dict.items(logs_backends))
            for region, backend in list(dict.items(per_account)) for group in list(backend.groups)]


# --- CloudFormation (stack_rules.py: what CloudFormation does that moto does not) -------

@dataclass(frozen=True)
class StackFacts:
    """A stack as moto holds it: what a rule needs to resolve the names its template gives."""

    stack_id: str
    status: str
    template: str
    parameters: dict[str, str]
    resources: dict[str, str]      # logical id -> physical id, of the resources it has made


def parse_template(body: str) -> dict:
    """A template (YAML or JSON) as moto reads it: short tags become their Fn:: / Ref forms."""
    from moto.cloudformation.models import Stack
    parsed = Stack.parse_template(body)
    return parsed if isinstance(parsed, dict) else {}


def _cloudformation(account_id: str, region: str) -> Any | None:
    from moto.cloudformation.models import cloudformation_backends
    per_account = dict.get(cloudformation_backends, account_id)
    return dict.get(per_account, region) if per_account is not None else None


def _live_stack(account_id: str, region: str, name: str) -> Any | None:
    backend = _cloudformation(account_id, region)
    for stack in list(backend.stacks.values()) if backend is not None else []:
        if name in (stack.name, stack.stack_id) and stack.status != "DELETE_COMPLETE":
            return stack
    return None


def stack_facts(account_id: str, region: str, name: str) -> StackFacts | None:
    """The stack named (or with this id), None when there is none (deleted ones are none)."""
    stack = _live_stack(account_id, region, name)
    if stack is None:
        return None
    made = stack.resource_map._parsed_resources
    declared = stack.resource_map._resource_json_map
    resources = {logical: str(getattr(made[logical], "physical_resource_id", None) or "")
                 for logical in list(declared) if made.get(logical) is not None}
    template = stack.template if isinstance(stack.template, str) else ""
    parameters = {str(k): str(v) for k, v in (stack.resource_map.resolved_parameters or {}).items()}
    return StackFacts(stack.stack_id, stack.status, template, parameters, resources)


def fail_stack_operation(account_id: str, region: str, name: str, template: str, create: bool,
                         failed: tuple[str, str, str, str]) -> str:
    """Record a create or update that CloudFormation would fail on one resource and roll back.

    ``failed`` is (logical id, resource type, physical id, reason). An update leaves the stack as
    it was, in UPDATE_ROLLBACK_COMPLETE; a create leaves a stack with no resources, in
    ROLLBACK_COMPLETE. The events are CloudFormation's, oldest first (moto answers newest first).
    Returns the stack id.
    """
    from moto.cloudformation.models import Event, Stack
    from moto.cloudformation.utils import generate_stack_id

    backend = _cloudformation(account_id, region)
    if backend is None:   # moto makes a region's backend on first use: this call is the first
        from moto.cloudformation.models import cloudformation_backends
        backend = cloudformation_backends[account_id][region]
    stack = None if create else _live_stack(account_id, region, name)
    if stack is None:
        stack = Stack(stack_id=generate_stack_id(name, region, account_id), name=name,  # type: ignore[abstract]
                      template={}, parameters={}, account_id=account_id, region_name=region)
        stack.template = template
        backend.stacks[stack.stack_id] = stack
    logical, kind, physical, reason = failed
    verb = "CREATE" if create else "UPDATE"
    rollback = "ROLLBACK" if create else "UPDATE_ROLLBACK"
    rows = [(name, "AWS::CloudFormation::Stack", stack.stack_id, f"{verb}_IN_PROGRESS", "User Initiated"),
            (logical, kind, "", "CREATE_IN_PROGRESS", None),
            (logical, kind, physical, "CREATE_FAILED", reason),
            (name, "AWS::CloudFormation::Stack", stack.stack_id, f"{rollback}_IN_PROGRESS",
             f"The following resource(s) failed to create: [{logical}]." + (" Rollback requested by user."
                                                                             if create else "")),
            (name, "AWS::CloudFormation::Stack", stack.stack_id, f"{rollback}_COMPLETE", None)]
    for row_logical, row_type, row_physical, status, why in rows:
        stack.events.append(Event(stack_id=stack.stack_id, stack_name=name, logical_resource_id=row_logical,
                                  physical_resource_id=row_physical, resource_type=row_type,
                                  resource_status=status, resource_status_reason=why, resource_properties=None))
    stack.status = f"{rollback}_COMPLETE"
    return str(stack.stack_id)


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


def _s3_bucket(access_key: str, region: str, bucket_name: str) -> Any | None:
    """moto's bucket as the account of ``access_key`` sees it (without creating a backend), or None."""
    import os

    from moto.iam.models import get_account_id_from
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    account = os.environ.get("MOTO_ACCOUNT_ID") or get_account_id_from(access_key)
    per_account = dict.get(s3_backends, account)
    backend = dict.get(per_account, get_partition(region)) if per_account is not None else None
    return backend.buckets.get(bucket_name) if backend is not None else None


def s3_upload_exists(access_key: str, region: str, bucket_name: str, upload_id: str) -> bool | None:
    """Whether the bucket holds this multipart upload; None when there is no such bucket."""
    bucket = _s3_bucket(access_key, region, bucket_name)
    return None if bucket is None else upload_id in bucket.multiparts


def rename_s3_upload(access_key: str, region: str, bucket_name: str, current: str, wanted: str) -> bool:
    """Give a multipart upload another id (the one it had before a restart); False when it is not there."""
    bucket = _s3_bucket(access_key, region, bucket_name)
    if bucket is None or current not in bucket.multiparts:
        return False
    upload = bucket.multiparts.pop(current)
    upload.id = wanted
    bucket.multiparts[wanted] = upload
    return True
