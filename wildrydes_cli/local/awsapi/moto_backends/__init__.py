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

One module per service (apigateway, lambda_functions and lambda_aliases, s3, iam, logs, cloudformation),
iam_writes (the generation a cache of IAM's answers is keyed on),
plus memory (the weak registry) and replay (the journal's direct writes); callers import
this package and use the names below.
"""
from __future__ import annotations

from .apigateway import (  # noqa: F401
    ApiKeyFacts,
    ApiResource,
    UsagePlanFacts,
    api_key_by_value,
    api_keys,
    api_resources,
    find_rest_api,
    plan_for_key,
    rest_api_in,
    stage_variables,
    usage_plans,
)
from .cloudformation import (  # noqa: F401
    StackFacts,
    apply_role_updates,
    fail_stack_operation,
    parse_template,
    stack_facts,
)
from .iam import (  # noqa: F401
    AssumedCredentials,
    RoleRecord,
    UserRecord,
    account_of,
    assume_role,
    forget_assumed_role,
    role_record,
    role_trust_policy,
    user_by_access_key,
)
from .iam_writes import bump as bump_iam_generation  # noqa: F401
from .iam_writes import generation as iam_generation  # noqa: F401
from .iam_writes import watch as watch_iam_writes  # noqa: F401
from .lambda_aliases import (  # noqa: F401
    pick_version,
    resolve_function,
    split_arn,
)
from .lambda_functions import (  # noqa: F401
    LambdaFunction,
    function_code_snapshot,
    function_config,
    function_version,
    lambda_function,
    stamp_configuration_updates,
)
from .logs import (  # noqa: F401
    MAX_STREAMS_PER_GROUP,
    append_log_events,
    install_filter_log_events,
    log_group_exists,
    log_groups,
    restore_log_events,
)
from .memory import (  # noqa: F401
    WeakInstances,
    track_instances_weakly,
)
from .replay import (  # noqa: F401
    put_s3_object,
    rename_s3_upload,
    s3_upload_exists,
    seed_ids,
)
from .s3 import (  # noqa: F401
    bucket_policy,
    copy_s3_object,
    remember_object_file,
    s3_bucket_region,
    s3_keys,
    s3_object,
)
from .s3_puts import LargePut, large_put  # noqa: F401
from .s3_puts import install as install_s3_puts  # noqa: F401
