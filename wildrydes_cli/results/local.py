"""Results of the local target's own commands: local start|stop|status|reset, compact, env.

One module of ``wildrydes_cli.results`` (its ``__init__`` says why typed results).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from wildrydes_cli.results.base import Result


@dataclass(frozen=True)
class LocalEnvResult(Result):
    """``local env``: the variables that point the AWS CLI and SDKs at the local target (``--unset``: their names)."""

    env: dict[str, str]
    unset: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"unset": list(self.unset)} if self.unset else dict(self.env)

@dataclass(frozen=True)
class LocalDaemonResult(Result):
    """``local start|stop|status|reset``: the emulator daemon as the action left it."""

    action: str                    # start, stop, status or reset: which words the text form uses
    running: bool
    pid: int | None = None
    port: int | None = None
    endpoint_url: str | None = None
    log_file: str | None = None
    started_at: float | None = None
    already_running: bool = False
    stale_pid: int | None = None   # a dead daemon's pid whose state file was removed
    recovery: dict | None = None   # ``local start --recover``: what was kept and set aside (journal_recovery)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["action"]         # the command says which; scripts read the daemon's facts
        return data

@dataclass(frozen=True)
class LocalCompactResult(Result):
    """``local compact``: what compacting the stopped emulator's journal did (``local/awsapi/compact.py``)."""

    journal_dir: str
    compacted: bool
    records_before: int
    records_after: int
    bytes_before: int
    bytes_after: int
    seconds: float
    reason: str
