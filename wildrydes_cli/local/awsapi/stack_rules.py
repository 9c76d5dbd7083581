"""CloudFormation as AWS runs it, where moto does not: a named resource that exists fails the stack.

Why: moto makes a stack's resources inside the CreateStack/UpdateStack call. When
CloudWatch Logs refuses a log group that already exists (the function's
``/aws/lambda/<function>``, made by Lambda on its first invocation), moto answers
the CloudFormation call (query protocol, XML) with the Logs service's JSON error,
which botocore cannot parse: the user saw "unexpected ResponseParserError", exit
70, after moto had applied half the update. On AWS the call is accepted, the stack
fails on that resource with AlreadyExists (CloudFormation CLI User Guide,
"Resource type handler error codes") and rolls back to what it was. So this class
of bug now shows on the local target as it will on AWS:

* before a CreateStack/UpdateStack reaches moto, the log groups its template would
  create (``LogGroupName`` resolved from the parameters, pseudo parameters and the
  ids of the stack's own resources; conditions evaluated; resources the stack
  already has left out) are looked up; when one exists, moto is not called: the
  stack stays as it was in UPDATE_ROLLBACK_COMPLETE (a create leaves an empty
  stack in ROLLBACK_COMPLETE), with CloudFormation's events and reason;
* any other error moto answers a CloudFormation call with in JSON becomes the XML
  error the protocol has, so a client reads its code and message.

Live traffic only, in front of the journal: a failed operation changes nothing a
replay needs, so it is not journaled (a failed create's empty stack, like its
events, is gone after a restart).
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from wildrydes_cli.local.awsapi import moto_backends
from wildrydes_cli.local.http import HttpRequest, HttpResponse

LOG = logging.getLogger(__name__)

MotoCall = Callable[[HttpRequest, int, "tuple[str, int] | None"], HttpResponse]
_ACTIONS = ("CreateStack", "UpdateStack")
SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/")
_SUB = re.compile(r"\$\{([^}!]+)\}")
MAX_FORM_BYTES = 2 * 1024 * 1024   # a template body is at most 51,200 bytes; parameters are small


class StackRules:
    """Wraps the call that reaches moto (the journal's): CloudFormation's rules, then that call."""

    def __init__(self, call: MotoCall) -> None:
        self._call = call

    def call(self, request: HttpRequest, port: int, client: tuple[str, int] | None = None) -> HttpResponse:
        form = cloudformation_form(request)
        if form is not None and form.get("Action") in _ACTIONS:
            refused = self._already_exists(request, form)
            if refused is not None:
                return refused
        response = self._call(request, port, client)
        if form is not None and response.status >= 400 and response.body[:1] == b"{":
            return _as_query_error(response)
        return response

    def _already_exists(self, request: HttpRequest, form: dict[str, str]) -> HttpResponse | None:
        scope = SCOPE.search(request.header("authorization") or "")
        if scope is None:
            return None
        account, region = moto_backends.account_of(scope.group(1)), scope.group(2)
        name, create = form.get("StackName", ""), form["Action"] == "CreateStack"
        current = None if create else moto_backends.stack_facts(account, region, name)
        if not create and current is None:
            return None   # moto answers that the stack does not exist
        body = current.template if current is not None and form.get("UsePreviousTemplate") == "true" \
            else form.get("TemplateBody", "")
        try:
            template = moto_backends.parse_template(body) if body else {}
        except Exception as exc:  # noqa: BLE001 - moto answers a template it cannot read
            LOG.debug("template of %s not readable here: %s", name, exc)
            return None
        taken = existing_log_group(template, _values(template, form, current, account, region, name),
                                   set(current.resources) if current else set(),
                                   lambda group: moto_backends.log_group_exists(account, region, group))
        if taken is None:
            return None
        logical, group = taken
        identifier = json.dumps({"/properties/LogGroupName": group}, separators=(",", ":"))
        reason = (f"Resource handler returned message: \"Resource of type 'AWS::Logs::LogGroup' with identifier "
                  f"'{identifier}' already exists.\" (RequestToken: {uuid.uuid4()}, HandlerErrorCode: AlreadyExists)")
        stack_id = moto_backends.fail_stack_operation(account, region, name, body, create,
                                                      (logical, "AWS::Logs::LogGroup", group, reason))
        LOG.info("%s %s: log group %s already exists; rolled back as CloudFormation does", form["Action"], name,
                 group)
        action = form["Action"]
        return HttpResponse(200, [("Content-Type", "text/xml")], (
            f'<{action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><{action}Result>'
            f"<StackId>{escape(stack_id)}</StackId></{action}Result><ResponseMetadata><RequestId>{uuid.uuid4()}"
            f"</RequestId></ResponseMetadata></{action}Response>").encode())


def cloudformation_form(request: HttpRequest) -> dict[str, str] | None:
    """The form of a CloudFormation (query protocol) call, None for any other call."""
    scope = SCOPE.search(request.header("authorization") or "")
    if scope is None or scope.group(3) != "cloudformation" or request.method != "POST":
        return None
    raw = request.body[:MAX_FORM_BYTES].decode("utf-8", "replace")
    if request.query:
        raw = f"{request.query}&{raw}"
    return {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}


def _values(template: dict, form: dict[str, str], current: Any, account: str, region: str,
            name: str) -> dict[str, str]:
    """What a name in the template may refer to: parameters, pseudo parameters, the stack's resources."""
    values = {k: str(v.get("Default", "")) for k, v in (template.get("Parameters") or {}).items()
              if isinstance(v, dict)}
    index = 1
    while f"Parameters.member.{index}.ParameterKey" in form:
        key = form[f"Parameters.member.{index}.ParameterKey"]
        if form.get(f"Parameters.member.{index}.UsePreviousValue") == "true" and current is not None:
            values[key] = current.parameters.get(key, values.get(key, ""))
        else:
            values[key] = form.get(f"Parameters.member.{index}.ParameterValue", "")
        index += 1
    values.update(pseudo_parameters(account, region, name))
    if current is not None:
        values.update({k: v for k, v in current.resources.items() if v})
    return values


def pseudo_parameters(account: str, region: str, name: str) -> dict[str, str]:
    """AWS::Region, AWS::AccountId, AWS::StackName, AWS::Partition, AWS::URLSuffix for one stack."""
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return {"AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": name, "AWS::Partition": partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"}


def existing_log_group(template: dict, values: dict[str, str], owned: set[str],
                       exists: Callable[[str], bool]) -> tuple[str, str] | None:
    """(logical id, name) of the first log group the template would create that ``exists`` already.

    A resource the stack already has (``owned``) is not created again; one whose Condition is
    false is not created; a name that cannot be resolved here is not checked.
    """
    conditions = template.get("Conditions") or {}
    for logical, spec in (template.get("Resources") or {}).items():
        if not isinstance(spec, dict) or spec.get("Type") != "AWS::Logs::LogGroup" or logical in owned:
            continue
        if "Condition" in spec and not condition(conditions, spec["Condition"], values):
            continue
        group = resolve((spec.get("Properties") or {}).get("LogGroupName"), values, conditions)
        if group and exists(group):
            return logical, group
    return None


def resolve(value: Any, values: dict[str, str], conditions: dict) -> str | None:
    """A string property as CloudFormation resolves it: literal, Ref, Sub, If; None when not known here."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)   # a template's numbers are strings to CloudFormation (Fn::Equals [!Ref N, 0])
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (op, args), = value.items()
    if op == "Ref" and isinstance(args, str):
        return values.get(args)
    if op == "Fn::Sub":
        text, extra = (args, {}) if isinstance(args, str) else (args[0], args[1]) if \
            isinstance(args, list) and len(args) == 2 and isinstance(args[1], dict) else (None, {})
        if not isinstance(text, str):
            return None
        scope = {**values, **{k: resolve(v, values, conditions) for k, v in extra.items()}}
        if any(scope.get(n) is None for n in _SUB.findall(text)):
            return None
        return _SUB.sub(lambda m: str(scope[m.group(1)]), text)
    if op == "Fn::If" and isinstance(args, list) and len(args) == 3:
        return resolve(args[1] if condition(conditions, args[0], values) else args[2], values, conditions)
    return None


def condition(conditions: dict, name_or_expr: Any, values: dict[str, str], depth: int = 0) -> bool:
    """A condition's value: Equals, Not, And, Or and Condition references (a cycle or an unknown is true)."""
    expr = conditions.get(name_or_expr) if isinstance(name_or_expr, str) else name_or_expr
    if depth > 20 or not isinstance(expr, dict) or len(expr) != 1:
        return bool(expr) if isinstance(expr, bool) else True
    (op, args), = expr.items()
    if op == "Condition":
        return condition(conditions, args, values, depth + 1)
    if not isinstance(args, list):
        return True
    if op == "Fn::Equals" and len(args) == 2:
        return resolve(args[0], values, conditions) == resolve(args[1], values, conditions)
    if op == "Fn::Not" and args:
        return not condition(conditions, args[0], values, depth + 1)
    if op == "Fn::And":
        return all(condition(conditions, a, values, depth + 1) for a in args)
    if op == "Fn::Or":
        return any(condition(conditions, a, values, depth + 1) for a in args)
    return True


def _as_query_error(response: HttpResponse) -> HttpResponse:
    """moto's JSON error (another service's, raised inside a stack operation) as CloudFormation's XML error."""
    try:
        error = json.loads(response.body)
    except ValueError:
        return response
    if not isinstance(error, dict):
        return response
    code = str(error.get("__type") or error.get("code") or "ValidationError").rsplit("#", 1)[-1]
    message = str(error.get("message") or error.get("Message") or "")
    LOG.warning("moto answered a CloudFormation call with a JSON error: %s: %s", code, message)
    body = (f'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    headers = [(k, v) for k, v in response.headers if k.lower() not in ("content-type", "content-length")]
    return HttpResponse(response.status, headers + [("Content-Type", "text/xml")], body.encode())
