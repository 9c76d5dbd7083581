"""``wildrydes cleanup``: remove exactly what deploy made, and nothing else.

What deploy made is in the state file: the stack(s), the uploaded code zips,
and the REST API id (the emulator's delete_stack leaves the RestApi behind,
so it is deleted by id when still there). A stack that exists under our name
but was not recorded (state lost) is still cleaned up, from its outputs. The
data bucket and its models stay unless ``--delete-bucket`` is given and
confirmed. On AWS (``target.asks_before_cleanup``) deleting the stacks is
confirmed first too (``--yes`` for scripts). Running it again finds nothing and
says so.

A stack found ``*_IN_PROGRESS`` (a deploy interrupted with Ctrl-C, another
one elsewhere) is waited for first, as deploy waits: CloudFormation refuses
to delete it meanwhile. Keys S3 refuses to delete (DeleteObjects answers 200
with per-key errors) are named with S3's reason and never counted as removed.
"""
from __future__ import annotations

import logging
from typing import Callable

from wildrydes_cli import deployment_record
from wildrydes_cli.aws import settle
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.aws.data_bucket import find_data_bucket
from wildrydes_cli.aws.found_deployment import api_of
from wildrydes_cli.aws.stacks import outputs_of
from wildrydes_cli.errors import AwsError
from wildrydes_cli.prerequisites import role_stack_name
from wildrydes_cli.progress import Progress
from wildrydes_cli.results import CleanupResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

MAX_NAMED = 20   # refused keys named in the message (the rest are counted)


def _targets(settings: Settings, aws: Aws) -> dict[str, dict]:
    """Stacks to delete with the API id and code keys to remove after them."""
    found: dict[str, dict] = {}
    for name, item in deployment_record.load(settings).items():
        found[name] = {"api_id": item.api_id, "bucket": item.bucket, "code_keys": list(item.code_keys)}
    for name in settings.function_stacks:
        if aws.stack(name) is None:
            continue
        outputs = aws.stack_outputs(name)
        entry = found.setdefault(name, {"api_id": None, "bucket": None, "code_keys": []})
        entry["api_id"] = entry["api_id"] or outputs.get("ApiId") or api_of(aws, name)   # ours, or made by hand
        params = aws.stack_parameters(name)
        entry["bucket"] = entry["bucket"] or params.get("DataBucket")
        if params.get("CodeKey") and params["CodeKey"] not in entry["code_keys"]:
            entry["code_keys"].append(params["CodeKey"])
    return found


def cleanup(settings: Settings, aws: Aws, console: Progress, delete_bucket: bool = False,
            confirm: Callable[[str], bool] = lambda question: False, yes: bool = False) -> CleanupResult:
    """Delete each recorded (or found) deployment, then, when asked and confirmed, the data bucket."""
    removed: dict[str, list] = {"stacks": [], "apis": [], "code": [], "buckets": []}
    refused: dict[str, str] = {}
    targets = _targets(settings, aws)
    if targets and aws.target.asks_before_cleanup and not yes and not confirm(
            f"Delete {_stacks_phrase(list(targets))} (function, API, uploaded code) on {aws.target.name} "
            f"account {settings.account or '?'}, {settings.region}?"):
        return CleanupResult(target=settings.target, region=settings.region, nothing_to_do=False,
                             function_stacks=list(settings.function_stacks), kept=list(targets))
    for name, entry in targets.items():
        refused.update(_remove_deployment(aws, console, name, entry, removed))
    deployment_record.save(settings, {})
    if refused:
        raise AwsError("Cleanup removed " + (removed_summary(removed) if any(removed.values()) else "nothing") +
                       " but S3 refused to delete " + "; ".join(f"{k} ({why})" for k, why in sorted(refused.items()))
                       + ". Delete them with credentials allowed to (aws s3 rm), or they stay billed.")
    if delete_bucket:
        bucket = next((e["bucket"] for e in targets.values() if e["bucket"]), None) or find_data_bucket(settings, aws)
        if bucket and aws.bucket_exists(bucket):
            _remove_bucket(settings, aws, console, bucket, removed, yes or confirm(
                f"Delete bucket {bucket} and EVERY object in it (all models)?"))
    return CleanupResult(target=settings.target, region=settings.region, nothing_to_do=not any(removed.values()),
                         function_stacks=list(settings.function_stacks), **removed)


def _stacks_phrase(names: list[str]) -> str:
    return f"stack {names[0]}" if len(names) == 1 else "stacks " + " and ".join(names)


def _remove_deployment(aws: Aws, console: Progress, name: str, entry: dict, removed: dict) -> dict[str, str]:
    """The stack, the API it left behind, the code zips it ran; returns the zips S3 refused to delete."""
    with console.step(f"Delete stack {name}") as note:
        # CloudFormation refuses to delete a stack while an operation runs on it: wait, as deploy does
        settle.check_usable(name, aws.settled_stack(name))
        deleted = aws.delete_stack(name)
        note["detail"] = "deleted" if deleted else "already gone"
    if deleted:
        removed["stacks"].append(name)
    if entry["api_id"] and aws.delete_rest_api(entry["api_id"]):
        console.info(f"   removed the API {entry['api_id']} the stack left behind")
        removed["apis"].append(entry["api_id"])
    bucket = entry["bucket"]
    if not (bucket and entry["code_keys"] and aws.bucket_exists(bucket)):
        return {}
    present = [k for k in entry["code_keys"] if aws.object_exists(bucket, k)]
    gone, failed = aws.delete_keys_checked(bucket, present)   # DeleteObjects answers 200 with per-key errors
    removed["code"].extend(f"s3://{bucket}/{k}" for k in gone)
    return {f"s3://{bucket}/{k}": why for k, why in failed.items()}


def _remove_bucket(settings: Settings, aws: Aws, console: Progress, bucket: str, removed: dict,
                   confirmed: bool) -> None:
    if not confirmed:
        console.info(f"Kept bucket {bucket}.")
        return
    # The bootstrap stack first: its bucket is retained when the stack is deleted (RetainExceptOnCreate),
    # and removing the stack after the bucket would have it look for a bucket that is gone.
    _drop_prerequisites_if_theirs(settings, aws, bucket, removed)
    with console.step(f"Delete bucket {bucket}") as note:
        count, refused = aws.empty_and_delete_bucket(bucket) if aws.bucket_exists(bucket) else (0, {})
        note["detail"] = f"{count} object{'' if count == 1 else 's'} removed"
    if refused:
        shown = sorted(refused.items())
        more = f" and {len(shown) - MAX_NAMED} more" if len(shown) > MAX_NAMED else ""
        raise AwsError(f"Bucket {bucket} was not deleted: S3 refused to delete {len(shown)} object"
                       f"{'' if len(shown) == 1 else 's'} (" + "; ".join(f"{k}: {why}" for k, why in shown[:MAX_NAMED])
                       + f"{more}); {count} other{' was' if count == 1 else 's were'} removed. Delete them with "
                       "credentials allowed to (an object lock or a bucket policy may forbid it), then run "
                       "`wildrydes cleanup --delete-bucket` again.")
    removed["buckets"].append(bucket)


def _drop_prerequisites_if_theirs(settings: Settings, aws: Aws, bucket: str, removed: dict) -> None:
    """The bootstrap stacks of the bucket about to be deleted would point at nothing: remove them too (its
    own, and the SageMaker execution role's beside a module 1 stack the workshop made, which stays)."""
    for name in (role_stack_name(settings.prereq_stack), settings.prereq_stack):
        if outputs_of(aws.settled_stack(name)).get("DataBucket") == bucket:
            aws.delete_stack(name)
            removed["stacks"].append(name)


# What each kind of removed thing is called: (one, many).
_NOUNS = {"stacks": ("stack", "stacks"), "apis": ("API", "APIs"), "code": ("code zip", "code zips"),
          "buckets": ("bucket", "buckets")}


def removed_summary(removed: dict) -> str:
    """'1 stack, 2 APIs, 1 code zip.': counts with the noun in the right number."""
    parts = [f"{len(v)} {_NOUNS[k][len(v) != 1]}" for k, v in removed.items() if v]
    return ", ".join(parts) + "."

