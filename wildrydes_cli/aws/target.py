"""The target a command acts on: real AWS, or the embedded emulator on 127.0.0.1.

Every command that talks to AWS calls ``resolve`` first and gets a ``Target``
that answers every question whose answer depends on where we are: how to open
a session, where boto3 sends requests, how long a stack may take, what to say
when the endpoint cannot be reached, which URL a deployment answers on, and
whether deploy may create the prerequisites by itself. Nothing else in the
code asks which target it is on.
"""
from __future__ import annotations

import configparser
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Union
from urllib.parse import urlsplit

from wildrydes_cli.errors import AwsError, LocalTargetError, UsageError, WildrydesError
from wildrydes_cli.settings import DEFAULT_REGION, Settings

LOG = logging.getLogger(__name__)

STAGE = "prod"
REGION_ENV = "WILDRYDES_REGION"   # the local target's region, when --region is not given


@dataclass(frozen=True)
class AwsTarget:
    """Real AWS: the default credential chain (or --profile), the region's public endpoints."""

    settings: Settings
    name = "aws"
    endpoint_url: str | None = None
    # CloudFormation takes minutes to create a function and an API, and rolls back on failure.
    stack_timeout_s = 1800.0
    stack_stuck_hint = "check its events in the CloudFormation console"
    unreachable_hint = " Check your network and --region."
    unreachable_error = AwsError
    # Creating a bucket and a role in someone's account is never done unasked; nor deleting stacks there.
    may_bootstrap = False
    asks_before_cleanup = True
    # Credentials can belong to any account: state and locks are kept per account (accounts.bind).
    fixed_account: str | None = None
    # The function runs in Lambda, not here: any engine deploys from any Python.
    runs_functions_here = False
    # Why a recorded deployment can be gone (said by `status`): nothing but a person deletes it.
    gone_hint = ""
    # API Gateway applies usage plan throttling and quotas on a best-effort basis (not hard limits)
    usage_plan_limits = "best-effort"
    # what puts the caller's credentials in AWS_ACCESS_KEY_ID/... for `curl --aws-sigv4` (AWS CLI v2; with a
    # session token, curl also needs -H "x-amz-security-token: $AWS_SESSION_TOKEN")
    credentials_export = 'eval "$(aws configure export-credentials --format env)"'
    # The function template's ExecuteApiEndpoint: empty, its outputs are AWS's execute-api URLs.
    execute_api_endpoint = ""
    # botocore's defaults: a CRC32 of each S3 body sent and received (S3 checks it).
    checksums: ClassVar[dict[str, str]] = {}

    @staticmethod
    def default_region(profile: str | None, state_dir: Path) -> tuple[str, str]:
        """The region without --region, and where it came from: the AWS CLI's order (for messages about a bad one)."""
        for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if os.environ.get(variable):   # an empty variable is unset
                return os.environ[variable], variable
        configured = profile_region(profile)
        if configured:
            return configured, f"the region of AWS profile {profile or os.environ.get('AWS_PROFILE') or 'default'}"
        return DEFAULT_REGION, "the default region"
    # A SageMaker training job changes state every few minutes; DescribeTrainingJob is throttled gently.
    # Waiting looks again after job_poll_first_s, then 1.5x longer each time up to job_poll_s, and
    # soon again after each status change (as botocore's waiters back off).
    job_poll_s = 10.0
    job_poll_first_s = 2.0

    @staticmethod
    def check_region(region: str, source: str) -> str:
        """Any region of a partition botocore knows (a missing one fails at the first call, with a hint)."""
        from wildrydes_cli.aws.regions import check_region_name
        return check_region_name(region, source)

    def check_environment(self) -> None:
        """Refuse to act when the shell still points AWS clients at the local target (``local env``).

        After ``eval "$(wildrydes local env)"`` boto3 would send "real AWS" calls to the emulator,
        signed with its keys: a deploy that says aws and is not. An endpoint elsewhere (a moto server
        standing in for AWS in tests, a proxy) is the user's choice and is left alone.
        """
        reasons = local_leftovers(self.settings)
        if reasons:
            raise UsageError(
                f"--target aws, but this shell still points AWS clients at the local target: {'; '.join(reasons)} "
                "(left by `eval \"$(wildrydes local env)\"`). Undo it with: eval \"$(wildrydes local env --unset)\" "
                "- or use --target local.")
        configured = configured_local_endpoints(self.settings)
        if configured:
            raise UsageError(
                f"--target aws, but your AWS config sends requests to the local target: {'; '.join(configured)}. "
                "Remove that line (or point it elsewhere), or run this command with "
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true - or use --target local.")

    def session_args(self) -> dict[str, Any]:
        return {"profile_name": self.settings.profile or None, "region_name": self.settings.region}

    def rejected_hint(self) -> str:
        """Rejected credentials in an opt-in region: the region may simply not be enabled for the account."""
        from wildrydes_cli.aws.regions import is_opt_in
        region = self.settings.region
        if not is_opt_in(region):
            return ""
        return (f" Or region {region} is an opt-in region not enabled for this account: enable it (AWS console, "
                f"Account, AWS Regions; or `aws account enable-region --region-name {region}`; it takes minutes), "
                "or pass another --region.")

    def invoke_url(self, api_id: str, stack_url: str | None = None, stage: str = STAGE) -> str:
        """The stack's own output when there is one (other partitions' URL suffixes), else the usual form."""
        return stack_url or f"https://{api_id}.execute-api.{self.settings.region}.amazonaws.com/{stage}/"

    def deployment_url(self, deployment: Any) -> str:
        """The URL a recorded deployment answers on: the one recorded, it does not move."""
        return deployment.invoke_url


@dataclass(frozen=True)
class LocalTarget:
    """The embedded emulator at ``endpoint_url``; everything made there lives as long as the daemon."""

    settings: Settings
    endpoint_url: str
    name = "local"
    # The emulator is synchronous but never rolls a failed resource back: give up soon.
    stack_timeout_s = 30.0
    stack_stuck_hint = "`wildrydes local stop` and start again to reset the emulator"
    unreachable_hint = (" The local emulator is not answering: `wildrydes local status` says whether it runs (its "
                        "log says why it stopped), and `wildrydes local start` starts it again.")
    # The emulator failing is the local target's error (exit 5), not AWS refusing (exit 4).
    unreachable_error = LocalTargetError
    may_bootstrap = True
    # Everything on it is this machine's and comes back with `deploy`: cleanup does not ask.
    asks_before_cleanup = False
    # One account (moto's); its state files keep their account-less names.
    fixed_account: str | None = "local"
    # The runner executes the deployed package with this CLI's Python (mxnet needs 3.11 here).
    runs_functions_here = True
    gone_hint = "the local emulator started empty since that deploy"
    # The emulator's training jobs take seconds: a look costs the daemon a few ms, so a job that ends
    # is seen within 0.05-0.1 s of it.
    job_poll_s = 0.1
    job_poll_first_s = 0.05
    usage_plan_limits = "exact"   # the execute-api front's token bucket and quota counts (usage_plans.py)
    credentials_export = 'eval "$(wildrydes local env)"'   # the local target's credentials, for curl --aws-sigv4
    # S3 bodies without botocore's CRC32 (only where an operation requires a checksum): on loopback
    # the emulator checks each body against the signed SHA-256 (x-amz-content-sha256) already, so
    # a CRC32 as well (which the emulator would also check, s3_digests.py) cost the CLI CPU for no
    # more safety (3% of `train --on sagemaker --rows 1000000 --no-wait`, farm-bench; RESULTS.md).
    checksums = {"request_checksum_calculation": "when_required", "response_checksum_validation": "when_required"}

    @property
    def execute_api_endpoint(self) -> str:
        """The function template's ExecuteApiEndpoint: its InvokeUrl and CurlCommand outputs point here."""
        return self.endpoint_url.rstrip("/")

    def check_environment(self) -> None:
        """Nothing in the shell can misdirect the local target: its endpoint and keys are always its own."""

    @staticmethod
    def default_region(profile: str | None, state_dir: Path) -> tuple[str, str]:
        """The region without --region: WILDRYDES_REGION, else the last local deploy's, else us-east-1.

        Never the AWS configuration (AWS_REGION, AWS_DEFAULT_REGION, profiles, ~/.aws/config): those
        are for real AWS, and following them sent the local target to a region where nothing was.
        """
        if os.environ.get(REGION_ENV):
            return os.environ[REGION_ENV], REGION_ENV
        from wildrydes_cli.deployment_record import regions_with_deployments
        recorded = regions_with_deployments(state_dir, "local")
        if recorded:
            return max(recorded, key=lambda region: recorded[region]), "the region of the last local deploy"
        return DEFAULT_REGION, "the default region"

    @staticmethod
    def check_region(region: str, source: str) -> str:
        """A region name that the emulator serves for every service a deployment uses."""
        from wildrydes_cli.aws.regions import check_local_region
        return check_local_region(region, source)

    @staticmethod
    def rejected_hint() -> str:
        return ""   # the emulator serves every region it knows: rejected credentials are only that

    def session_args(self) -> dict[str, Any]:
        # This user's generated credentials (local/awsapi/credentials.py): the emulator's SigV4
        # gate admits nothing else, and a user's real keys never go there. No profile and no AWS
        # config file either: AWS_PROFILE naming a profile that does not exist, or a config file
        # botocore cannot parse, has nothing to do with the emulator.
        import botocore.session

        from wildrydes_cli.local.awsapi.credentials import local_credentials
        credentials = local_credentials(self.settings.state_dir)
        core = botocore.session.Session(session_vars={"profile": (None, None, None, None),
                                                      "config_file": (None, None, os.devnull, None)})
        return {"aws_access_key_id": credentials.access_key_id, "botocore_session": core,
                "aws_secret_access_key": credentials.secret_access_key, "region_name": self.settings.region}

    def invoke_url(self, api_id: str, stack_url: str | None = None, stage: str = STAGE) -> str:
        """The stage URL clients POST to (**contract**: LocalStack's form); the stack's output is AWS's."""
        return f"{self.endpoint_url.rstrip('/')}/restapis/{api_id}/{stage}/_user_request_/"

    def deployment_url(self, deployment: Any) -> str:
        """Rebuilt from the API id: the emulator's port may have changed since deploy."""
        return self.invoke_url(deployment.api_id)


Target = Union[AwsTarget, LocalTarget]


def target_class(name: str) -> type[AwsTarget] | type[LocalTarget]:
    """The class of the target ``--target`` names: what is known of it before anything starts."""
    return LocalTarget if name == "local" else AwsTarget


def target_for(settings: Settings) -> Target:
    """The target these settings name, without starting anything (the local one needs its endpoint).

    The region is checked here, the door every AWS call goes through, so a bad one is a usage
    error before the emulator starts or deploy uploads anything.
    """
    kind = target_class(settings.target)
    kind.check_region(settings.region, settings.region_source)
    if kind is AwsTarget:
        aws = AwsTarget(settings)
        aws.check_environment()
        return aws
    if not settings.endpoint_url:
        raise LocalTargetError("The local emulator's endpoint is not known yet: resolve the target first.")
    return LocalTarget(settings, settings.endpoint_url)


def resolve(settings: Settings) -> Target:
    """The target, ready for AWS calls; starts the local emulator if needed."""
    if target_class(settings.target) is AwsTarget or settings.endpoint_url:
        return target_for(settings)
    LocalTarget.check_region(settings.region, settings.region_source)   # before the daemon starts
    from wildrydes_cli.state_dir import require_writable
    require_writable(settings.state_dir)   # the daemon keeps its state, log and credentials there
    try:  # lazy: the daemon (and moto) is only needed on the local target
        from wildrydes_cli.local import daemon
    except ImportError as exc:
        raise LocalTargetError(f"The local target is not available in this install ({exc}). "
                               "Use --target aws, or reinstall wildrydes.") from exc
    endpoint_url = daemon.ensure_running(settings)
    LOG.debug("local target at %s", endpoint_url)
    return target_for(settings.with_endpoint(endpoint_url))


def _is_local_target(url: str, ports: set[int]) -> bool:
    """Whether ``url`` is a loopback address at one of the local target's ``ports``."""
    from wildrydes_cli.loopback import LOOPBACK_HOSTS
    try:
        parts = urlsplit(url.strip())
        return parts.hostname in LOOPBACK_HOSTS and parts.port in ports
    except ValueError:
        return False


def local_leftovers(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """What in the environment belongs to the local target: its endpoint, or its access key (never the secret).

    The endpoint is the local target's when it is a loopback address at the local port
    (WILDRYDES_LOCAL_PORT, else 4566) or at the port a daemon recorded; the key when it is the
    one in the local target's credentials file, or has its prefix.
    """
    from wildrydes_cli.local.awsapi.credentials import ACCESS_KEY_PREFIX, credentials_file, read_credentials
    env = os.environ if environ is None else environ
    ports = local_ports(settings)
    reasons = []
    for name in sorted(n for n in env if n == "AWS_ENDPOINT_URL" or n.startswith("AWS_ENDPOINT_URL_")):
        if _is_local_target(env[name], ports):
            reasons.append(f"{name}={env[name].strip()} is the local emulator")
    key = env.get("AWS_ACCESS_KEY_ID", "")
    if key:
        try:
            local_key = read_credentials(credentials_file(settings.state_dir)).access_key_id
        except (OSError, WildrydesError):
            local_key = None
        if key == local_key or key.startswith(ACCESS_KEY_PREFIX):
            reasons.append("AWS_ACCESS_KEY_ID is the local target's key")
    return reasons


def local_ports(settings: Settings) -> set[int]:
    """The local target's ports: the configured one (WILDRYDES_LOCAL_PORT, else 4566) and a daemon's recorded one."""
    from wildrydes_cli.local import daemon_files
    ports: set[int] = set()
    try:
        ports.add(daemon_files.resolve_port(None, settings.local_port))
    except WildrydesError:
        pass
    state = daemon_files.read_state(settings.state_dir)
    if state is not None:
        ports.add(state.port)
    return ports


def configured_local_endpoints(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """``endpoint_url`` lines of the AWS config file that botocore would follow to the local target.

    botocore (1.31+) reads ``endpoint_url`` in the profile and, per service, in the ``[services NAME]``
    section the profile names, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile's
    ``ignore_configured_endpoint_urls`` is true. A LocalStack user's profile often has one on
    127.0.0.1:4566, the local target's own port: --target aws then talked to the emulator with the
    user's AWS keys, and said "credentials rejected". An endpoint elsewhere is the user's choice.
    """
    env = os.environ if environ is None else environ
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return []
    name = settings.profile or env.get("AWS_PROFILE") or "default"
    path = Path(env.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config").expanduser()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error, UnicodeDecodeError):
        return []
    section = name if name == "default" else f"profile {name}"
    if not parser.has_section(section):
        return []
    if parser.get(section, "ignore_configured_endpoint_urls", fallback="").strip().lower() == "true":
        return []
    found = [(f"endpoint_url in [{section}]", parser.get(section, "endpoint_url", fallback=""))]
    services = parser.get(section, "services", fallback="").strip()
    if services and parser.has_section(f"services {services}"):
        for service, nested in parser.items(f"services {services}"):
            for line in nested.splitlines():       # "s3 =\n  endpoint_url = URL": a nested block of lines
                key, _, value = line.partition("=")
                if key.strip() == "endpoint_url":
                    found.append((f"endpoint_url of {service} in [services {services}]", value))
    ports = local_ports(settings)
    return [f"{where} of {path} is {url.strip()}, the local emulator" for where, url in found
            if _is_local_target(url, ports)]


KEY_VARIABLE = "WILDRYDES_API_KEY"
KEY_EXPORT = f'export {KEY_VARIABLE}="$(wildrydes keys show --value)"'


def curl_command(url: str, api_key: bool = False, sigv4_region: str | None = None) -> str:
    """The workshop's Step 5 request, ready to paste: with the key from $WILDRYDES_API_KEY when one is needed, or
    signed by curl itself (SigV4 for execute-api in ``sigv4_region``) with the credentials in the environment."""
    body = '{ "distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0 }'
    key = f' -H "x-api-key: ${KEY_VARIABLE}"' if api_key else ""
    sign = (f' --aws-sigv4 "aws:amz:{sigv4_region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"'
            if sigv4_region else "")
    return f"curl{sign} -d '{body}' -H \"Content-Type: application/json\"{key} -X POST {url}"


def profile_region(profile: str | None) -> str | None:
    """The region of the named (or default) profile in the AWS config file, read without botocore.

    botocore would cost ~150 ms on every command; an INI lookup is enough here.
    """
    name = profile or os.environ.get("AWS_PROFILE") or "default"
    path = Path(os.environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config").expanduser()
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error, UnicodeDecodeError):
        return None
    section = name if name == "default" else f"profile {name}"
    if not parser.has_section(section):
        return None
    return parser.get(section, "region", fallback=None) or None
