"""The Lambda runner and the function role's credentials, with real worker processes.

Lambda gives a function its role's temporary credentials; a worker's
environment is fixed when it starts, so the runner must replace warm workers
before their credentials expire, and a role Lambda cannot assume must fail the
invocation (not fall back to other credentials).
"""
from __future__ import annotations

import asyncio
import io
import itertools
import zipfile

from wildrydes_cli.local.awsapi.function_credentials import RoleNotAssumable, RoleSession
from wildrydes_cli.local.awsapi.moto_backends import LambdaFunction
from wildrydes_cli.local.invoke.runner import REFRESH_MARGIN, Runner

HANDLER = '''
import os
def handler(event, context):
    return {"statusCode": 200, "body": os.environ["AWS_ACCESS_KEY_ID"] + " " + os.environ["AWS_SESSION_TOKEN"]}
'''


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", HANDLER)
    return buffer.getvalue()


CODE = _zip()


def spec(role: str = "arn:aws:iam::123456789012:role/fn-role") -> LambdaFunction:
    return LambdaFunction(arn="arn:aws:lambda:us-east-1:123456789012:function:fn", name="fn",
                          account_id="123456789012", region="us-east-1", handler="index.handler",
                          runtime="python3.13", timeout=3.0, memory_size=128, environment=(), code_sha256="x",
                          last_modified="t", code_bucket=None, code_key=None, role=role)


class Issuer:
    """Sessions valid for ``lifetime`` seconds from the fake clock, numbered as they are issued."""

    def __init__(self, clock, lifetime: float = 3600.0):
        self.clock, self.lifetime = clock, lifetime
        self.count = itertools.count(1)
        self.asked: list[str] = []

    def __call__(self, function: LambdaFunction) -> RoleSession:
        self.asked.append(function.role)
        n = next(self.count)
        return RoleSession(f"ASIA{n}", "secret", f"token{n}", role_arn=function.role,
                           expires_at=self.clock() + self.lifetime)


async def run(runner: Runner, function: LambdaFunction) -> str:
    outcome = await runner.invoke(function, {}, "rid")
    assert outcome.kind == "ok", outcome
    return outcome.result["body"]


async def stop(runner: Runner) -> None:
    """Shut the runner down and wait for its workers, so no process outlives the test's event loop."""
    procs = [w.proc for pool in list(runner.pools.values()) + runner.retired for w in pool.idle + list(pool.busy)]
    runner.shutdown()
    for proc in procs:
        await proc.wait()


def test_workers_run_with_the_role_session_and_are_replaced_before_it_expires(tmp_path):
    now = [1_000_000.0]
    issuer = Issuer(lambda: now[0])
    runner = Runner("http://127.0.0.1:1", fetch=lambda _: CODE, clock=lambda: now[0], root=tmp_path,
                    role_credentials=issuer)
    function = spec()

    async def scenario() -> None:
        try:
            assert await run(runner, function) == "ASIA1 token1"
            now[0] += 3600 - function.timeout - REFRESH_MARGIN - 1      # still enough left for a request
            assert await run(runner, function) == "ASIA1 token1"
            now[0] += 2                                                  # not enough: fresh credentials and workers
            assert await run(runner, function) == "ASIA2 token2"
            assert issuer.asked == [function.role] * 2
            changed = spec(role="arn:aws:iam::123456789012:role/other")  # a new role is a new pool at once
            assert await run(runner, changed) == "ASIA3 token3"
        finally:
            await stop(runner)

    asyncio.run(scenario())


def test_a_role_lambda_cannot_assume_fails_the_invocation(tmp_path):
    def refuse(function: LambdaFunction) -> RoleSession:
        raise RoleNotAssumable("The role defined for the function cannot be assumed by Lambda. Role x does not exist.")

    runner = Runner("http://127.0.0.1:1", fetch=lambda _: CODE, root=tmp_path, role_credentials=refuse)

    async def scenario() -> None:
        try:
            outcome = await runner.invoke(spec(), {}, "rid")
            assert outcome.kind == "error" and "cannot be assumed by Lambda" in outcome.error["errorMessage"]
            assert not runner.pools     # no worker ever started with other credentials
        finally:
            await stop(runner)

    asyncio.run(scenario())
