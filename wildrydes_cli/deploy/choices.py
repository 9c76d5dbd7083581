"""What ``deploy`` keeps from the last deploy of its stack: engine, role, memory, a pinned model, auth and limits.

Why: a deploy that forgets what the user chose undoes it. After ``deploy --engine
mxnet`` a plain ``deploy`` went back to lean; a role given once (``--role``, or the
workshop's ``DataProcessingExecutionRoleName`` set by hand) was reset to a new one;
after a rollback (``--model-path OLD``) ``status`` asked for a deploy that rolled
forward again. So each choice stays until it is changed: the engine, role and
memory as the stack's parameters hold them (the truth on the target, also for a
stack made by hand), the pinned model as the deployment record says
(``--model-path newest`` unpins it). Memory counts as chosen only when it is not
the engine's default. Who may call the API (``--auth``, and with api-key the
usage plan's ``--rate``, ``--burst`` and ``--quota``) is kept the same way, from
the stack's parameters (``access.py``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from wildrydes_cli import deployment_record
from wildrydes_cli.deploy import access
from wildrydes_cli.deploy.packaging import MEMORY_MB
from wildrydes_cli.errors import UsageError
from wildrydes_cli.settings import Settings

if TYPE_CHECKING:
    from wildrydes_cli.aws.client import Aws
    from wildrydes_cli.deploy.deployer import DeployRequest

LOG = logging.getLogger(__name__)

NEWEST = "newest"          # --model-path newest: serve the newest model again (unpin)
MEMORY_RANGE = (128, 10240)  # Lambda's, and the template's MinValue/MaxValue


@dataclass(frozen=True)
class Previous:
    """The last deploy's choices for one stack (None: nothing chosen, use the default)."""

    engine: str | None = None
    role: str | None = None
    memory_mb: int | None = None
    pinned_model: str | None = None
    auth: str | None = None                # None: no stack yet
    limits: access.Limits | None = None    # the usage plan's, with api-key
    key_generation: int = 1


def previous(settings: Settings, aws: "Aws", stack: str) -> Previous:
    """What the stack's parameters and the deployment record say was chosen last time."""
    params = aws.stack_parameters(stack)
    record = deployment_record.load(settings).get(stack)
    engine = params.get("Engine") if params.get("Engine") in MEMORY_MB else (record.engine if record else None)
    memory = int(params["MemorySize"]) if params.get("MemorySize", "").isdigit() else None
    if memory is not None and memory == MEMORY_MB.get(engine or "lean"):
        memory = None   # the engine's default: not a choice to keep
    return Previous(engine=engine, role=params.get("DataProcessingExecutionRoleName") or None, memory_mb=memory,
                    pinned_model=record.model_path if record and record.pinned else None,
                    auth=(params.get("Auth") or "none") if params else None,
                    limits=access.limits_from_parameters(params), key_generation=access.key_generation(params))


def check_request(request: "DeployRequest") -> None:
    """Options that contradict each other, or a memory Lambda does not offer: usage errors."""
    if request.role and request.new_role:
        raise UsageError("--role NAME runs the function with that role, --new-role with one the stack creates: "
                         "choose one.")
    if request.memory_mb is not None and not MEMORY_RANGE[0] <= request.memory_mb <= MEMORY_RANGE[1]:
        raise UsageError(f"--memory must be from {MEMORY_RANGE[0]} to {MEMORY_RANGE[1]} MB (Lambda's range), "
                         f"got {request.memory_mb}.")
    access.check_limits(request.rate, request.burst)
    if request.quota is not None:
        access.parse_quota(request.quota)
    if request.auth in ("none", "iam") and (request.rate is not None or request.burst is not None or request.quota):
        raise UsageError(f"--rate, --burst and --quota set the API key's usage plan: they need --auth api-key "
                         f"(with --auth {request.auth} no usage plan counts requests).")


def with_kept(request: "DeployRequest", last: Previous) -> tuple["DeployRequest", tuple[str, ...]]:
    """``request`` with every choice it leaves open taken from ``last``; and what was kept, in words."""
    kept: list[str] = []
    engine = request.engine or last.engine or "lean"
    if request.engine is None and last.engine and last.engine != "lean":
        kept.append(f"engine {engine}")
    role = request.role
    if role is None and not request.new_role and last.role:
        role = last.role
        kept.append(f"role {role}")
    memory = request.memory_mb
    if memory is None and last.memory_mb and last.memory_mb >= MEMORY_MB[engine]:
        memory = last.memory_mb
        kept.append(f"memory {memory} MB")
    model_path, pinned = request.model_path, request.model_path not in (None, NEWEST)
    if model_path == NEWEST:
        model_path = None
    elif model_path is None and last.pinned_model:
        model_path, pinned = last.pinned_model, True
        kept.append(f"model {model_path} (pinned)")
    auth = request.auth or last.auth or "none"
    if request.auth is None and auth != "none":
        kept.append(f"auth {auth}")
    limits = kept_limits(request, last, auth, kept)
    return replace(request, engine=engine, role=role, memory_mb=memory or MEMORY_MB[engine],
                   model_path=model_path, pinned=pinned, kept=tuple(kept), auth=auth, limits=limits), tuple(kept)


def kept_limits(request: "DeployRequest", last: Previous, auth: str, kept: list[str]) -> access.Limits:
    """The usage plan's limits: given now, else the last deploy's, else the defaults."""
    before = last.limits or access.Limits()
    if auth != "api-key":
        return access.Limits()
    quota_limit, quota_period = access.parse_quota(request.quota) if request.quota is not None else \
        (before.quota_limit, before.quota_period)
    limits = access.Limits(rate=request.rate if request.rate is not None else before.rate,
                           burst=request.burst if request.burst is not None else before.burst,
                           quota_limit=quota_limit, quota_period=quota_period)
    if last.limits is not None and (request.rate, request.burst, request.quota) == (None, None, None) and \
            last.limits != access.Limits():
        kept.append(f"rate {limits.rate:g}/s burst {limits.burst}" +
                    (f" quota {limits.quota_text()}" if limits.quota_limit is not None else ""))
    return limits
