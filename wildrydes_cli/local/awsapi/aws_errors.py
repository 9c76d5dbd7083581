"""Error answers in each AWS protocol's own shape: S3 XML, query-protocol XML, JSON.

Why: an SDK parses an error body by the protocol of the service it called. A JSON
body answered to CloudFormation (query protocol) or S3 (REST-XML) is not an
error botocore can read: the CLI saw "unexpected" failures (exit 70) instead of a
code and a message. Every answer the emulator makes up itself (the SigV4 gate's
refusals in ``auth.py``, the journal's "cannot save" in ``persist.py``, S3's
``NoSuchUpload`` in ``s3_uploads.py``) goes through ``error_response`` here, so
boto3 raises a ``ClientError`` with the code and the message.

The protocol comes from the request: the credential scope's service (S3 is
REST-XML; IAM, STS and CloudFormation are the query protocol, which is also any
form-encoded body or ``Action=`` query; Lambda, API Gateway and CloudWatch Logs
answer JSON).
"""
from __future__ import annotations

import json
import re
import uuid
from urllib.parse import unquote
from xml.sax.saxutils import escape

from wildrydes_cli.local.http import HttpResponse

_JSON_PATH = re.compile(r"^/(\d{4}-\d{2}-\d{2}|restapis|apikeys|domainnames|usageplans|account|clientcertificates|"
                        r"vpclinks|tags|sdktypes|portals)(/|$)")
_HEADER_SCOPE = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/,\s]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"(?:^|&)X-Amz-Credential=[^&]*?(?:/|%2F)[^&]*?(?:/|%2F)[^&]*?(?:/|%2F)([^&/%]+)"
                          r"(?:/|%2F)aws4_request", re.IGNORECASE)
QUERY_SERVICES = frozenset({"iam", "sts", "cloudformation"})


def service_of(request) -> str | None:
    """The service the request was signed for (its credential scope), or None when it names none."""
    match = _HEADER_SCOPE.search(request.header("authorization") or "")
    if match is None:
        match = _QUERY_SCOPE.search(request.query)
    return unquote(match.group(1)).lower() if match else None


def protocol_of(request, service: str | None) -> str:
    """``s3``, ``query`` or ``json``: the shape the caller's SDK parses errors in."""
    if service == "s3":
        return "s3"
    content_type = (request.header("content-type") or "").lower()
    if content_type.startswith("application/x-www-form-urlencoded") or "Action=" in request.query \
            or service in QUERY_SERVICES:
        return "query"
    if service is None and not _JSON_PATH.match(request.path):
        return "s3"
    return "json"


def error_response(request, service: str | None, status: int, codes: tuple[str, str, str], message: str,
                   s3_extra: dict[str, str] | None = None) -> HttpResponse:
    """``status`` with ``codes`` = (S3 code, query-protocol code, JSON-protocol code) and ``message``.

    ``s3_extra``: more elements of S3's ``<Error>`` (S3 names, e.g., the headers that were not signed).
    """
    protocol = protocol_of(request, service)
    s3_code, query_code, json_code = codes
    request_id = str(uuid.uuid4())
    if protocol == "json":
        body = json.dumps({"__type": json_code, "message": message}).encode()
        return HttpResponse(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", json_code),
                                     ("x-amzn-RequestId", request_id)], body)
    if protocol == "query":
        text = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
                f"<Code>{query_code}</Code><Message>{escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return HttpResponse(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], text.encode())
    extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in (s3_extra or {}).items())
    text = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{s3_code}</Code>'
            f"<Message>{escape(message)}</Message>{extra}<RequestId>{request_id}</RequestId></Error>")
    return HttpResponse(status, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)],
                        text.encode())
