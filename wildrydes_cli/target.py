"""Resolve the target once per command: real AWS as is, or the embedded emulator's endpoint.

Every command that talks to AWS calls ``resolve`` first, so the rest of the
code never asks which target it is on: on ``local`` the settings simply carry
an ``endpoint_url`` and boto3 goes there.
"""
from __future__ import annotations

import configparser
import logging
import os
from pathlib import Path

from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)


def resolve(settings: Settings) -> Settings:
    """Settings ready for AWS calls; starts the local emulator if needed."""
    if settings.target != "local" or settings.endpoint_url:
        return settings
    try:  # lazy: the daemon (and moto) is only needed on the local target
        from wildrydes_cli.local import daemon
    except ImportError as exc:
        raise LocalTargetError(f"The local target is not available in this install ({exc}). "
                               "Use --target aws, or reinstall wildrydes.") from exc
    endpoint_url = daemon.ensure_running(settings)
    LOG.debug("local target at %s", endpoint_url)
    return settings.with_endpoint(endpoint_url)


def local_session_arguments(settings: Settings) -> dict:
    """boto3 Session arguments for the local target: this user's generated credentials (local/credentials.py)."""
    from wildrydes_cli.local.credentials import local_credentials
    credentials = local_credentials(settings.state_dir)
    return {"aws_access_key_id": credentials.access_key_id, "aws_secret_access_key": credentials.secret_access_key,
            "region_name": settings.region}


def invoke_url(settings: Settings, api_id: str, stage: str = "prod") -> str:
    """The stage URL clients POST to (**contract**: the local form is LocalStack's)."""
    if settings.endpoint_url:
        return f"{settings.endpoint_url.rstrip('/')}/restapis/{api_id}/{stage}/_user_request_/"
    return f"https://{api_id}.execute-api.{settings.region}.amazonaws.com/{stage}/"


def curl_command(url: str) -> str:
    """The workshop's Step 5 request, ready to paste."""
    body = '{ "distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0 }'
    return f"curl -d '{body}' -H \"Content-Type: application/json\" -X POST {url}"


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
