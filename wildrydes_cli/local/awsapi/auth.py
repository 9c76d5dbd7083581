"""The SigV4 gate in front of moto: AWS API calls must be signed with the local target's credentials.

Why: whoever can call the emulator's Lambda and API Gateway APIs can run code
as the daemon's user (create a function, wire an API, call it through
execute-api). So every request the daemon hands to moto must carry a valid
AWS Signature Version 4 made with the secret in the user's 0600 credentials
file (see credentials.py). The execute-api front and the health probe stay open.

The gate finds the secret a request must have been signed with (ours, a role
session's, an IAM user's for execute-api), computes the signature over the
canonical request sigv4.py rebuilds (which says what is checked, as AWS does),
and compares them with ``hmac.compare_digest``.
Refusals are 403s (400 for a body that does not match its declared hash) with
the body shape of the service's protocol (S3 XML, query XML, JSON with
``x-amzn-ErrorType``: ``aws_errors.py``), so SDKs raise a ClientError with a
code, and the message says how to get the credentials.

The other credentials admitted are a deployed function's: its role's session,
issued by ``function_credentials.py`` (checked the same way, plus the session
token, ``InvalidToken``/``ExpiredToken`` otherwise). Those calls then pass
``role_calls.py``, which refuses what the role may not do; the user's own stay
unrestricted.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.local.awsapi import aws_errors, execute_api_auth
from wildrydes_cli.local.awsapi.credentials import Credentials, credentials_file, read_credentials
from wildrydes_cli.local.awsapi.function_credentials import RoleSession
from wildrydes_cli.local.awsapi.iam_users import UserCalls, UserRecord
from wildrydes_cli.local.awsapi.role_calls import RoleCalls
from wildrydes_cli.local.awsapi.sigv4 import (
    ALGORITHM,
    FIX,
    HEX64,
    MAX_SKEW_SECONDS,
    Refused,
    SignedRequest,
    canonical_request,
    check_all_amz_headers_signed,
    check_time,
    parse_signature,
)
from wildrydes_cli.local.http import HttpResponse

LOG = logging.getLogger(__name__)

LOG_REFUSALS_PER_MINUTE = 20  # a flood of bad requests must not grow the daemon's log without bound

# (S3 code, query-protocol code, JSON-protocol code) per reason
_CODES = {
    "missing": ("AccessDenied", "MissingAuthenticationToken", "MissingAuthenticationTokenException"),
    "malformed": ("AuthorizationHeaderMalformed", "IncompleteSignature", "IncompleteSignatureException"),
    "unknown_key": ("InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException"),
    "signature": ("SignatureDoesNotMatch", "SignatureDoesNotMatch", "InvalidSignatureException"),
    "skew": ("RequestTimeTooSkewed", "SignatureDoesNotMatch", "InvalidSignatureException"),
    "expired": ("AccessDenied", "SignatureDoesNotMatch", "InvalidSignatureException"),
    "payload": ("XAmzContentSHA256Mismatch", "SignatureDoesNotMatch", "InvalidSignatureException"),
    "not_signed": ("AccessDenied", "SignatureDoesNotMatch", "InvalidSignatureException"),
    "query": ("AuthorizationQueryParametersError", "IncompleteSignature", "IncompleteSignatureException"),
    "token": ("InvalidToken", "InvalidClientTokenId", "UnrecognizedClientException"),
    "expired_token": ("ExpiredToken", "ExpiredToken", "ExpiredTokenException"),
}
_STATUS = {"payload": 400, "query": 400}   # every other refusal is a 403


class Gate:
    """Checks requests against the current credentials; re-reads the file if it was replaced."""

    def __init__(self, state_dir: Path, credentials: Credentials, clock: Callable[[], float] = time.time,
                 roles: RoleCalls | None = None, users: UserCalls | None = None):
        self.path = credentials_file(state_dir)
        self.credentials = credentials
        self.clock = clock
        self.roles = roles      # functions' role sessions, and the check of their calls
        self.users = users      # the account's IAM users: callers of AWS_IAM methods only (execute_api_auth.py)
        self._file_id = self._stat()
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self._log_window = (0.0, 0)  # (minute start, refusals logged in it)

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns

    def _current(self, access_key: str) -> Credentials:
        """The credentials; when a key is unknown, pick up a credentials file made after we started."""
        if access_key != self.credentials.access_key_id:
            file_id = self._stat()
            if file_id is not None and file_id != self._file_id:
                try:
                    self.credentials = read_credentials(self.path)
                    self._keys.clear()
                    LOG.info("re-read the local target credentials from %s", self.path)
                except (OSError, LocalTargetError) as exc:  # a bad file keeps the old key: say so, once per change
                    LOG.warning("ignoring the changed credentials file: %s", exc)
                self._file_id = file_id
        return self.credentials

    def _signing_key(self, secret: str, date: str, region: str, service: str) -> bytes:
        cache_key = (secret, date, region, service)
        key = self._keys.get(cache_key)
        if key is None:
            key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
            for part in (region, service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            if len(self._keys) > 64:
                self._keys.clear()
            self._keys[cache_key] = key
        return key

    # -- the check ------------------------------------------------------------------
    def call(self, handler: Callable[..., HttpResponse], request, *args) -> HttpResponse:
        """``handler(request, *args)`` for a correctly signed request (a role session's: if its role
        may), else the refusal."""
        try:
            signed, session = self.verify(request)
        except Refused as exc:
            self.log_refusal(request, exc)
            return error_response(request, exc.service, exc.reason, str(exc))
        if session is None or self.roles is None:
            return handler(request, *args)
        if not isinstance(session, RoleSession):    # users=None above: only ours or a role session's pass
            return error_response(request, signed.service, "unknown_key", "Unknown access key. " + FIX)
        return self.roles.call(session, request, signed.service, signed.region, lambda: handler(request, *args))

    def refusal(self, request) -> HttpResponse | None:
        """None when ``request`` is correctly signed, else the AWS-shaped error response."""
        try:
            self.verify(request)
            return None
        except Refused as exc:
            self.log_refusal(request, exc)
            return error_response(request, exc.service, exc.reason, str(exc), exc.s3_extra)

    def execute_api_refusal(self, request, method_arn: str) -> tuple[str, str] | None:
        """For a method with AuthorizationType AWS_IAM: None when the caller may invoke ``method_arn``, else
        (x-amzn-ErrorType, message) as API Gateway answers (execute_api_auth.py)."""
        return execute_api_auth.refusal(self, request, method_arn)

    def log_refusal(self, request, exc: Refused) -> None:
        start, count = self._log_window
        now = time.monotonic()
        if now - start >= 60:
            if count > LOG_REFUSALS_PER_MINUTE:
                LOG.warning("%d more AWS API calls refused in the last minute (not logged)",
                            count - LOG_REFUSALS_PER_MINUTE)
            start, count = now, 0
        self._log_window = (start, count + 1)
        if count < LOG_REFUSALS_PER_MINUTE:
            LOG.info("refused %s %s: %s", request.method, request.path[:200], exc)

    def verify(self, request, users: UserCalls | None = None,
                max_skew: int = MAX_SKEW_SECONDS) -> tuple[SignedRequest, RoleSession | UserRecord | None]:
        """The request's signature checked; the caller when it is not the local target's own credentials.
        ``users``: also admit the keys of the account's IAM users (execute-api only)."""
        signed = parse_signature(request)
        try:
            return signed, self._check(request, signed, users, max_skew)
        except Refused as exc:
            exc.service = signed.service
            raise

    def _secret(self, request, s: SignedRequest,
                users: UserCalls | None) -> tuple[str, RoleSession | UserRecord | None]:
        """The secret to check the signature with: ours, a function role session's (its token must match), or,
        when ``users`` is given, an IAM user's."""
        session = self.roles.sessions.find(s.access_key) if self.roles is not None else None
        if session is None:
            # an IAM user's key first: it is not ours, and asking the credentials file (a stat) on each of
            # its requests would cost as much as the rest of the user's check
            user = users.find(s.access_key) if users is not None and s.access_key != self.credentials.access_key_id \
                else None
            if user is not None:
                return user.secret_access_key, user
            credentials = self._current(s.access_key)
            if not hmac.compare_digest(s.access_key.encode(), credentials.access_key_id.encode()):
                raise Refused("unknown_key", f"The AWS access key id {s.access_key[:64]!r} is not the local "
                                             "target's (the credentials of another account or profile, or another "
                                             "user's emulator on this port?). " + FIX)
            return credentials.secret_access_key, None
        token = request.header("x-amz-security-token") or s.fields.get("X-Amz-Security-Token", "")
        if not hmac.compare_digest(token.encode(), session.session_token.encode()):
            raise Refused("token", "The security token included in the request is invalid (a role session's "
                                   "credentials need their AWS_SESSION_TOKEN).")
        if self.clock() >= session.expires_at:
            raise Refused("expired_token", "The security token included in the request is expired: the function's "
                                           "role credentials are renewed when its worker is replaced.")
        return session.secret_access_key, session

    def _check(self, request, s: SignedRequest, users: UserCalls | None,
               max_skew: int) -> RoleSession | UserRecord | None:
        """Refuse unless the key is known, the time is right and the signature matches (then the body hash)."""
        secret, session = self._secret(request, s, users)
        check_time(s, self.clock(), max_skew)
        canonical = canonical_request(request, s)
        to_sign = "\n".join([ALGORITHM, s.amz_date, f"{s.date}/{s.region}/{s.service}/aws4_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = self._signing_key(secret, s.date, s.region, s.service)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), s.signature.encode("utf-8", "replace")):
            LOG.debug("canonical request:\n%s", canonical)
            raise Refused("signature", "The request signature we calculated does not match the signature you "
                                       "provided. Check your secret access key and signing method. " + FIX)
        check_all_amz_headers_signed(request, s)
        declared = request.header("x-amz-content-sha256")
        if declared is not None and HEX64.match(declared):
            digest = hashlib.sha256(request.body).hexdigest()
            if not hmac.compare_digest(digest, declared):
                raise Refused("payload", "The provided 'x-amz-content-sha256' header does not match what was "
                                         "computed from the body.")
            request.checked_digest = (request.body, digest)
        return session


# -- refusals in the shape of each protocol (aws_errors.py) ---------------------------
def error_response(request, service: str | None, reason: str, message: str,
                   s3_extra: dict[str, str] | None = None) -> HttpResponse:
    """A 403 (400 for a body hash mismatch) that SDKs parse into a ClientError with the right code."""
    return aws_errors.error_response(request, service, _STATUS.get(reason, 403), _CODES[reason], message,
                                     s3_extra)
