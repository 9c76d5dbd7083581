"""The SigV4 gate in front of moto: AWS API calls must be signed with the local target's credentials.

Why: whoever can call the emulator's Lambda and API Gateway APIs can run code
as the daemon's user (create a function, wire an API, call it through
execute-api). So every request the daemon hands to moto must carry a valid
AWS Signature Version 4 made with the secret in the user's 0600 credentials
file (see credentials.py). The execute-api front and the health probe stay open.

What is checked, as AWS does (and botocore signs; tests use it as the oracle):
- ``Authorization: AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request,
  SignedHeaders=..., Signature=...``, or the same in the query string
  (``X-Amz-Signature``, presigned URLs, with ``X-Amz-Expires``);
- the canonical request is rebuilt from the request as received: method, path
  as sent (S3: as is; other services: dot segments removed, then encoded once
  more), the sorted canonical query, the signed headers, and the payload hash:
  ``x-amz-content-sha256`` when sent (a hex value must match the body),
  else the SHA-256 of the body. ``UNSIGNED-PAYLOAD`` and the ``STREAMING-*``
  values are accepted as S3 does; for ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``
  the seed signature is checked, the per-chunk signatures are not;
- the request time within 15 minutes of ours, the scope's date equal to it;
- signatures compared with ``hmac.compare_digest``.
- S3 only: every ``x-amz-*`` header of the request is among the signed ones
  (else 403 ``AccessDenied`` naming them in ``HeadersNotSigned``, as S3 answers);
  a presigned URL names each of its ``X-Amz-*`` parameters once (else 400
  ``AuthorizationQueryParametersError``: two signatures, one checked, is no check).
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
import re
import time
from calendar import timegm
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.local.awsapi import aws_errors, execute_api_auth
from wildrydes_cli.local.awsapi.credentials import Credentials, credentials_file, read_credentials
from wildrydes_cli.local.awsapi.function_credentials import RoleSession
from wildrydes_cli.local.awsapi.iam_users import UserCalls, UserRecord
from wildrydes_cli.local.awsapi.role_calls import RoleCalls
from wildrydes_cli.local.http import HttpResponse

LOG = logging.getLogger(__name__)

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
LOG_REFUSALS_PER_MINUTE = 20  # a flood of bad requests must not grow the daemon's log without bound
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
LITERAL_PAYLOADS = frozenset({"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                              "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"})
FIX = 'Sign requests with the local target\'s credentials: run `eval "$(wildrydes local env)"` and retry.'
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_AMZ_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")

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
_QUERY_AUTH = frozenset({"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                         "X-Amz-Signature", "X-Amz-Security-Token"})


class Refused(Exception):
    """Why a request is not let through: a reason key of ``_CODES`` and a message for the caller."""

    def __init__(self, reason: str, message: str, service: str | None = None,
                 s3_extra: dict[str, str] | None = None):
        super().__init__(message)
        self.reason = reason
        self.service = service  # from the credential scope, when the request got that far
        self.s3_extra = s3_extra


def _split_pairs(text: str, sep: str) -> dict[str, str]:
    out = {}
    for part in text.split(sep):
        name, eq, value = part.strip().partition("=")
        if eq:
            out[name] = value
    return out


def _amz_time(value: str) -> int:
    match = _AMZ_DATE.match(value)
    if not match:
        raise Refused("malformed", f"X-Amz-Date {value[:40]!r} is not of the form YYYYMMDDTHHMMSSZ.")
    y, mo, d, h, mi, s = (int(g) for g in match.groups())
    try:
        return timegm((y, mo, d, h, mi, s, 0, 0, 0)) if 1 <= mo <= 12 and 1 <= d <= 31 else -1
    except (ValueError, OverflowError):
        return -1


def canonical_query(query: str, drop: str | None = None) -> str:
    """Sorted ``name=value`` pairs, each part encoded the SigV4 way (decoded first, so either input form works)."""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = quote(unquote(name), safe="-_.~")
        if name == drop:
            continue
        pairs.append((name, quote(unquote(value), safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def canonical_path(raw_path: str, service: str) -> str:
    """S3 signs the path as sent; every other service signs it normalised and encoded once more."""
    if service == "s3":
        return raw_path or "/"
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)
    if raw_path.endswith("/") and segments:
        path += "/"
    return quote(path, safe="/~")


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
                max_skew: int = MAX_SKEW_SECONDS) -> "tuple[SignedRequest, RoleSession | UserRecord | None]":
        """The request's signature checked; the caller when it is not the local target's own credentials.
        ``users``: also admit the keys of the account's IAM users (execute-api only)."""
        signed = parse_signature(request)
        try:
            return signed, self._check(request, signed, users, max_skew)
        except Refused as exc:
            exc.service = signed.service
            raise

    def _secret(self, request, s: "SignedRequest",
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

    def _check(self, request, s: "SignedRequest", users: UserCalls | None,
               max_skew: int) -> RoleSession | UserRecord | None:
        """Refuse unless the key is known, the time is right and the signature matches (then the body hash)."""
        secret, session = self._secret(request, s, users)
        _check_time(s, self.clock(), max_skew)
        canonical = canonical_request(request, s)
        to_sign = "\n".join([ALGORITHM, s.amz_date, f"{s.date}/{s.region}/{s.service}/aws4_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = self._signing_key(secret, s.date, s.region, s.service)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), s.signature.encode("utf-8", "replace")):
            LOG.debug("canonical request:\n%s", canonical)
            raise Refused("signature", "The request signature we calculated does not match the signature you "
                                       "provided. Check your secret access key and signing method. " + FIX)
        _check_all_amz_headers_signed(request, s)
        declared = request.header("x-amz-content-sha256")
        if (declared is not None and _HEX64.match(declared)
                and not hmac.compare_digest(hashlib.sha256(request.body).hexdigest(), declared)):
            raise Refused("payload", "The provided 'x-amz-content-sha256' header does not match what was "
                                     "computed from the body.")
        return session


@dataclass(frozen=True)
class SignedRequest:
    """What a request's SigV4 authorization (header or presigned query) says, before it is checked."""

    presigned: bool
    fields: dict[str, str]          # the presigned URL's X-Amz-* query fields (or the header's pairs)
    access_key: str
    date: str                       # the credential scope's YYYYMMDD
    region: str
    service: str
    signed_headers: str             # "host;x-amz-date;..."
    signature: str
    amz_date: str                   # the request time, YYYYMMDDTHHMMSSZ
    query: str


def parse_signature(request) -> SignedRequest:
    """The request's SigV4 authorization, or Refused (missing, SigV2, another algorithm, malformed)."""
    authorization = request.header("authorization")
    query = request.query
    if authorization is None and "X-Amz-Signature=" in query:
        names = [unquote(part.partition("=")[0]) for part in query.split("&")]
        twice = sorted({n for n in names if n in _QUERY_AUTH and names.count(n) > 1})
        if twice:   # which one would count? S3 refuses such a URL; so do we
            raise Refused("query", f"The presigned URL names {twice[0]} more than once; sign it again.")
        fields = {unquote(k): unquote(v) for k, v in _split_pairs(query, "&").items()}
        presigned = True
        algorithm, credential = fields.get("X-Amz-Algorithm", ""), fields.get("X-Amz-Credential", "")
        signed, signature = fields.get("X-Amz-SignedHeaders", ""), fields.get("X-Amz-Signature", "")
        amz_date = fields.get("X-Amz-Date", "")
    elif authorization is not None:
        presigned = False
        algorithm, _, rest = authorization.strip().partition(" ")
        fields = _split_pairs(rest, ",")
        credential, signed, signature = (fields.get(k, "") for k in ("Credential", "SignedHeaders", "Signature"))
        amz_date = request.header("x-amz-date") or ""
    elif "AWSAccessKeyId=" in query:
        raise Refused("malformed", "Signature Version 2 presigned URLs are not accepted: the local target "
                                   "accepts Signature Version 4 only (AWS CLI: `aws configure set "
                                   "default.s3.signature_version s3v4`; botocore: "
                                   "Config(signature_version='s3v4')).")
    else:
        raise Refused("missing", "Request is missing Authentication Token: the local target accepts AWS API "
                                 "calls only when they are signed (AWS Signature Version 4) with its own "
                                 "credentials. " + FIX)
    if algorithm != ALGORITHM:
        raise Refused("malformed", f"Unsupported authorization {algorithm[:40]!r}: the local target accepts "
                                   f"{ALGORITHM} (Signature Version 4) only (botocore: "
                                   "Config(signature_version='s3v4') for S3). " + FIX)
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope) or not signed or not signature:
        raise Refused("malformed", "The authorization is malformed: expected Credential=KEY/DATE/REGION/"
                                   "SERVICE/aws4_request, SignedHeaders and Signature. " + FIX)
    access_key, date, region, service = scope[:4]
    return SignedRequest(presigned, fields, access_key, date, region, service, signed, signature, amz_date, query)


def _check_all_amz_headers_signed(request, s: SignedRequest) -> None:
    """S3 refuses a signed request that carries an ``x-amz-*`` header the signature does not cover:
    such a header (an ACL, metadata, a copy source) would change what the request does unsigned."""
    if s.service != "s3":
        return
    signed = set(s.signed_headers.split(";"))
    unsigned = sorted({name.lower() for name, _ in request.headers
                       if name.lower().startswith("x-amz-") and name.lower() not in signed})
    if unsigned:
        raise Refused("not_signed", "There were headers present in the request which were not signed",
                      s3_extra={"HeadersNotSigned": ", ".join(unsigned)[:1024]})


def _check_time(s: SignedRequest, now: float, max_skew: int = MAX_SKEW_SECONDS) -> None:
    """The request time against the scope's date and this clock (15 minutes' skew; a presigned URL's expiry)."""
    request_time = _amz_time(s.amz_date)
    if not s.amz_date.startswith(s.date) or request_time < 0:
        raise Refused("malformed", f"The credential scope date {s.date[:16]!r} does not match the request time "
                                   f"{s.amz_date[:40]!r}. " + FIX)
    if not s.presigned:
        if abs(now - request_time) > max_skew:
            raise Refused("skew", f"Signature expired or not yet valid: the request time {s.amz_date} is more "
                                  f"than {max_skew // 60} minutes from the local target's time "
                                  f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}. Check the clock, and "
                                  "sign each request when it is sent.")
        return
    try:
        expires = int(s.fields.get("X-Amz-Expires", ""))
    except ValueError:
        expires = -1
    if not 1 <= expires <= MAX_PRESIGN_SECONDS:
        raise Refused("malformed", f"X-Amz-Expires must be 1 to {MAX_PRESIGN_SECONDS} seconds.")
    if now > request_time + expires:
        raise Refused("expired", f"Request has expired: the presigned URL was valid until "
                                 f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(request_time + expires))}.")
    if request_time > now + MAX_SKEW_SECONDS:
        raise Refused("skew", "The presigned URL is dated in the future; check this machine's clock.")


def canonical_request(request, s: SignedRequest) -> str:
    """SigV4's canonical request for ``request`` as ``s`` says it was signed (Refused when it cannot be)."""
    names = s.signed_headers.split(";")
    if "host" not in names:
        raise Refused("malformed", "SignedHeaders must include host. " + FIX)
    headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers.setdefault(name.lower(), []).append(" ".join(value.split()))
    missing = [n for n in names if n not in headers]
    if missing:
        raise Refused("signature", f"Signed header {missing[0][:64]!r} is not in the request. " + FIX)
    return "\n".join([
        request.method,
        canonical_path(request.path, s.service),
        canonical_query(s.query, drop="X-Amz-Signature" if s.presigned else None),
        "".join(f"{n}:{','.join(headers[n])}\n" for n in names),
        s.signed_headers,
        _payload_hash(request, s),
    ])


def _payload_hash(request, s: SignedRequest) -> str:
    """The payload line: the declared x-amz-content-sha256, UNSIGNED-PAYLOAD for presigned S3, else the body's."""
    declared = request.header("x-amz-content-sha256")
    if declared is not None:
        if declared not in LITERAL_PAYLOADS and not _HEX64.match(declared):
            raise Refused("malformed", "x-amz-content-sha256 must be the body's SHA-256 in lowercase hex "
                                       "or UNSIGNED-PAYLOAD.")
        return declared
    if s.presigned and s.service == "s3":
        return "UNSIGNED-PAYLOAD"
    return hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_SHA256


# -- refusals in the shape of each protocol (aws_errors.py) ---------------------------
def error_response(request, service: str | None, reason: str, message: str,
                   s3_extra: dict[str, str] | None = None) -> HttpResponse:
    """A 403 (400 for a body hash mismatch) that SDKs parse into a ClientError with the right code."""
    return aws_errors.error_response(request, service, _STATUS.get(reason, 403), _CODES[reason], message,
                                     s3_extra)
