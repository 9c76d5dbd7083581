"""IAM roles, users and STS sessions as moto holds them: a role's policies, its credentials, a key's account,
the user an access key belongs to.

A function runs with its role's temporary credentials (function_credentials.py assumes the role
through moto's STS, so GetCallerIdentity knows the session) and its calls are checked against the
role's policies; training jobs check their role's trust policy.

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Any


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
        from .iam_writes import bump

        bump()     # a write into moto's IAM that no IAM action made


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


# --- the account's IAM users (callers of AWS_IAM methods: iam_users.py) -----------------

@dataclass(frozen=True)
class UserRecord:
    """An IAM user found by one of its active access keys, with what decides its calls."""

    arn: str
    name: str
    user_id: str
    account_id: str
    access_key_id: str
    secret_access_key: str
    policies: tuple[tuple[str, str], ...]     # (where it comes from, document): inline and managed, groups' too

    def __repr__(self) -> str:                # never print the secret
        return f"UserRecord(arn={self.arn!r}, access_key_id={self.access_key_id!r})"


def _managed(holder: Any, what: str) -> list[tuple[str, str]]:
    out = []
    for arn, policy in list(holder.managed_policies.items()):
        version = next((v for v in policy.versions if v.version_id == policy.default_version_id), None)
        if version is not None:
            out.append((f"managed policy {arn} attached to {what}", _document(version.document)))
    return out


def user_by_access_key(access_key: str) -> UserRecord | None:
    """The user whose *active* access key this is, in any account moto has made, or None."""
    from moto.iam.models import iam_backends

    for account_id, per_account in list(dict.items(iam_backends)):
        for backend in list(dict.values(per_account)):
            for user in list(backend.users.values()):
                key = next((k for k in list(user.access_keys) if k.access_key_id == access_key), None)
                if key is None:
                    continue
                if key.status != "Active":
                    return None
                policies = [(f"inline policy {name} of user {user.name}", _document(doc))
                            for name, doc in list(user.policies.items())]
                policies += _managed(user, f"user {user.name}")
                for group in list(backend.groups.values()):
                    if any(member is user for member in list(group.users)):
                        policies += [(f"inline policy {name} of group {group.name}", _document(doc))
                                     for name, doc in list(group.policies.items())]
                        policies += _managed(group, f"group {group.name}")
                return UserRecord(arn=user.arn, name=user.name, user_id=user.id, account_id=account_id,
                                  access_key_id=access_key, secret_access_key=key.secret_access_key,
                                  policies=tuple(policies))
    return None
