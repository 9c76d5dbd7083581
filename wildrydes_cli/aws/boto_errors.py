"""Where boto errors become project errors (the only place; used by ``client.Aws``).

Why separate: the mapping (missing -> NotFoundError, denied or bad credentials
-> AwsError naming the fix, no region or profile -> UsageError) is policy the
whole CLI shares, and it is easier to read and test on its own than inside the
wrapper's many intent methods.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    ResponseStreamingError,
)

from wildrydes_cli.errors import AwsError, LocalTargetError, NotFoundError, UsageError, WildrydesError

_MISSING_CODES = {"404", "NoSuchBucket", "NoSuchKey", "NotFound", "ResourceNotFoundException",
                  "NoSuchEntity", "NotFoundException"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"}
# The local target's own answer when it cannot save a change (a full disk): its failure, not AWS refusing.
LOCAL_STORAGE_CODE = "LocalTargetStorageError"
_BAD_CREDENTIALS = {"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
                    "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId"}
# What a service answers for a call into an opt-in region the account has not enabled.
_REGION_NOT_ENABLED = {"InvalidClientTokenId", "UnrecognizedClientException"}


def code_of(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def message_of(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def is_missing(exc: ClientError) -> bool:
    """True when AWS says the thing does not exist (the many spellings of 404)."""
    if code_of(exc) in _MISSING_CODES:
        return True
    return code_of(exc) == "ValidationError" and "does not exist" in message_of(exc)


@contextmanager
def translate(doing: str, unreachable_hint: str = " Check your network and --region.",
              unreachable: type[WildrydesError] = AwsError, rejected_hint: str = "") -> Iterator[None]:
    """Re-raise boto errors from the block as WildrydesErrors saying what failed and how to fix it.

    ``unreachable``: the error for an endpoint that cannot be reached or stops answering mid-call
    (the target decides: on the local target that is the emulator failing, exit 5, not AWS refusing).
    ``rejected_hint``: what else rejected credentials can mean where the call went (an opt-in
    region that is not enabled answers InvalidClientTokenId too).
    """
    try:
        yield
    except ClientError as exc:
        code = code_of(exc)
        if code == LOCAL_STORAGE_CODE:
            raise LocalTargetError(f"Could not {doing}: {message_of(exc)}") from exc
        if is_missing(exc):
            raise NotFoundError(f"Could not {doing}: {message_of(exc)}") from exc
        if code in _DENIED:
            raise AwsError(f"Could not {doing}: access denied ({message_of(exc)}). Use credentials "
                           "allowed to do this (--profile), or --target local.") from exc
        if code in _BAD_CREDENTIALS:
            raise AwsError(f"Could not {doing}: your AWS credentials were rejected ({code}). "
                           "Refresh them (aws configure / aws sso login) or pick another --profile."
                           f"{rejected_hint if code in _REGION_NOT_ENABLED else ''}") from exc
        raise AwsError(f"Could not {doing}: {code}: {message_of(exc)}") from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise AwsError(f"Could not {doing}: no AWS credentials found. Run `aws configure`, set "
                       "AWS_PROFILE or pass --profile; or use --target local, which needs no account.") from exc
    except ProfileNotFound as exc:
        raise UsageError(f"Could not {doing}: {exc}. Pick a profile from ~/.aws/config with --profile.") from exc
    except NoRegionError as exc:
        raise UsageError(f"Could not {doing}: no region. Pass --region or set AWS_REGION.") from exc
    except EndpointConnectionError as exc:
        raise unreachable(f"Could not {doing}: cannot reach {exc.kwargs.get('endpoint_url', 'AWS')}."
                          f"{unreachable_hint}") from exc
    except (ConnectionClosedError, ReadTimeoutError, ResponseStreamingError) as exc:
        raise unreachable(f"Could not {doing}: {exc.kwargs.get('endpoint_url', 'the endpoint')} stopped answering "
                          f"({type(exc).__name__}).{unreachable_hint}") from exc
    except BotoCoreError as exc:
        raise AwsError(f"Could not {doing}: {exc}") from exc
