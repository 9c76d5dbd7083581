"""What the domain modules need of the terminal: progress steps and notes, nothing else.

Why a protocol and not ``Console``: deploy, cleanup and bootstrap report
progress while they work, but what is drawn, and where, is the console's
business (console.py, presentation.py). Tests and scripts may pass anything
with these two methods.
"""
from __future__ import annotations

from typing import ContextManager, Protocol


class Progress(Protocol):
    def step(self, title: str) -> ContextManager[dict]:
        """A unit of work; the yielded dict takes a ``detail`` shown when it is done."""
        ...

    def info(self, message: str) -> None:
        """A note beside the steps (stderr: never part of a command's result)."""
        ...
