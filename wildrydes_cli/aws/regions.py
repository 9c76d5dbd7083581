"""Is the region a user gave one we can act in? Checked before anything is started or uploaded.

Why: a typo such as ``--region xx-nowhere-9`` used to travel all the way to
the first AWS call. On the local target the emulator (moto) then answered 500
(it keeps one backend per region it knows), deploy had already uploaded the
function's code, and the user saw "unexpected KeyError", exit 70. Now:

* on either target the name must have the form of an AWS region, by the
  partitions' own patterns (botocore's ``partitions.json``: ``us-east-1``,
  ``cn-north-1``, ``us-gov-west-1``, ...), so new AWS regions still pass;
* on the local target it must also be a region the emulator serves, i.e. one
  where every service a deployment uses exists in botocore's endpoint data
  (the list moto builds its backends from).

Both failures are a ``UsageError`` naming the value and where it came from.
"""
from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path

from wildrydes_cli.errors import UsageError

LOG = logging.getLogger(__name__)

# Every service a deployment touches on the local target (IAM and STS are global there).
LOCAL_SERVICES = ("s3", "cloudformation", "lambda", "apigateway", "logs")
EXAMPLES = "e.g. us-east-1, eu-west-1, ap-southeast-2"


def _botocore_data(name: str) -> dict:
    """One of botocore's plain-JSON data files, found without importing botocore (~100 ms)."""
    import importlib.util
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:  # pragma: no cover - boto3 is a dependency
        raise OSError("botocore is not installed")
    return json.loads((Path(spec.origin).parent / "data" / name).read_text())


@functools.lru_cache(maxsize=1)
def _region_patterns() -> tuple[re.Pattern[str], ...]:
    """The partitions' region patterns from botocore's data file (plain JSON: no session, no cost)."""
    try:
        partitions = _botocore_data("partitions.json")["partitions"]
        return tuple(re.compile(p["regionRegex"]) for p in partitions)
    except (OSError, ValueError, KeyError, TypeError, re.error) as exc:  # pragma: no cover - a broken botocore
        LOG.warning("cannot read botocore's partitions.json (%s); using the aws partition's pattern", exc)
        return (re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$"),)


@functools.lru_cache(maxsize=1)
def local_regions() -> frozenset[str]:
    """Regions where every service in LOCAL_SERVICES exists, across partitions (as moto computes them).

    Read from botocore's endpoints.json directly, as ``Session.get_available_regions`` reads it
    (a partition's regional endpoints, deprecated ones left out), because a botocore session
    costs ~250 ms and this runs on every local-target command, ``predict`` included;
    tests/cli/test_bad_input.py holds it equal to botocore's own answer.
    """
    partitions = _botocore_data("endpoints.json")["partitions"]
    found: set[str] | None = None
    for service in LOCAL_SERVICES:
        regions: set[str] = set()
        for partition in partitions:
            pattern = re.compile(partition["regionRegex"])
            endpoints = partition["services"].get(service, {}).get("endpoints", {})
            regions.update(name for name, config in endpoints.items()
                           if not config.get("deprecated") and (name in partition["regions"] or pattern.match(name)))
        found = regions if found is None else found & regions
    return frozenset(found or ())


@functools.lru_cache(maxsize=None)
def partition_of(region: str) -> tuple[str, str]:
    """(partition id, DNS suffix) of a region, as botocore resolves it: its region list, then its pattern.

    The deployed function builds its S3 endpoint from the suffix (s3.<region>.<suffix>): every
    partition ``check_region_name`` accepts has its own (amazonaws.com.cn, amazonaws.eu, c2s.ic.gov...).
    """
    try:
        partitions = _botocore_data("partitions.json")["partitions"]
    except (OSError, ValueError, KeyError) as exc:  # pragma: no cover - a broken botocore
        LOG.warning("cannot read botocore's partitions.json (%s); assuming the aws partition", exc)
        return "aws", "amazonaws.com"
    for partition in partitions:
        if region in partition.get("regions", {}):
            return partition["id"], partition["outputs"]["dnsSuffix"]
    for partition in partitions:
        if re.match(partition["regionRegex"], region):
            return partition["id"], partition["outputs"]["dnsSuffix"]
    return "aws", "amazonaws.com"


# The aws partition's regions launched before March 20, 2019: enabled in every account. Every
# region launched since is opt-in (AWS Account Management Reference Guide, "Enable or disable
# AWS Regions in your account"), so this list is complete and never grows.
DEFAULT_ENABLED = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
})


def is_opt_in(region: str) -> bool:
    """A region of the aws partition that an account must enable before any call there works."""
    return partition_of(region)[0] == "aws" and is_region_form(region) and region not in DEFAULT_ENABLED


def is_region_form(region: str) -> bool:
    """True when ``region`` matches one of the AWS partitions' region patterns."""
    return any(pattern.match(region) for pattern in _region_patterns())


def check_region_name(region: str, source: str = "--region") -> str:
    """``region`` when it has the form of an AWS region, else a UsageError naming it and ``source``."""
    if not is_region_form(region):
        raise UsageError(f"{source} {region!r} is not an AWS region name ({EXAMPLES}); "
                         "pass --region with a region, or fix the setting.")
    return region


def check_local_region(region: str, source: str = "--region") -> str:
    """``region`` when the local emulator serves it (for every service a deployment uses)."""
    check_region_name(region, source)
    if region not in local_regions():
        raise UsageError(f"{source} {region!r} is not a region the local emulator serves ({EXAMPLES}); "
                         "pass --region with one it knows.")
    return region
