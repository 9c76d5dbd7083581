"""API Gateway's side of an invoke URL, which moto lacks, for ``AwsBehaviour`` (mixed in): IAM authorization, keys.

moto's API Gateway stores ``AuthorizationType: AWS_IAM`` and nothing answers an
invoke URL (``https://API.execute-api.REGION.amazonaws.com/STAGE/...``): the
``--target aws`` paths that call it (``predict`` signing with the caller's
credentials) had never met a refusal. This layer answers those URLs as API
Gateway does for a method with ``AWS_IAM``, by the rows of
``tests/execute_api_rules.py`` (the table the local target's tests are held to
as well), each rule's source named there:

1. unsigned: 403 ``Missing Authentication Token``;
2. an access key that is neither the tests' own credentials (the account's
   root here) nor an active key of one of moto's IAM users: 403
   ``The security token included in the request is invalid.``;
3. a request time more than 5 minutes off this clock: 403 ``Signature expired: ...
   (NOW - 5 min.)`` / ``Signature not yet current: ...``;
4. a signature that does not match (recomputed with botocore's signer, the oracle,
   at the request's own time): 403 ``The request signature we calculated does not
   match ...``; another service's scope: 403 ``Credential should be scoped ...``;
5. an IAM user whose policies (inline, attached managed, its groups', as moto
   holds them) do not allow ``execute-api:Invoke`` on the method's ARN: 403
   ``{"Message": "User: ARN is not authorized to perform: execute-api:Invoke on
   resource: ARN"}``, "... with an explicit deny" when a Deny decided.

A method that requires an API key: no ``x-api-key``, or no enabled key of that
value, is 403 ``{"message":"Forbidden"}`` (API Gateway Developer Guide, "Usage
plans and API keys"); a request let through is counted for its key and UTC day,
and ``GetUsage`` (which moto answers 404 "Not yet implemented") answers from
those counts: per key one ``[used, remaining]`` pair per day, remaining being the
plan's quota left in its period, 0 without one (Developer Guide, "Maintain a
usage plan for REST APIs in API Gateway"; API reference, GetUsage). No delay is
scripted: AWS's documentation gives none (a re:Post report says usage can show
up more than 30 minutes late; status says the figure is API Gateway's count,
which applies the plan best-effort).

What passes gets a canned answer of the function (``ALLOWED_ANSWER``): running
the function is not what this layer scripts. A method without AWS_IAM passes
as well. Installed by patching ``urllib.request.urlopen`` (what ``predict``
sends with) for execute-api hosts only.
"""
from __future__ import annotations

import calendar
import io
import json
import os
import re
import time
import urllib.error
import urllib.request
from email.message import Message
from typing import Any
from unittest import mock

ALLOWED_ANSWER = {"score": 0.9868, "predicted_label": 1}
MAX_SKEW_SECONDS = 5 * 60        # IAM User Guide, "AWS Signature Version 4 for API requests"
_HOST = re.compile(r"^https://(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
                   r"/(?P<stage>[^/?]+)(?P<path>/[^?]*)?")
_SIGNATURE = re.compile(r"Signature=([0-9a-f]+)")


class _Answer(io.BytesIO):
    """What urlopen returns for a 200."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(body)
        self.status = status


def _stamp(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


class ExecuteApiBehaviour:
    """Mixed into AwsBehaviour: ``_execute_api_init`` in its __init__, install/uninstall in __enter__/__exit__."""

    region: str

    def _execute_api_init(self) -> None:
        self.execute_api_answers: list[tuple[str, int]] = []     # (url, status) per request answered
        self.key_usage: dict[tuple[str, str], int] = {}           # (key id, UTC day) -> requests let through
        self._urlopen = urllib.request.urlopen
        self._patch: Any = None

    def _execute_api_install(self) -> None:
        self._patch = mock.patch("urllib.request.urlopen", self._open)
        self._patch.start()

    def _execute_api_uninstall(self) -> None:
        if self._patch is not None:
            self._patch.stop()

    def _open(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        if not _HOST.match(url):
            return self._urlopen(request, *args, **kwargs)
        headers = dict(request.header_items()) if isinstance(request, urllib.request.Request) else {}
        body = (request.data or b"") if isinstance(request, urllib.request.Request) else b""
        status, error_type, answer = self.answer_execute_api(request.get_method(), url, headers, body)
        self.execute_api_answers.append((url, status))
        raw = json.dumps(answer).encode()
        if status == 200:
            return _Answer(200, raw)
        message = Message()
        message["Content-Type"] = "application/json"
        if error_type:
            message["x-amzn-ErrorType"] = error_type
        raise urllib.error.HTTPError(url, status, "Forbidden", message, io.BytesIO(raw))

    # -- API Gateway's decision -------------------------------------------------------
    def answer_execute_api(self, method: str, url: str, headers: dict[str, str],
                           body: bytes) -> tuple[int, str | None, dict]:
        """(status, x-amzn-ErrorType, body) as API Gateway answers an execute-api request."""
        found = _HOST.match(url)
        assert found is not None
        api_id, region, stage = found.group("api"), found.group("region"), found.group("stage")
        path = (found.group("path") or "/").lstrip("/")
        authorization_type, key_required = self._method(api_id, path)
        if key_required:
            return self._keyed(headers)
        if authorization_type != "AWS_IAM":
            return 200, None, ALLOWED_ANSWER
        lowered = {k.lower(): v for k, v in headers.items()}
        authorization = lowered.get("authorization")
        if authorization is None:
            return 403, "MissingAuthenticationTokenException", {"message": "Missing Authentication Token"}
        scope = re.search(r"Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request", authorization)
        if scope is None:
            return 403, "IncompleteSignatureException", {"message": "Authorization header requires 'Credential'"}
        access_key, _, signed_region, service = scope.groups()
        caller = self._caller(access_key)
        if caller is None:
            return 403, "UnrecognizedClientException", {
                "message": "The security token included in the request is invalid."}
        amz_date = lowered.get("x-amz-date", "")
        now = time.time()
        try:
            request_time = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return 403, "IncompleteSignatureException", {"message": "Authorization header requires existence of "
                                                                     "either a 'X-Amz-Date' or a 'Date' header."}
        if request_time < now - MAX_SKEW_SECONDS:
            return 403, "InvalidSignatureException", {"message": (
                f"Signature expired: {amz_date} is now earlier than {_stamp(now - MAX_SKEW_SECONDS)} "
                f"({_stamp(now)} - 5 min.)")}
        if request_time > now + MAX_SKEW_SECONDS:
            return 403, "InvalidSignatureException", {"message": (
                f"Signature not yet current: {amz_date} is still later than {_stamp(now + MAX_SKEW_SECONDS)} "
                f"({_stamp(now)} + 5 min.)")}
        if not self._signature_matches(method, url, headers, body, caller[1], signed_region, service, amz_date):
            return 403, "InvalidSignatureException", {"message": (
                "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method. Consult the service documentation for details.")}
        if service != "execute-api":
            return 403, "InvalidSignatureException", {
                "message": "Credential should be scoped to correct service: 'execute-api'. "}
        account = "123456789012"
        method_arn = f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path}"
        denied = self._invoke_refusal(caller, method_arn)
        if denied is not None:
            return 403, "AccessDeniedException", {"Message": denied}
        return 200, None, ALLOWED_ANSWER

    def _keyed(self, headers: dict[str, str]) -> tuple[int, str | None, dict]:
        value = next((v for k, v in headers.items() if k.lower() == "x-api-key"), None)
        keys = self.raw("apigateway").get_api_keys(includeValues=True)["items"]  # type: ignore[attr-defined]
        key = next((k for k in keys if value and k.get("value") == value and k.get("enabled")), None)
        if key is None:
            return 403, "ForbiddenException", {"message": "Forbidden"}
        day = time.strftime("%Y-%m-%d", time.gmtime())
        self.key_usage[(key["id"], day)] = self.key_usage.get((key["id"], day), 0) + 1
        return 200, None, ALLOWED_ANSWER

    def get_usage(self, params: dict) -> tuple[int, dict]:
        """GetUsage from the counts: (HTTP status, parsed answer as botocore gives it)."""
        import datetime

        gateway = self.raw("apigateway")  # type: ignore[attr-defined]
        plan = next((p for p in gateway.get_usage_plans()["items"] if p["id"] == params["usagePlanId"]), None)
        if plan is None:
            return 404, {"Error": {"Code": "NotFoundException", "Message": "Invalid Usage Plan ID specified"}}
        start = datetime.date.fromisoformat(params["startDate"])
        end = datetime.date.fromisoformat(params["endDate"])
        quota = plan.get("quota") or {}
        keys = [k["id"] for k in gateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
                if params.get("keyId") in (None, k["id"])]
        items = {}
        for key in keys:
            pairs = []
            for offset in range((end - start).days + 1):
                day = start + datetime.timedelta(days=offset)
                used = self.key_usage.get((key, day.isoformat()), 0)
                first = {"WEEK": day - datetime.timedelta(days=day.weekday()), "MONTH": day.replace(day=1)}.get(
                    quota.get("period"), day)
                in_period = sum(self.key_usage.get((key, (first + datetime.timedelta(days=i)).isoformat()), 0)
                                for i in range((day - first).days + 1))
                pairs.append([used, max(0, quota["limit"] - in_period) if quota.get("limit") else 0])
            items[key] = pairs
        return 200, {"usagePlanId": plan["id"], "startDate": params["startDate"], "endDate": params["endDate"],
                     "items": items}

    def _method(self, api_id: str, path: str) -> tuple[str, bool]:
        """(authorizationType, apiKeyRequired) of the method serving ``path``."""
        gateway = self.raw("apigateway")  # type: ignore[attr-defined]
        wanted = "/" + path
        for resource in gateway.get_resources(restApiId=api_id)["items"]:
            pattern = "^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(resource["path"])) + "/?$"
            if re.match(pattern, wanted):
                methods = resource.get("resourceMethods") or {}
                name = "ANY" if "ANY" in methods else next(iter(methods), None)
                if name is None:
                    return "NONE", False
                method = gateway.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=name)
                return method.get("authorizationType") or "NONE", bool(method.get("apiKeyRequired"))
        return "NONE", False

    @staticmethod
    def _caller(access_key: str) -> tuple[str, str, Any] | None:
        """(arn, secret, moto's user or None for the root) for a key the account has, else None: one of moto's IAM
        users' keys (active), or else the environment's credentials (the account's root)."""
        from moto.iam.models import iam_backends
        for per_account in list(dict.values(iam_backends)):
            for backend in list(dict.values(per_account)):
                for user in list(backend.users.values()):
                    for key in user.access_keys:
                        if key.access_key_id == access_key:
                            return (user.arn, key.secret_access_key, (backend, user)) if key.status == "Active" \
                                else None
        if access_key == os.environ.get("AWS_ACCESS_KEY_ID"):    # moto's mock_aws sets them
            return "arn:aws:iam::123456789012:root", os.environ.get("AWS_SECRET_ACCESS_KEY", ""), None
        return None

    @staticmethod
    def _signature_matches(method: str, url: str, headers: dict[str, str], body: bytes, secret: str,
                           region: str, service: str, amz_date: str) -> bool:
        """botocore's own signature for the request at its own time, against the one sent."""
        import datetime

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        sent = _SIGNATURE.search(next((v for k, v in headers.items() if k.lower() == "authorization"), ""))
        scope = re.search(r"Credential=([^/]+)/", next(v for k, v in headers.items() if k.lower() == "authorization"))
        if sent is None or scope is None:
            return False
        unsigned = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "x-amz-date")}
        again = AWSRequest(method=method, url=url, data=body, headers=unsigned)
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        with mock.patch("botocore.auth.get_current_datetime", lambda: when):
            SigV4Auth(Credentials(scope.group(1), secret), service, region).add_auth(again)
        expected = _SIGNATURE.search(again.headers["Authorization"])
        return expected is not None and expected.group(1) == sent.group(1)

    @staticmethod
    def _invoke_refusal(caller: tuple[str, str, Any], method_arn: str) -> str | None:
        arn, _, found = caller
        if found is None:                  # the account's root: allowed everything
            return None
        from wildrydes_cli.local.awsapi import iam_policy
        backend, user = found
        documents = [doc for doc in user.policies.values()]
        documents += [_default_version(p) for p in user.managed_policies.values()]
        for group in backend.groups.values():
            if any(member is user for member in group.users):
                documents += list(group.policies.values())
                documents += [_default_version(p) for p in group.managed_policies.values()]
        policies = [iam_policy.parse(doc if isinstance(doc, str) else json.dumps(doc)) for doc in documents]
        decision = iam_policy.evaluate(policies, iam_policy.Request("execute-api:Invoke", method_arn, {}))
        if decision.allowed:
            return None
        message = f"User: {arn} is not authorized to perform: execute-api:Invoke on resource: {method_arn}"
        return message + " with an explicit deny" if decision.effect == iam_policy.EXPLICIT_DENY else message


def _default_version(policy: Any) -> Any:
    return next(v.document for v in policy.versions if v.version_id == policy.default_version_id)
