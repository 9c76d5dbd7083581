"""The one typed AWS wrapper: cached clients, intent-level methods, AWS errors turned into ours.

Why one wrapper: the workshop steps read
as intents ("newest model in the bucket", "set MODEL_PATH keeping the other
variables") instead of boto3 call sequences, the same code runs against real
AWS and the local emulator (the ``Target`` says how to reach each), tests
inject a session, and ``ClientError`` becomes a ``WildrydesError`` with a fix
here and nowhere else. No other module holds a boto3 client.

This module is the plumbing (session, cached clients, error translation, the one polling
loop) and the caller's identity; the intents are mixed in by service, one module each:
stacks (CloudFormation), buckets (S3), lambda_functions (Lambda and IAM roles), rest_apis
(API Gateway and Logs), training_jobs (SageMaker), function_versions (Lambda versions and
the canary's alias).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

import boto3
from botocore.config import Config

from wildrydes_cli.aws.boto_errors import translate
from wildrydes_cli.aws.buckets import BucketIntents
from wildrydes_cli.aws.call_log import log_calls
from wildrydes_cli.aws.function_versions import FunctionVersionIntents
from wildrydes_cli.aws.lambda_functions import FunctionIntents
from wildrydes_cli.aws.rest_apis import RestApiIntents
from wildrydes_cli.aws.stacks import StackIntents
from wildrydes_cli.aws.target import Target
from wildrydes_cli.aws.training_jobs import TrainingJobIntents
from wildrydes_cli.errors import AwsError, NotFoundError
from wildrydes_cli.loopback import is_loopback

LOG = logging.getLogger(__name__)

WAIT_NOTE_EVERY_S = 30.0   # a wait that goes on is said again this often

class Aws(StackIntents, BucketIntents, FunctionIntents, RestApiIntents, TrainingJobIntents,
          FunctionVersionIntents):
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
        self._caller_arn: str | None = None
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
                endpoint = self.target.endpoint_url
                # the local target is this machine's loopback: no proxy from the environment (loopback.py)
                proxies: dict[str, str] | None = {} if endpoint and is_loopback(endpoint) else None
                self._clients[service] = log_calls(self.session.client(
                    service, region_name=self.settings.region, endpoint_url=endpoint,
                    config=Config(retries={"max_attempts": 3, "mode": "standard"}, proxies=proxies,
                                  **self.target.checksums)))
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
        """Who is calling: the ARN of these credentials (a user, or an assumed role's session).

        Asked of STS once per ``Aws`` (one command's credentials do not change under it): a command
        that moves 1,000 breeds' latest.json records the same caller 1,000 times."""
        if self._caller_arn is None:
            with self.translate("check your AWS credentials (sts get-caller-identity)"):
                self._caller_arn = str(self.client("sts").get_caller_identity()["Arn"])
        return self._caller_arn

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

    def _exists(self, doing: str, call: Callable[[], Any]) -> bool:
        """True unless AWS answers that the thing does not exist (other errors propagate)."""
        try:
            with self.translate(doing):
                call()
        except NotFoundError:
            return False
        return True
