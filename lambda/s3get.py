"""The function's S3 reader: signed GETs over ``http.client``, no boto3.

Why: boto3 was ~90% of the lean function's cold start and ~40 MB of its
RSS, to read two kinds of object and list one prefix. What it did
for us is rebuilt here, small and bounded:

- credentials from the environment as Lambda provides them
  (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``),
  region from ``AWS_REGION`` (then ``AWS_DEFAULT_REGION``), endpoint from
  ``AWS_ENDPOINT_URL_S3`` then ``AWS_ENDPOINT_URL`` (the local target and other
  emulators), else ``https://s3.<region>.<suffix>``, the suffix of the region's
  partition as deploy found it in botocore's partition data (``S3_DNS_SUFFIX``:
  amazonaws.com, amazonaws.com.cn, amazonaws.eu, c2s.ic.gov, ...);
- virtual-hosted addressing on AWS for DNS-safe bucket names (dotted names
  would break TLS wildcard certificates), path-style otherwise and on custom
  endpoints (moto, LocalStack and MinIO all serve it);
- time bounds that fit API Gateway's 29 s integration limit: connect 2 s,
  read 5 s per socket operation, and a deadline of 12 s per call covering
  retries and the body (a request makes at most two calls: index, model);
- botocore "standard" retries: at most 3 attempts on 5xx, 429, throttling
  and transient error codes and on connection failures, with full-jitter
  exponential backoff (``sleep`` and ``random`` are injectable);
- one keep-alive connection per host, reused across requests of an
  execution environment (a stale one is replaced once, for free);
- the answers the function must tell apart: ``None`` for a missing key
  (404 NoSuchKey), ``S3Error`` with ``access_denied`` for 403 (keeping S3's own
  ``<Message>``, which names a missing ``kms:Decrypt`` when the object is
  SSE-KMS encrypted), and a message naming the bucket and key for everything else.
"""
from __future__ import annotations

import http.client
import logging
import os
import random
import re
import socket
import ssl  # already imported by http.client; the costly part is a context
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import sigv4

LOG = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
CALL_DEADLINE = 12.0
MAX_ATTEMPTS = 3          # botocore standard mode: 1 call + 2 retries
MAX_BACKOFF = 20.0
MAX_ERROR_BODY = 64 * 1024
MAX_LIST_BODY = 1024 * 1024
CHUNK = 64 * 1024

RETRY_STATUSES = {429, 500, 502, 503, 504}
# botocore/retries/standard.py: throttling and transient error codes.
RETRY_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException",
    "InternalError",
}
_DNS_BUCKET = re.compile(r"\A[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
_MESSAGE = re.compile(rb"<Message>([^<]{1,500})</Message>")


class S3Error(Exception):
    """A call to S3 failed; ``status`` is the HTTP status (0: no answer), ``code`` S3's error code."""

    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    @property
    def access_denied(self) -> bool:
        return self.status == 403 or self.code == "AccessDenied"


class _Retryable(Exception):
    """One attempt failed in a way botocore's standard mode retries."""

    def __init__(self, error: S3Error) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None


def credentials_from_env(env=None) -> Credentials:
    """The role credentials Lambda puts in the environment; ``S3Error`` naming what is missing."""
    env = os.environ if env is None else env
    access, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    missing = [name for name, value in (("AWS_ACCESS_KEY_ID", access), ("AWS_SECRET_ACCESS_KEY", secret))
               if not value]
    if missing:
        raise S3Error(f"no AWS credentials: environment variable(s) {', '.join(missing)} not set "
                      "(Lambda sets them from the function's role)", code="MissingCredentials")
    return Credentials(access, secret, env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None)


def aws_endpoint(region: str, suffix: str | None = None) -> str:
    """S3's regional endpoint; without the partition's ``suffix`` (a function deployed before it was
    given), the two public partitions' rule."""
    if not suffix:
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://s3.{region}.{suffix}"


class S3Client:
    """Signed ``GetObject`` and ``ListObjectsV2`` against one endpoint, one connection per host."""

    def __init__(self, region: str, endpoint: str | None = None, addressing: str = "auto", env=None,
                 dns_suffix: str | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT,
                 deadline: float = CALL_DEADLINE, max_attempts: int = MAX_ATTEMPTS,
                 sleep=None, clock=time.monotonic, rand=None) -> None:
        self.region = region
        self.custom_endpoint = bool(endpoint)
        parts = urlsplit(endpoint or aws_endpoint(region, dns_suffix))
        # A bad endpoint is reported by every call (a 503 naming it), never a crash at start-up.
        self.config_error: str | None = None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.config_error = (f"S3 endpoint {endpoint!r} (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL) "
                                 "is not an http(s) URL")
        self.scheme = parts.scheme
        self.netloc = parts.netloc.rpartition("@")[2]
        self.base_path = parts.path.rstrip("/")
        self.addressing = addressing
        self.env = env
        self.connect_timeout, self.read_timeout, self.deadline = connect_timeout, read_timeout, deadline
        self.max_attempts = max_attempts
        # Injectable for tests; looked up at construction so a test may patch the module's.
        self.sleep = time.sleep if sleep is None else sleep
        self.clock, self.rand = clock, random.random if rand is None else rand
        self._connections: dict[str, http.client.HTTPConnection] = {}
        self._tls: ssl.SSLContext | None = None   # made on the first HTTPS connection (real AWS)
        self.connections_opened = 0   # observable connection reuse (benchmarks, tests)

    @classmethod
    def from_env(cls, env=None, **kwargs) -> S3Client:
        """A client configured as Lambda (or the local target) configures a function."""
        env = os.environ if env is None else env
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        suffix = env.get("S3_DNS_SUFFIX", "").strip().strip(".") or None
        return cls(region, endpoint, env=env, dns_suffix=suffix, **kwargs)

    # ------------------------------------------------------------ requests

    def get_object(self, bucket: str, key: str, limit: int) -> bytes | None:
        """The object's bytes; ``None`` when the key does not exist; ``S3Error`` otherwise.

        More than ``limit`` bytes is an ``S3Error`` (code ``TooLarge``) before
        the body is read, when S3 sent a Content-Length, or as soon as it is exceeded.
        """
        status, code, body = self._call(bucket, key, [], limit)
        if status == 200:
            return body
        if status == 404 and code in ("NoSuchKey", "NotFound", ""):
            return None
        raise self._error(status, code, bucket, key, body=body)

    def list_objects(self, bucket: str, prefix: str, delimiter: str | None = None, max_keys: int = 1000,
                     start_after: str | None = None) -> dict:
        """One ListObjectsV2 page: ``{"keys": [...], "prefixes": [...], "truncated": bool}``."""
        query = [("list-type", "2"), ("max-keys", str(max_keys)), ("prefix", prefix)]
        if delimiter:
            query.append(("delimiter", delimiter))
        if start_after:
            query.append(("start-after", start_after))
        status, code, body = self._call(bucket, "", query, MAX_LIST_BODY)
        if status != 200:
            raise self._error(status, code, bucket, f"{prefix}*", listing=True, body=body)
        return parse_list(body)

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    # ------------------------------------------------------------ internals

    def _error(self, status: int, code: str, bucket: str, key: str, listing: bool = False,
               body: bytes = b"") -> S3Error:
        where = f"s3://{bucket}/{key}"
        what = "listing" if listing else "reading"
        if status == 403:
            said = _MESSAGE.search(body)
            message = _unescape(said.group(1).decode("utf-8", "replace")).strip() if said else ""
            if "kms" in message.lower():   # SSE-KMS: S3 decrypts with the caller's own kms:Decrypt
                action = "kms:Decrypt on the KMS key the object is encrypted with"
            else:
                action = "s3:ListBucket on the bucket" if listing else "s3:GetObject on this object"
            return S3Error(f"access denied {what} {where} ({code or 'AccessDenied'}"
                           f"{': ' + message if message else ''}): the function's role does not allow it; "
                           f"grant {action}", status, code or "AccessDenied")
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
            return S3Error(f"{what} {where} failed ({code}): the bucket is not in region {self.region} "
                           "(AWS_REGION); the function must run in the bucket's region", status, code)
        if code == "NoSuchBucket":
            return S3Error(f"bucket {bucket!r} (OUTPUT_BUCKET) does not exist", status, code)
        return S3Error(f"{what} {where} failed: HTTP {status} {code}".rstrip(), status, code)

    def _address(self, bucket: str, key: str) -> tuple[str, str]:
        """(Host header, encoded path) for the bucket and key, by addressing style."""
        style = self.addressing
        if style == "auto":
            dns_safe = _DNS_BUCKET.match(bucket) is not None and "--" not in bucket
            style = "virtual" if dns_safe and not self.custom_endpoint else "path"
        if style == "virtual":
            return f"{bucket}.{self.netloc}", self.base_path + "/" + sigv4.quote_path(key)
        return self.netloc, f"{self.base_path}/{sigv4.quote_path(bucket)}/{sigv4.quote_path(key)}"

    def _call(self, bucket: str, key: str, query: list, limit: int) -> tuple[int, str, bytes]:
        """(status, error code, body) of the first non-retryable answer, within the deadline."""
        if self.config_error:
            raise S3Error(self.config_error, code="BadEndpoint")
        credentials = credentials_from_env(self.env)
        host, path = self._address(bucket, key)
        encoded_query = sigv4.canonical_query(query)
        target = f"{path}?{encoded_query}" if encoded_query else path
        give_up_at = self.clock() + self.deadline
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(host, target, path, encoded_query, credentials, limit, give_up_at)
            except _Retryable as failed:
                remaining = give_up_at - self.clock()
                if attempt >= self.max_attempts or remaining <= 0:
                    error = failed.error
                    LOG.warning("S3 %s%s: giving up after %d attempt(s): %s", host, path, attempt, error.message)
                    raise S3Error(f"reading s3://{bucket}/{key} failed after {attempt} attempt(s): "
                                  f"{error.message}", error.status, error.code) from None
                delay = min(self.rand() * min(MAX_BACKOFF, 2.0 ** (attempt - 1)), remaining)
                LOG.info("S3 %s%s: %s; retry %d in %.2f s", host, path, failed.error.message, attempt, delay)
                self.sleep(delay)

    def _attempt(self, host: str, target: str, path: str, query: str, credentials: Credentials,
                 limit: int, give_up_at: float) -> tuple[int, str, bytes]:
        headers = sigv4.sign("GET", host, path, query, access_key=credentials.access_key,
                             secret_key=credentials.secret_key, token=credentials.token, region=self.region)
        headers["User-Agent"] = "wildrydes-function"
        for fresh in (False, True):
            reused = False
            try:
                connection, reused = self._connection(host, fresh)
                self._timeout(connection, give_up_at)
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
                return self._read(connection, host, response, limit, give_up_at)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(host)
                if reused and not fresh:
                    continue  # the server closed an idle keep-alive connection: reconnect once, free
                raise _Retryable(S3Error(f"connection to {host} failed ({type(exc).__name__})")) from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(host)
                kind = "timed out" if isinstance(exc, (socket.timeout, TimeoutError)) else "failed"
                raise _Retryable(S3Error(f"connection to {host} {kind} ({type(exc).__name__}: {exc})")) from None
        raise AssertionError("unreachable")

    def _read(self, connection, host: str, response, limit: int, give_up_at: float) -> tuple[int, str, bytes]:
        status = response.status
        cap = limit if status == 200 else MAX_ERROR_BODY
        length = response.getheader("Content-Length")
        if status == 200 and length and length.isdigit() and int(length) > cap:
            self._drop(host)   # do not read a body we would refuse
            raise S3Error(f"object is {int(length)} bytes, over the limit of {cap}", status, "TooLarge")
        chunks, size = [], 0
        while True:
            self._timeout(connection, give_up_at)
            chunk = response.read(min(CHUNK, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                self._drop(host)
                if status == 200:
                    raise S3Error(f"object is over the limit of {cap} bytes", status, "TooLarge")
                break
        body = b"".join(chunks)
        if response.will_close:
            self._drop(host)
        code = ""
        if status >= 300:
            found = _CODE.search(body)
            code = found.group(1).decode("utf-8", "replace") if found else ""
            if status in RETRY_STATUSES or code in RETRY_CODES:
                raise _Retryable(S3Error(f"HTTP {status} {code}".rstrip(), status, code))
        return status, code, body

    def _connection(self, host: str, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        if fresh:
            self._drop(host)
        connection = self._connections.get(host)
        if connection is not None:
            return connection, True
        hostname, _, port = host.rpartition(":") if host.rsplit(":", 1)[-1].isdigit() else (host, "", "")
        if self.scheme == "https":
            if self._tls is None:
                # Loading the CA bundle costs tens of ms: once per execution environment, not per connection.
                self._tls = ssl.create_default_context()
            connection = http.client.HTTPSConnection(hostname, int(port or 443), timeout=self.connect_timeout,
                                                     context=self._tls)
        else:
            connection = http.client.HTTPConnection(hostname, int(port or 80), timeout=self.connect_timeout)
        connection.connect()
        self.connections_opened += 1
        self._connections[host] = connection
        return connection, False

    def _timeout(self, connection, give_up_at: float) -> None:
        remaining = give_up_at - self.clock()
        if remaining <= 0:
            self._drop_connection(connection)
            raise _Retryable(S3Error(f"no answer within the {self.deadline:g} s deadline"))
        if connection.sock is not None:
            connection.sock.settimeout(min(self.read_timeout, remaining))

    def _drop_connection(self, connection) -> None:
        for host, known in list(self._connections.items()):
            if known is connection:
                self._drop(host)

    def _drop(self, host: str) -> None:
        connection = self._connections.pop(host, None)
        if connection is not None:
            connection.close()


def _unescape(text: str) -> str:
    """XML's five entities, as S3 writes them in an error's <Message>."""
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def parse_list(body: bytes) -> dict:
    """Keys, common prefixes and the truncation flag of a ListObjectsV2 answer."""
    from xml.etree import ElementTree  # only GET /breeds lists: keep it off the cold path

    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise S3Error(f"ListObjectsV2 answer is not XML ({exc})", 200, "BadXml") from None
    keys, prefixes, truncated = [], [], False
    for element in root:
        tag = element.tag.rpartition("}")[2]
        if tag == "Contents":
            keys += [child.text or "" for child in element if child.tag.rpartition("}")[2] == "Key"]
        elif tag == "CommonPrefixes":
            prefixes += [child.text or "" for child in element if child.tag.rpartition("}")[2] == "Prefix"]
        elif tag == "IsTruncated":
            truncated = (element.text or "").strip().lower() == "true"
    return {"keys": keys, "prefixes": prefixes, "truncated": truncated}
