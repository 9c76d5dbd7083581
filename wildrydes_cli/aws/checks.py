"""Preflight checks that only real AWS makes necessary: the bucket's region, what the role can read.

Why here and not in deploy's preflight body: each is a rule about AWS that
moto does not enforce, with its own message naming both sides of the
mismatch; deploy calls them before anything is uploaded or created.

* A Lambda function's ``Code.S3Bucket`` must be in the stack's region, else
  CloudFormation fails to fetch the code after the zip was uploaded and the
  stack rolls back with a PermanentRedirect buried in its events.
* The function role that deploy creates may read only the model archives and
  the breed index (cloudformation/function.yml, ``ReadModels``); a
  ``--model-path`` outside those patterns deploys fine and then serves 503s.
* A role has an IAM path (SageMaker's are ``/service-role/...``): its ARN is
  ``arn:...:role/service-role/NAME``, and a template that builds
  ``role/NAME`` names a role that does not exist; Lambda then says the role
  "cannot be assumed". ``role_reference`` takes what GetRole answers.
* Objects encrypted with a customer-managed KMS key (SSE-KMS, by the bucket's
  default encryption or per object) are readable only by a caller allowed
  ``kms:Decrypt`` on that key: the user's credentials pass preflight, the
  function's role 403s. ``model_kms_keys`` names the keys so the template can
  grant them.
* A role given with ``--role`` is read the same way: its identity policies and
  the bucket's policy, evaluated with the evaluator the local target enforces
  the function's calls with (``local/awsapi/iam_policy.py``), so both targets
  refuse the same role, before anything is made, instead of a deploy that
  answers 503 to every request.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from wildrydes_cli.errors import AwsError, UsageError
from wildrydes_cli.local.awsapi import iam_policy

LOG = logging.getLogger(__name__)

# The objects the function role grants s3:GetObject on (keep equal to function.yml; a test checks).
READABLE_MODEL_PATTERNS = ("linear-learner-*/output/model.tar.gz",
                           "breeds/*/linear-learner-*/output/model.tar.gz")


def _iam_match(pattern: str, key: str) -> bool:
    """IAM resource matching: ``*`` is any run of characters (``/`` included), ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, key) is not None


def role_can_read(key: str) -> bool:
    return any(_iam_match(pattern, key) for pattern in READABLE_MODEL_PATTERNS)


def check_model_readable(key: str, own_role: str | None) -> None:
    """Refuse a model key the role deploy creates could not read (a role given with --role is the user's)."""
    if own_role or role_can_read(key):
        return
    raise UsageError(f"--model-path {key} is not readable by the function: the role deploy creates may read "
                     "only " + " and ".join(READABLE_MODEL_PATTERNS) + " in the data bucket (least privilege). "
                     "Copy the model to such a key (e.g. linear-learner-<timestamp>/output/model.tar.gz), or pass "
                     "--role with a role that may read it.")


def check_role_reads_model(aws: Any, role: str, bucket: str, key: str, region: str) -> None:
    """Refuse a ``--role`` whose policies do not let the function read the model (it would answer 503).

    What is read: the role's inline and managed policies and the bucket policy,
    as IAM combines them within one account. What cannot be read (IAM or the
    bucket policy refused to these credentials, a policy the evaluator does
    not handle) is logged and not held against the role; SCPs, permissions
    boundaries and KMS key policies are not read here.
    """
    found = aws.role_policies(role)
    readable, bucket_text = aws.bucket_policy(bucket)
    if found is None or not readable:
        LOG.info("not checking what role %s may read: IAM or the bucket policy cannot be read", role)
        return
    role_arn, documents = found
    try:
        identity = [iam_policy.parse(text, name) for name, text in documents]
        resource_policy = iam_policy.parse(bucket_text, f"the bucket policy of {bucket}") if bucket_text else None
    except iam_policy.PolicyError as exc:
        LOG.info("not checking what role %s may read: %s", role, exc)
        return
    account = role_arn.split(":")[4]
    partition = role_arn.split(":")[1]
    resource = f"arn:{partition}:s3:::{bucket}/{key}"
    context = iam_policy.context(**{
        "aws:PrincipalArn": role_arn, "aws:PrincipalAccount": account, "aws:PrincipalType": "AssumedRole",
        "aws:RequestedRegion": region, "aws:SecureTransport": "true"})
    decision = iam_policy.evaluate_same_account(identity, resource_policy,
                                                iam_policy.Request("s3:GetObject", resource, context),
                                                principal={"AWS": (role_arn,)})
    if decision.allowed:
        return
    why = (f"{decision.policy} denies it" if decision.effect == iam_policy.EXPLICIT_DENY
           else "no policy of the role or the bucket allows it")
    raise UsageError(f"Role {role} may not s3:GetObject s3://{bucket}/{key} ({why}): the function runs with this "
                     f"role and would answer 503 to every request. Grant the role s3:GetObject on {resource}, "
                     "or leave --role out and deploy creates a role that may read the models. Nothing was changed.")


def model_exists(aws: Any, bucket: str, key: str) -> bool:
    """HeadObject, telling the user what an S3 403 means here.

    Without ``s3:ListBucket`` on the bucket, S3 answers a missing key with 403
    AccessDenied instead of 404, so "access denied" may well mean "no such key".
    """
    try:
        return bool(aws.object_exists(bucket, key))
    except AwsError as exc:
        cause = exc.__cause__
        code = str(getattr(cause, "response", {}).get("Error", {}).get("Code", "")) if cause else ""
        if code not in ("403", "AccessDenied"):
            raise
        raise AwsError(f"S3 answered 403 for s3://{bucket}/{key}: either there is no such key (without "
                       "s3:ListBucket on the bucket S3 says 403, not 404) or your credentials may not read it. "
                       "Check --model-path with `aws s3 ls`, or use credentials allowed s3:ListBucket and "
                       "s3:GetObject on the bucket.") from exc


def role_parts(value: str) -> tuple[str, str]:
    """(path, name) of ``--role``: NAME, or path/NAME (``service-role/NAME``, a leading / allowed).

    An ARN is refused: the account and partition are the stack's own, and the role's real path
    is what GetRole answers (``role_reference``).
    """
    if value.startswith("arn:") or ":" in value:
        raise UsageError(f"--role takes a role name (or path/NAME, e.g. service-role/NAME), not an ARN: "
                         f"got {value!r}. Pass the part after ':role/'.")
    path, _, name = value.strip("/").rpartition("/")
    if not name:
        raise UsageError(f"--role {value!r} names no role: pass NAME or path/NAME.")
    return path, name


def role_reference(value: str, arn: str | None) -> str | None:
    """What the template puts after ``:role/``: the role's path and name, from the ARN GetRole returned.

    None when the role does not exist; a UsageError when ``value`` gave a path the role does not have.
    """
    if arn is None:
        return None
    given_path, _ = role_parts(value)
    reference = arn.split(":role/", 1)[1]
    actual_path = reference.rpartition("/")[0]
    if given_path and given_path != actual_path:
        raise UsageError(f"--role {value}: the role's path is /{actual_path + '/' if actual_path else ''}, "
                         f"not /{given_path}/ (its ARN is {arn}). Pass the name alone, or {reference}.")
    return reference


def kms_key_arn(key_id: str | None, partition: str, region: str, account: str) -> str | None:
    """A KMS key id as S3 reports it, as an ARN an IAM policy can name (None for an alias: resolve it first)."""
    if not key_id:
        return None
    if key_id.startswith("arn:"):
        return None if ":alias/" in key_id else key_id
    if key_id.startswith("alias/"):
        return None
    return f"arn:{partition}:kms:{region}:{account}:key/{key_id}"


def model_kms_keys(aws: Any, bucket: str, key: str) -> tuple[str, ...]:
    """The KMS keys the function needs kms:Decrypt on to read the models (SSE-KMS).

    The model object's own key (HeadObject's SSEKMSKeyId, an ARN) and the bucket's default
    key (GetBucketEncryption; models published later get it). An alias is resolved with
    DescribeKey; what cannot be read (no permission) is left out, with a log line. The AWS
    managed key aws/s3 may be among them: its key policy already lets S3 use it for any
    principal of the account, and granting it too is harmless.
    """
    found: list[str] = []
    for algorithm, key_id in (aws.object_encryption(bucket, key), aws.bucket_encryption(bucket)):
        arn = _sse_kms_key_arn(aws, bucket, algorithm, key_id)
        if arn is not None and arn not in found:
            found.append(arn)
    return tuple(found)


def bucket_kms_key(aws: Any, bucket: str) -> str | None:
    """The ARN of the KMS key the bucket encrypts new objects with by default (SSE-KMS), else None: what a
    SageMaker job's role needs to read the channels written there and write its model (GetBucketEncryption
    unreadable, or an alias that cannot be described: None, with a log line)."""
    return _sse_kms_key_arn(aws, bucket, *aws.bucket_encryption(bucket))


def _sse_kms_key_arn(aws: Any, bucket: str, algorithm: str | None, key_id: str | None) -> str | None:
    from wildrydes_cli.aws.regions import partition_of
    if not (algorithm or "").startswith("aws:kms") or not key_id:
        return None
    arn = kms_key_arn(key_id, partition_of(aws.settings.region)[0], aws.settings.region, aws.account_id()) \
        or aws.kms_key_arn(key_id)
    if arn is None:
        LOG.warning("cannot resolve KMS key %s of s3://%s to an ARN: not granted", key_id, bucket)
    return arn


def check_bucket_region(bucket: str, bucket_region: str | None, target_region: str) -> None:
    """The code bucket must be in the target region (Lambda fetches the zip from there)."""
    if bucket_region and bucket_region != target_region:
        raise UsageError(f"Bucket {bucket} is in {bucket_region}, but the target region is {target_region}: "
                         f"Lambda can only load code from a bucket in its own region. Deploy with --region "
                         f"{bucket_region}, or use a data bucket in {target_region} (--bucket).")
