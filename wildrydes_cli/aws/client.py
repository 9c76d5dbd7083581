"""The one typed AWS wrapper: cached clients, intent-level methods, AWS errors turned into ours.

Why one wrapper: the workshop steps read
as intents ("newest model in the bucket", "set MODEL_PATH keeping the other
variables") instead of boto3 call sequences, the same code runs against real
AWS and the local emulator (the ``Target`` says how to reach each), tests
inject a session, and ``ClientError`` becomes a ``WildrydesError`` with a fix
here and nowhere else. No other module holds a boto3 client.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from wildrydes_cli import layout
from wildrydes_cli.aws import settle
from wildrydes_cli.aws.boto_errors import code_of, is_missing, message_of, translate
from wildrydes_cli.aws.call_log import log_calls
from wildrydes_cli.aws.function_versions import FunctionVersionIntents
from wildrydes_cli.aws.target import Target
from wildrydes_cli.aws.training_jobs import TrainingJobIntents
from wildrydes_cli.errors import AwsError, NotFoundError, WildrydesError

LOG = logging.getLogger(__name__)

WAIT_NOTE_EVERY_S = 30.0   # a wait that goes on is said again this often

class Aws(TrainingJobIntents, FunctionVersionIntents):
    """Intent-level access to the services one deployment touches, on one target.

    ``session`` is injectable (tests pass one; ``None`` builds one as the
    target says). Clients are created on first use and cached.
    """

    def __init__(self, target: Target, session: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.target = target
        self.settings = target.settings
        self._session = session
        self._clients: dict[str, Any] = {}
        self.sleep = sleep
        # Where a wait is said while it lasts (the CLI sets its console's stderr notes): a stack
        # found in progress may take up to half an hour, never in silence.
        self.on_wait: Callable[[str], None] = lambda message: None

    # -- plumbing -----------------------------------------------------------------
    @property
    def session(self) -> Any:
        if self._session is None:
            with self.translate("open an AWS session"):
                self._session = boto3.session.Session(**self.target.session_args())
        return self._session

    def sign_execute_api(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        """``headers`` plus a SigV4 signature for service execute-api with this target's credentials (an AWS_IAM
        method's caller: what ``predict`` sends when the API was deployed with ``--auth iam``)."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        credentials = self.session.get_credentials()
        if credentials is None:
            raise AwsError("No AWS credentials to sign the request with (the API was deployed with --auth iam): "
                           "configure them (aws configure, or AWS_PROFILE).")
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.target.settings.region).add_auth(request)
        return dict(request.headers.items())

    def client(self, service: str) -> Any:
        """A cached boto3 client honouring the target's endpoint, profile and region."""
        if service not in self._clients:
            with self.translate(f"create the {service} client"):
                self._clients[service] = log_calls(self.session.client(
                    service, region_name=self.settings.region, endpoint_url=self.target.endpoint_url,
                    config=Config(retries={"max_attempts": 3, "mode": "standard"})))
        return self._clients[service]

    def translate(self, doing: str):
        """Turn boto errors raised while ``doing`` into project errors that name a fix."""
        return translate(doing, unreachable_hint=self.target.unreachable_hint,
                         unreachable=self.target.unreachable_error, rejected_hint=self.target.rejected_hint())

    # -- identity -----------------------------------------------------------------
    def account_id(self) -> str:
        """Checks that the credentials work; returns the account id."""
        with self.translate("check your AWS credentials (sts get-caller-identity)"):
            return self.client("sts").get_caller_identity()["Account"]

    def caller_arn(self) -> str:
        """Who is calling: the ARN of these credentials (a user, or an assumed role's session)."""
        with self.translate("check your AWS credentials (sts get-caller-identity)"):
            return self.client("sts").get_caller_identity()["Arn"]

    # -- CloudFormation -----------------------------------------------------------
    def stack(self, name: str) -> dict | None:
        """The stack's description, or None when it does not exist (or is deleted)."""
        try:
            with self.translate(f"describe stack {name}"):
                stacks = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        except NotFoundError:
            return None
        if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
            return None
        return stacks[0]

    def stack_outputs(self, name: str) -> dict[str, str]:
        stack = self.stack(name)
        if stack is None:
            raise NotFoundError(f"Stack {name} does not exist in {self.settings.region}.")
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def stack_parameters(self, name: str) -> dict[str, str]:
        stack = self.stack(name)
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters", [])}

    def stack_resource_ids(self, stack: str) -> dict[str, str]:
        """Physical ids of the stack's resources, by logical id ({} without a stack)."""
        if self.stack(stack) is None:
            return {}
        with self.translate(f"read the resources of stack {stack}"):
            resources = self.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
        return {r["LogicalResourceId"]: r.get("PhysicalResourceId") or "" for r in resources
                if r.get("LogicalResourceId")}

    def stack_resources(self, name: str) -> list[dict]:
        """The stack's resources (LogicalResourceId, ResourceType, PhysicalResourceId when it has one)."""
        with self.translate(f"read the resources of stack {name}"):
            return list(self.client("cloudformation").describe_stack_resources(StackName=name)["StackResources"])

    def stack_resource_physical_id(self, stack: str, logical_id: str) -> str:
        """What the workshop's Step 1 reads with describe-stack-resources."""
        with self.translate(f"read {logical_id} of stack {stack}"):
            resources = self.client("cloudformation").describe_stack_resources(
                StackName=stack, LogicalResourceId=logical_id)["StackResources"]
        physical = resources[0].get("PhysicalResourceId") if resources else None
        if not physical:
            raise NotFoundError(f"Stack {stack} has no {logical_id}.")
        return physical

    def deploy_stack(self, name: str, template_body: str, parameters: dict[str, str]) -> str:
        """Create the stack or update it in place; returns created, updated or unchanged.

        Only parameters change between runs of one template, which is what
        both CloudFormation and the emulator handle without replacing the API.
        """
        cfn = self.client("cloudformation")
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
        caps = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
        existing = self.stack(name)
        if existing is not None and existing["StackStatus"] in ("ROLLBACK_COMPLETE", "CREATE_FAILED"):
            raise AwsError(f"Stack {name} is {existing['StackStatus']} and cannot be updated: "
                           "run `wildrydes cleanup` and deploy again.")
        if existing is None:
            with self.translate(f"create stack {name}"):
                cfn.create_stack(StackName=name, TemplateBody=template_body, Parameters=params,
                                 Capabilities=caps, Tags=[{"Key": "wildrydes", "Value": "true"}])
            self.wait_stack(name, "create")
            return "created"
        if self._stack_matches(name, existing, template_body, parameters):
            return "unchanged"
        try:
            cfn.update_stack(StackName=name, TemplateBody=template_body, Parameters=params, Capabilities=caps)
        except ClientError as exc:
            if "No updates are to be performed" in message_of(exc):
                return "unchanged"
            with self.translate(f"update stack {name}"):
                raise
        self.wait_stack(name, "update")
        return "updated"

    def _stack_matches(self, name: str, stack: dict, template_body: str, parameters: dict[str, str]) -> bool:
        """Same template and parameters: skip the update (the emulator would 'update' anyway)."""
        current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        if any(current.get(k) != v for k, v in parameters.items()):
            return False
        with self.translate(f"read the template of stack {name}"):
            body = self.client("cloudformation").get_template(StackName=name).get("TemplateBody")
        return isinstance(body, str) and body.strip() == template_body.strip()

    def wait_stack(self, name: str, action: str, timeout: float | None = None, poll: float = 3.0) -> str:
        """Wait for our own ``action`` on the stack to finish; a failure names its reason (first failed event)."""
        stack = self.settled_stack(name, timeout=timeout, poll=poll, busy=self.target.stack_stuck_hint)
        if stack is None:
            if action == "delete":
                return "DELETE_COMPLETE"
            raise AwsError(f"Stack {name} disappeared while waiting for {action}.")
        status = stack["StackStatus"]
        if settle.failed(status, action):
            reason = self.first_failure(name) or stack.get("StackStatusReason", "no reason given")
            raise AwsError(settle.failure_message(name, status, reason, action))
        return status

    def settled_stack(self, name: str, timeout: float | None = None, poll: float = 5.0,
                      busy: str = settle.SOMEONE_ELSES) -> dict | None:
        """The stack once no operation runs on it (None when it does not exist or was deleted).

        On AWS a stack is found ``*_IN_PROGRESS`` (an interrupted or concurrent deploy, a console
        action); the emulator's are always settled. Waits at most the target's ``stack_timeout_s``;
        past it, says what is still running and ``busy``: what to do about it.
        """
        found: list[dict | None] = []

        def settled() -> bool:
            found[:] = [self.stack(name)]
            return found[0] is None or not settle.in_progress(found[0]["StackStatus"])

        def still() -> str:
            status = found[0]["StackStatus"] if found and found[0] else "in progress"
            return f"Stack {name} is still {status}"

        self.poll_until(settled, still, busy, timeout=self.target.stack_timeout_s if timeout is None else timeout,
                        poll=poll)
        return found[0]

    def usable_prerequisites(self, name: str) -> dict | None:
        """The prerequisites stack when it is usable, None when absent; a failed one is refused.

        A stack in ROLLBACK_COMPLETE has outputs naming a bucket that was never made (or rolled
        back): writing it to the scratchpad would send every later command to a missing bucket.
        """
        stack = self.settled_stack(name)
        if stack is None:
            return None
        settle.check_usable(name, stack)
        status = stack["StackStatus"]
        if settle.dead(status):
            reason = self.first_failure(name) or stack.get("StackStatusReason") or "no reason given"
            raise AwsError(settle.prerequisites_failed(name, status, reason))
        return stack

    def poll_until(self, done: Callable[[], bool], still: Callable[[], str], hint: str, timeout: float,
                   poll: float) -> None:
        """Call ``done`` every ``poll`` seconds (the injected sleep) until it is true, at most ``timeout``.

        The one polling loop of the wrapper: stacks settling, functions updating. Past the
        timeout: ``still()`` (what is still going on) and ``hint`` (what to do).
        """
        waited, said, said_at = 0.0, "", 0.0
        while not done():
            if waited >= timeout:
                raise AwsError(f"{still()} after {int(timeout)} s: {hint}.")
            now = still()
            if now != said or waited - said_at >= WAIT_NOTE_EVERY_S:   # on a change, and now and then
                LOG.info("%s: waiting", now)
                self.on_wait(f"   {now}: waiting ({int(waited)} s so far, at most {int(timeout)} s)")
                said, said_at = now, waited
            self.sleep(poll)
            waited += poll

    def delete_stack(self, name: str) -> bool:
        """Delete and wait; False when there was no such stack."""
        if self.stack(name) is None:
            return False
        with self.translate(f"delete stack {name}"):
            self.client("cloudformation").delete_stack(StackName=name)
        self.wait_stack(name, "delete")
        return True

    def _exists(self, doing: str, call: Callable[[], Any]) -> bool:
        """True unless AWS answers that the thing does not exist (other errors propagate)."""
        try:
            with self.translate(doing):
                call()
        except NotFoundError:
            return False
        return True

    # -- S3 -----------------------------------------------------------------------
    def bucket_exists(self, bucket: str) -> bool:
        return self._exists(f"reach bucket {bucket}", lambda: self.client("s3").head_bucket(Bucket=bucket))

    def object_exists(self, bucket: str, key: str) -> bool:
        return self._exists(f"read s3://{bucket}/{key}",
                            lambda: self.client("s3").head_object(Bucket=bucket, Key=key))

    def list_keys(self, bucket: str, prefix: str = "") -> list[dict]:
        """Every object (Key, LastModified, Size) under ``prefix``."""
        items: list[dict] = []
        with self.translate(f"list s3://{bucket}/{prefix}"):
            for page in self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                items.extend(page.get("Contents", []))
        return items

    def list_prefixes(self, bucket: str, prefix: str) -> list[str]:
        """The "folders" directly under ``prefix`` (each ending in /), as S3's delimiter lists them."""
        found: list[str] = []
        with self.translate(f"list s3://{bucket}/{prefix}"):
            pages = self.client("s3").get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter="/")
            for page in pages:
                found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        return found

    def read_json(self, bucket: str, key: str) -> Any:
        """The decoded JSON object at ``key``; NotFoundError when it is missing, ValueError when not JSON."""
        with self.translate(f"read s3://{bucket}/{key}"):
            body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)

    def read_object(self, bucket: str, key: str, limit: int) -> tuple[int, bytes | None]:
        """(size, bytes) of an object; the bytes are None when it is over ``limit`` (not downloaded)."""
        s3 = self.client("s3")
        with self.translate(f"read s3://{bucket}/{key}"):
            size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
            if size > limit:
                return size, None
            return size, s3.get_object(Bucket=bucket, Key=key)["Body"].read(limit + 1)

    def put_object(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        """One small object in one request (models up to a few MB, index files)."""
        with self.translate(f"upload s3://{bucket}/{key}"):
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def newest_model_key(self, bucket: str) -> str | None:
        """Key of the newest default model in the bucket (the rule is ``layout.newest_default_model``)."""
        return layout.newest_default_model(self.list_keys(bucket, layout.DEFAULT_MODELS_PREFIX))

    def object_encryption(self, bucket: str, key: str) -> tuple[str | None, str | None]:
        """(ServerSideEncryption, SSEKMSKeyId) of an object, as HeadObject reports them."""
        with self.translate(f"read s3://{bucket}/{key}"):
            head = self.client("s3").head_object(Bucket=bucket, Key=key)
        return head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")

    def bucket_encryption(self, bucket: str) -> tuple[str | None, str | None]:
        """(SSEAlgorithm, KMSMasterKeyID) of the bucket's default encryption; (None, None) when unknown.

        Unknown: none configured, or these credentials may not read it (s3:GetEncryptionConfiguration).
        """
        try:
            with self.translate(f"read the default encryption of bucket {bucket}"):
                rules = self.client("s3").get_bucket_encryption(Bucket=bucket)[
                    "ServerSideEncryptionConfiguration"].get("Rules", [])
        except WildrydesError as exc:
            LOG.info("default encryption of %s not known: %s", bucket, exc)
            return None, None
        default = (rules[0] if rules else {}).get("ApplyServerSideEncryptionByDefault") or {}
        return default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")

    def kms_key_arn(self, key_id: str) -> str | None:
        """The ARN of a KMS key named by id, ARN or alias; None when it cannot be described."""
        try:
            with self.translate(f"describe KMS key {key_id}"):
                return str(self.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
        except WildrydesError as exc:
            LOG.info("cannot describe KMS key %s: %s", key_id, exc)
            return None

    def upload_file(self, bucket: str, key: str, path: Any) -> None:
        """Multipart when large (the mxnet zip is ~100 MB)."""
        with self.translate(f"upload s3://{bucket}/{key}"):
            self.client("s3").upload_file(str(path), bucket, key)

    def empty_and_delete_bucket(self, bucket: str) -> tuple[int, dict[str, str]]:
        """Remove every object version, then the bucket: (objects removed, {key: 'Code: message'} refused).

        DeleteObjects answers 200 with per-key Errors (an object lock, a bucket policy's deny): a
        refused key is not counted, and the bucket, not empty then, is not deleted.
        """
        s3 = self.client("s3")
        removed = 0
        refused: dict[str, str] = {}
        with self.translate(f"empty bucket {bucket}"):
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                           for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                if entries:
                    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": entries, "Quiet": True})
                    errors = answer.get("Errors", [])
                    for error in errors:
                        refused[error.get("Key", "?")] = f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
                    removed += len(entries) - len(errors)
        if refused:
            return removed, refused
        with self.translate(f"delete bucket {bucket}"):
            s3.delete_bucket(Bucket=bucket)
        return removed, refused

    # -- IAM ----------------------------------------------------------------------
    def role_exists(self, name: str) -> bool:
        return self.role_arn(name) is not None

    def role_arn(self, name: str) -> str | None:
        """The role's ARN as IAM holds it (its path included), None when there is no such role."""
        try:
            with self.translate(f"read role {name}"):
                return str(self.client("iam").get_role(RoleName=name)["Role"]["Arn"])
        except NotFoundError:
            return None

    def role_policies(self, name: str) -> tuple[str, list[tuple[str, str]]] | None:
        """(role ARN, [(which policy, JSON document)]) for a role's identity policies, inline and managed
        (default versions); None when IAM will not tell these credentials (access denied)."""
        iam = self.client("iam")
        documents: list[tuple[str, str]] = []
        doing = f"read the policies of role {name}"
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy in page["PolicyNames"]:
                    document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                    documents.append((f"inline policy {policy} of role {name}", _json_text(document)))
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                for attached in page["AttachedPolicies"]:
                    policy_arn = attached["PolicyArn"]
                    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
                    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]
                    documents.append((f"managed policy {policy_arn} attached to role {name}",
                                      _json_text(document["Document"])))
        except ClientError as exc:
            if code_of(exc) in ("AccessDenied", "AccessDeniedException"):
                LOG.info("cannot %s: %s", doing, message_of(exc))
                return None
            with self.translate(doing):
                raise
        return arn, documents

    def bucket_policy(self, bucket: str) -> tuple[bool, str | None]:
        """(readable, the bucket policy's JSON or None when it has none); (False, None) when access is denied."""
        try:
            return True, self.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
        except ClientError as exc:
            if code_of(exc) == "NoSuchBucketPolicy":
                return True, None
            if code_of(exc) in ("AccessDenied", "AccessDeniedException", "403"):
                return False, None
            with self.translate(f"read the policy of bucket {bucket}"):
                raise

    # -- Lambda -------------------------------------------------------------------
    def function_config(self, name: str) -> dict | None:
        try:
            with self.translate(f"read function {name}"):
                return self.client("lambda").get_function_configuration(FunctionName=name)
        except NotFoundError:
            return None

    def function_env(self, name: str) -> dict[str, str]:
        config = self.function_config(name)
        if config is None:
            raise NotFoundError(f"Function {name} does not exist.")
        return dict((config.get("Environment") or {}).get("Variables") or {})

    def set_function_env(self, name: str, updates: dict[str, str], keep: dict[str, str] | None = None) -> bool:
        """Set ``updates`` on top of the current variables (plus ``keep``); True if it changed.

        Lambda replaces the whole map on update, so merge first: other
        variables a user added survive a new MODEL_PATH.
        """
        self.wait_function(name)  # Lambda refuses a change while a previous one is in progress
        current = self.function_env(name)
        wanted = {**(keep or {}), **current, **updates}
        if wanted == current:
            return False
        with self.translate(f"update the environment of {name}"):
            self.client("lambda").update_function_configuration(
                FunctionName=name, Environment={"Variables": wanted})
        self.wait_function(name)
        return True

    def wait_function(self, name: str, timeout: float = 120.0, poll: float = 1.0) -> None:
        """Until the function's last update (or creation) is done: Lambda refuses a change meanwhile."""
        config: dict = {}

        def done() -> bool:
            nonlocal config
            config = self.function_config(name) or {}
            return config.get("LastUpdateStatus", "Successful") != "InProgress" and \
                config.get("State", "Active") != "Pending"

        self.poll_until(done, lambda: f"Function {name} still updating", "try again in a minute",
                        timeout=timeout, poll=poll)
        if config.get("LastUpdateStatus") == "Failed":
            raise AwsError(f"Updating {name} failed: {config.get('LastUpdateStatusReason', '')}")

    def function_policy(self, name: str) -> dict:
        try:
            with self.translate(f"read the resource policy of {name}"):
                return json.loads(self.client("lambda").get_policy(FunctionName=name)["Policy"])
        except NotFoundError:
            return {"Statement": []}

    def add_invoke_permission(self, name: str, source_arn: str) -> None:
        """Let API Gateway invoke the function, from this API only."""
        with self.translate(f"allow API Gateway to invoke {name}"):
            self.client("lambda").add_permission(
                FunctionName=name, StatementId=f"wildrydes-{uuid.uuid4().hex[:12]}",
                Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com", SourceArn=source_arn)

    # -- API Gateway --------------------------------------------------------------
    def rest_api_exists(self, api_id: str) -> bool:
        return self._exists(f"read API {api_id}",
                            lambda: self.client("apigateway").get_rest_api(restApiId=api_id))

    def delete_rest_api(self, api_id: str) -> bool:
        if not self.rest_api_exists(api_id):
            return False
        with self.translate(f"delete API {api_id}"):
            self.client("apigateway").delete_rest_api(restApiId=api_id)
        return True

    def api_resources(self, api_id: str) -> dict[str, dict]:
        """The API's resources by path, with their methods."""
        with self.translate(f"read the resources of API {api_id}"):
            pages = self.client("apigateway").get_paginator("get_resources").paginate(
                restApiId=api_id, embed=["methods"])
            return {item["path"]: item for page in pages for item in page.get("items", [])}

    def stage_exists(self, api_id: str, stage: str) -> bool:
        return self._exists(f"read stage {stage} of API {api_id}",
                            lambda: self.client("apigateway").get_stage(restApiId=api_id, stageName=stage))

    def put_proxy_method(self, api_id: str, resource_id: str, uri: str, api_key_required: bool = False,
                         authorization: str = "NONE") -> None:
        """ANY + AWS_PROXY integration on one resource (the workshop's Step 4 by hand), requiring an API key or
        not, with this AuthorizationType (NONE, or AWS_IAM).

        A method whose key requirement or authorization differs is deleted and made again (UpdateMethod is not in
        the emulator);
        the stage serves its snapshot until the next deployment, so callers see the change only then.
        """
        gw = self.client("apigateway")
        with self.translate(f"wire API {api_id}"):
            method: dict | None
            try:
                method = gw.get_method(restApiId=api_id, resourceId=resource_id, httpMethod="ANY")
            except ClientError as exc:
                if not is_missing(exc):
                    raise
                method = None
            if method is not None and (bool(method.get("apiKeyRequired")) != api_key_required or
                                       (method.get("authorizationType") or "NONE") != authorization):
                gw.delete_method(restApiId=api_id, resourceId=resource_id, httpMethod="ANY")
                method = None
            if method is None:
                gw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="ANY",
                              authorizationType=authorization, apiKeyRequired=api_key_required)
            gw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod="ANY",
                               type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)

    def api_keys_named(self, prefix: str) -> list[dict]:
        """API keys whose name starts with ``prefix``, values included (the caller decides what to show)."""
        with self.translate(f"read the API keys named {prefix}*"):
            pages = self.client("apigateway").get_paginator("get_api_keys").paginate(
                nameQuery=prefix, includeValues=True)
            return [k for page in pages for k in page.get("items", []) if str(k.get("name", "")).startswith(prefix)]

    def stage_deployed_at(self, api_id: str, stage: str) -> Any | None:
        """When the deployment the stage serves was created (a datetime), None without the stage."""
        gw = self.client("apigateway")
        try:
            with self.translate(f"read stage {stage} of API {api_id}"):
                deployment = gw.get_stage(restApiId=api_id, stageName=stage).get("deploymentId")
                if not deployment:
                    return None
                return gw.get_deployment(restApiId=api_id, deploymentId=deployment).get("createdDate")
        except NotFoundError:
            return None

    def create_deployment(self, api_id: str, stage: str) -> str:
        with self.translate(f"deploy API {api_id} to stage {stage}"):
            return self.client("apigateway").create_deployment(
                restApiId=api_id, stageName=stage, description="Deployed by wildrydes.")["id"]

    # -- CloudWatch Logs -------------------------------------------------------------
    def log_group_exists(self, name: str) -> bool:
        with self.translate(f"read log group {name}"):
            groups = self.client("logs").describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
        return any(group.get("logGroupName") == name for group in groups)

    def log_events(self, group: str, start_ms: int, filter_pattern: str | None = None,
                   next_token: str | None = None) -> dict:
        """One page of FilterLogEvents; a missing group raises NotFoundError."""
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
        if filter_pattern:
            kwargs["filterPattern"] = filter_pattern
        if next_token:
            kwargs["nextToken"] = next_token
        with self.translate(f"read log group {group}"):
            return self.client("logs").filter_log_events(**kwargs)


    # -- what real AWS shows and moto does not: stack events, the bucket's region, per-key delete errors ----
    def stack_events(self, name: str) -> list[dict]:
        """The stack's events, newest first (first page: the latest operation's are there)."""
        with self.translate(f"read the events of stack {name}"):
            return list(self.client("cloudformation").describe_stack_events(StackName=name).get("StackEvents", []))

    def first_failure(self, name: str) -> str | None:
        """'Resource: reason' of the first *_FAILED event of the stack's latest operation."""
        try:
            return settle.first_failure(self.stack_events(name))
        except WildrydesError as exc:   # the reason is a courtesy: never hide the failure behind it
            LOG.debug("could not read the events of %s: %s", name, exc)
            return None

    def stack_template(self, name: str) -> str | None:
        """The template body the stack runs now (None without a stack)."""
        if self.stack(name) is None:
            return None
        with self.translate(f"read the template of stack {name}"):
            body = self.client("cloudformation").get_template(StackName=name).get("TemplateBody")
        return body if isinstance(body, str) else None

    def bucket_region(self, bucket: str) -> str | None:
        """The bucket's region from HeadBucket (BucketRegion / x-amz-bucket-region), if AWS says."""
        with self.translate(f"reach bucket {bucket}"):
            head = self.client("s3").head_bucket(Bucket=bucket)
        headers = (head.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        return head.get("BucketRegion") or headers.get("x-amz-bucket-region")

    def delete_keys_checked(self, bucket: str, keys: list[str]) -> tuple[list[str], dict[str, str]]:
        """Delete these keys; returns (deleted, {key: 'Code: message'} for the ones S3 refused).

        DeleteObjects answers 200 even when keys fail: the failures are in its per-key Errors.
        """
        failed: dict[str, str] = {}
        with self.translate(f"delete objects from {bucket}"):
            for start in range(0, len(keys), 1000):
                chunk = [{"Key": k} for k in keys[start:start + 1000]]
                answer = self.client("s3").delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
                for error in answer.get("Errors", []):
                    failed[error.get("Key", "?")] = f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
        return [k for k in keys if k not in failed], failed


def _json_text(document: Any) -> str:
    """IAM answers a policy document URL-decoded into a dict (boto3); the evaluator reads JSON text."""
    return document if isinstance(document, str) else json.dumps(document)
