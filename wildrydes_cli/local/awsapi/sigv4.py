"""SigV4 as data: what a request says it signed, its canonical request, its time window (no secrets).

Why a module of its own: the gate (auth.py) decides *whose* secret checks a
request and what passes; what AWS Signature Version 4 says a request is made
of is another job, used by the gate, by API Gateway's check of an AWS_IAM
method's caller (execute_api_auth.py) and by the server to read a signed
request's key and region. Kept apart, the rules below read as the
specification they follow, and none of them holds a key.

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
- S3 only: every ``x-amz-*`` header of the request is among the signed ones
  (else 403 ``AccessDenied`` naming them in ``HeadersNotSigned``, as S3 answers);
  a presigned URL names each of its ``X-Amz-*`` parameters once (else 400
  ``AuthorizationQueryParametersError``: two signatures, one checked, is no check).
What does not hold raises ``Refused`` with a reason (auth.py turns it into the
service's error) and a message that says how to get the credentials.
"""
from __future__ import annotations

import hashlib
import re
import time
from calendar import timegm
from dataclasses import dataclass
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
LITERAL_PAYLOADS = frozenset({"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                              "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"})
FIX = 'Sign requests with the local target\'s credentials: run `eval "$(wildrydes local env)"` and retry.'
HEX64 = re.compile(r"^[0-9a-f]{64}$")
_AMZ_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")
_QUERY_AUTH = frozenset({"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                         "X-Amz-Signature", "X-Amz-Security-Token"})


class Refused(Exception):
    """Why a request is not let through: a reason key of auth.py's ``_CODES`` and a message for the caller."""

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


def check_all_amz_headers_signed(request, s: SignedRequest) -> None:
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


def check_time(s: SignedRequest, now: float, max_skew: int = MAX_SKEW_SECONDS) -> None:
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
        if declared not in LITERAL_PAYLOADS and not HEX64.match(declared):
            raise Refused("malformed", "x-amz-content-sha256 must be the body's SHA-256 in lowercase hex "
                                       "or UNSIGNED-PAYLOAD.")
        return declared
    if s.presigned and s.service == "s3":
        return "UNSIGNED-PAYLOAD"
    return hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_SHA256

