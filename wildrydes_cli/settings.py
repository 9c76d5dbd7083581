"""One dataclass of settings shared by every command.

Grouping them here keeps function signatures short (every command takes one
``Settings``, not a dozen options) and keeps defaults in one place: the
workshop's stack names, the scratchpad path, the target.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

TARGETS = ("local", "aws")
OUTPUTS = ("text", "json")

DEFAULT_REGION = "us-east-1"
DEFAULT_LOCAL_PORT = 4566
PREREQ_STACK = "wildrydes-ml-mod1-3"      # data bucket + DataProcessingExecutionRole
FUNCTION_STACK = "wildrydes-ml-mod3-4"    # function + REST API
COMPLETE_STACK = "wildrydes-ml-mod0-4"    # the workshop's "break glass" one-stack path


def default_state_dir() -> Path:
    """Per-user state directory: ``$WILDRYDES_HOME``, else XDG state home, else ~/.local/state."""
    explicit = os.environ.get("WILDRYDES_HOME")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "wildrydes"


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where and how to act."""

    target: str = "local"
    region: str = DEFAULT_REGION
    # Where the region came from, for messages about a bad one (regions.check_region).
    region_source: str = "--region"
    profile: str | None = None
    output: str = "text"
    debug: bool = False
    scratchpad: Path = Path("scratchpad.txt")
    prereq_stack: str = PREREQ_STACK
    function_stack: str = FUNCTION_STACK
    complete_stack: str = COMPLETE_STACK
    # Set for the local target once the emulator is known to be running.
    endpoint_url: str | None = None
    local_port: int = DEFAULT_LOCAL_PORT
    state_dir: Path = field(default_factory=default_state_dir)
    # The AWS account of the credentials (accounts.bind); names the state file and the deploy lock.
    account: str | None = None

    @property
    def function_stacks(self) -> tuple[str, str]:
        """Every stack name deploy may create from function.yml (status and cleanup look at each)."""
        return (self.function_stack, self.complete_stack)

    @property
    def json_output(self) -> bool:
        return self.output == "json"

    def with_endpoint(self, endpoint_url: str) -> "Settings":
        return replace(self, endpoint_url=endpoint_url)
