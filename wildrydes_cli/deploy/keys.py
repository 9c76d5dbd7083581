"""``wildrydes keys rotate``: a new API key for the stack; the old one stops working.

Why through the stack: the key is a resource of function.yml named
``<stack>-key-<ApiKeyGeneration>``. Raising the generation renames it, and a new
name makes CloudFormation replace the key (a new value, associated with the usage
plan; the old key is deleted when the update completes), and the local target the
same (``local/awsapi/stack_keys.py``). Every other parameter is passed as it is,
so nothing else changes; one deploy or rotation at a time (``locks``).
"""
from __future__ import annotations

from wildrydes_cli.aws import api_keys
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.deploy import locks, stacks
from wildrydes_cli.progress import Progress
from wildrydes_cli.results import KeysResult
from wildrydes_cli.settings import Settings


def rotate(settings: Settings, aws: Aws, console: Progress) -> KeysResult:
    """Replace the stack's key; returns the new key (without its value) and the old key's id."""
    account = settings.account or aws.target.fixed_account or aws.account_id()
    with locks.held(locks.lock_path(settings.state_dir, settings.target, account, settings.region),
                    sleep=aws.sleep, on_wait=console.info):
        stack = api_keys.stack_of(settings)
        params = api_keys.stack_params(aws, stack)
        old = api_keys.current_key(aws, stack, params)
        params = {**params, "ApiKeyGeneration": str(api_keys.generation_of(params) + 1)}
        with console.step(f"Replace the API key of stack {stack}") as note:
            aws.deploy_stack(stack, stacks.template_body(stacks.FUNCTION), params)
            new = api_keys.current_key(aws, stack, params)
            note["detail"] = f"{old.get('id')} -> {new.get('id')}"
    return KeysResult(action="rotate", stack=stack, keys=[api_keys.info(new)], replaced=str(old.get("id")),
                      **api_keys.limits(params))
