"""The text form of a canary: ``deploy --canary``, ``promote``, a canary's ``rollback``, and ``status``'s lines.

Kept apart from presentation.py (which dispatches here) so that module stays the other
commands' words; the JSON forms are the results' ``to_json()``.
"""
from __future__ import annotations

from wildrydes_cli.cli.console import Console
from wildrydes_cli.results import CanaryEndResult, CanaryState, DeployResult


def started(console: Console, result: DeployResult) -> None:
    """deploy --canary: which model answers what share, and the two ways on."""
    state = result.canary
    assert state is not None
    console.line(f"Canary on {result.function_name} (alias {state.alias_arn.rsplit(':', 1)[-1]}): "
                 f"{state.percent}% of the requests to s3://{result.bucket}/{state.candidate_model} "
                 f"(version {state.candidate_version}), {100 - state.percent}% to {state.stable_model} "
                 f"(version {state.stable_version}).")
    console.line("Each response's model_path says which one answered. Then `wildrydes promote` (all to the new "
                 "model) or `wildrydes rollback` (all back).")


def running(console: Console, state: CanaryState) -> None:
    """status: a canary is running."""
    console.line(f"canary: {state.percent}% to {state.candidate_model} (version {state.candidate_version}), "
                 f"{100 - state.percent}% to {state.stable_model} (version {state.stable_version}); "
                 "`wildrydes promote` or `wildrydes rollback` ends it.")


def ended(console: Console, result: CanaryEndResult) -> None:
    if result.action == "promote":
        console.line(f"Promoted: every request to s3://{result.bucket}/{result.model_path} (version "
                     f"{result.version}; it answered {result.percent}% during the canary). {result.other_model} is "
                     "no longer served; `wildrydes rollback` serves it again.")
    else:
        console.line(f"Rolled back: every request to s3://{result.bucket}/{result.model_path} again (version "
                     f"{result.version}); the canary's {result.other_model} is no longer served.")
    if result.pinned:
        console.line(f"{result.model_path} is pinned: later deploys keep it (`wildrydes deploy --model-path newest` "
                     "serves the newest model again).")
    if result.invoke_url:
        console.line(f"Invoke URL: {result.invoke_url}", style="bold")
