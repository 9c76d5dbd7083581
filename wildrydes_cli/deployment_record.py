"""The state file of what ``deploy`` made (what predict, status and cleanup start from).

Why: ``predict``, ``status`` and ``cleanup`` read it instead of rediscovering
resources, and ``cleanup`` removes exactly what was made, including what the
emulator leaves behind (its delete_stack keeps the RestApi) and the uploaded
code zips. One file per target and region, in the per-user state directory.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wildrydes_cli.errors import UsageError
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

_REGION = re.compile(r"\A[a-z]{2}(?:-[a-z]+)+-\d+\Z")


@dataclass
class Deployment:
    """One stack deploy made from function.yml (under wildrydes-ml-mod3-4, or mod0-4 with --complete)."""

    stack: str
    bucket: str
    function_name: str
    api_id: str
    invoke_url: str
    model_path: str
    engine: str
    runtime: str
    code_keys: list[str] = field(default_factory=list)
    deployed_at: str = ""
    # --model-path chose the model: later deploys keep it until --model-path newest (a rollback stays put).
    pinned: bool = False
    # who may call the API: "none", or "api-key" (predict then sends the stack's key)
    auth: str = "none"


def state_path(settings: Settings) -> Path:
    """One file per target, account (when bound, see accounts.bind) and region."""
    account = getattr(settings, "account", None)
    name = f"{settings.target}-{account}-{settings.region}" if account else f"{settings.target}-{settings.region}"
    return Path(settings.state_dir) / "deployed" / f"{name}.json"


def load(settings: Settings) -> dict[str, Deployment]:
    """Deployments by stack name; empty when nothing is recorded."""
    return load_file(state_path(settings))


def load_file(path: Path) -> dict[str, Deployment]:
    """The deployments one state file records (see ``load``)."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        LOG.warning("ignoring unreadable state file %s: %s", path, exc)
        return {}
    known = set(Deployment.__dataclass_fields__)
    return {name: Deployment(**{k: v for k, v in item.items() if k in known})
            for name, item in raw.get("deployments", {}).items()}


def save(settings: Settings, deployments: dict[str, Deployment], current: str | None = None) -> Path:
    """Write atomically (rename), so a crash never leaves half a file; a UsageError naming the file when the
    state directory cannot take it (a full disk): the old record is then left as it was."""
    return save_file(state_path(settings), deployments, current)


def save_file(path: Path, deployments: dict[str, Deployment], current: str | None = None) -> Path:
    """Write one state file (see ``save``); no deployments removes it."""
    tmp = None
    try:
        if not deployments:
            path.unlink(missing_ok=True)
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        previous = current_name(path)
        data = {"current": current or (previous if previous in deployments else next(iter(deployments))),
                "deployments": {name: asdict(d) for name, d in deployments.items()}}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"Cannot write the deployment record {path}: {exc.strerror or exc}.") from None
    return path


def current(settings: Settings) -> Deployment | None:
    """The deployment made last (what predict talks to by default)."""
    deployments = load(settings)
    if not deployments:
        return None
    name = current_name(state_path(settings))
    return deployments.get(name or "") or next(iter(deployments.values()))


def regions_with_deployments(state_dir: Path, target: str, account: str | None = None) -> dict[str, str]:
    """{region: when its newest recorded deployment was made} on this target (and account), from the file names.

    What ``status`` names when another region holds deployments, and where the local target's
    region defaults to (the last deploy's). Unreadable files count as holding nothing.
    """
    prefix = f"{target}-{account}-" if account else f"{target}-"
    found: dict[str, str] = {}
    directory = Path(state_dir) / "deployed"
    try:
        paths = sorted(directory.glob(f"{prefix}*.json"))
    except OSError:
        return {}
    for path in paths:
        region = path.stem[len(prefix):]
        if not _REGION.match(region):   # another account's file (target-account-region), or not ours
            continue
        try:
            raw = json.loads(path.read_text()).get("deployments", {})
            times = [str(item.get("deployed_at", "")) for item in raw.values() if isinstance(item, dict)]
        except (OSError, ValueError, AttributeError):
            continue
        if times:
            found[region] = max(times)
    return found


def current_name(path: Path) -> str | None:
    """The stack name a state file marks as current (None when it marks none)."""
    try:
        return json.loads(path.read_text()).get("current")
    except (OSError, ValueError):
        return None
