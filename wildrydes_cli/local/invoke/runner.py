"""The Lambda runner: warm worker processes per deployed function.

One ``FunctionPool`` per function ARN holds up to ``max_workers`` warm
workers (``worker.py``), all made from the same code and configuration. A
request takes an idle worker or starts one (cold start), so concurrent
requests run concurrently, up to the pool size; more wait for a free worker.
When the function's fingerprint (code sha, handler, environment, timeout,
...) changes, the pool is retired: idle workers are killed at once, busy ones
when their request ends, and the next request starts fresh workers on the new
code and configuration. A request that outlives the function's timeout kills
its worker and is reported as a timeout. Workers run with the temporary
credentials of the function's execution role (``role_credentials``, issued by
the daemon's STS as Lambda issues them); a pool whose credentials would expire
before a request could finish is replaced like a changed one, so no worker
outlives its credentials.

Everything runs on the daemon's asyncio loop; workers are its child processes
and are killed when it shuts down.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wildrydes_cli.local.awsapi.function_credentials import RoleSession
from wildrydes_cli.local.awsapi.moto_backends import LambdaFunction
from wildrydes_cli.local.invoke import lambda_log_lines
from wildrydes_cli.local.invoke.functions import extract_zip, fetch_code

LOG = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
INIT_TIMEOUT = 60.0           # seconds for a worker to import its handler (mxnet takes ~2 s)
DEFAULT_MAX_WORKERS = max(2, min(4, os.cpu_count() or 2))
REFRESH_MARGIN = 60.0         # seconds of credentials a pool keeps beyond the function's timeout


@dataclass(frozen=True)
class Outcome:
    """What an invocation produced: ``ok`` with the result, ``error`` or ``timeout``."""

    kind: str
    result: object = None
    error: dict | None = None


class WorkerGone(Exception):
    """The worker died or failed to initialise."""

    def __init__(self, message: str, error: dict | None = None, logs: list[str] | None = None):
        super().__init__(message)
        self.error = error
        self.logs = logs or []   # what the function printed before it failed (init)


class Worker:
    """One worker process and its pipes."""

    def __init__(self, proc: asyncio.subprocess.Process, version: str = "$LATEST"):
        self.proc = proc
        # one log stream per execution environment, named with its version, as Lambda
        self.stream = lambda_log_lines.stream_name(version=version)
        self.init_ms: float | None = None        # reported on this environment's first REPORT line
        self.init_output: list[str] = []

    @classmethod
    async def start(cls, task_root: Path, handler: str, env: dict[str, str], memory_mb: int = 0) -> "Worker":
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wildrydes_cli.local.invoke.worker", "--task-root", str(task_root),
            "--handler", handler, "--memory-mb", str(memory_mb), cwd=str(task_root), env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None)
        worker = cls(proc, env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"))
        try:
            hello = await asyncio.wait_for(worker._read(), INIT_TIMEOUT)
        except asyncio.TimeoutError:
            worker.kill()
            raise WorkerGone(f"the function did not initialise within {INIT_TIMEOUT:.0f} s") from None
        except WorkerGone:
            worker.kill()
            raise
        if hello.get("type") != "ready":
            worker.kill()
            raise WorkerGone("the function failed to initialise", hello.get("error"),
                             [str(line) for line in hello.get("logs") or []])
        worker.init_ms = float(hello.get("init_ms") or 0.0)
        worker.init_output = [str(line) for line in hello.get("logs") or []]
        return worker

    def first_report(self) -> tuple[float | None, list[str]]:
        """(init duration, init output) once: only the environment's first invocation carries them."""
        init = self.init_ms, self.init_output
        self.init_ms, self.init_output = None, []
        return init

    async def _read(self) -> dict:
        assert self.proc.stdout is not None
        try:
            header = await self.proc.stdout.readexactly(_HEADER.size)
            payload = await self.proc.stdout.readexactly(_HEADER.unpack(header)[0])
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise WorkerGone(f"the worker exited (code {self.proc.returncode})") from exc
        return json.loads(payload)

    async def invoke(self, payload: bytes, timeout: float) -> dict:
        """Send one invocation and wait for its reply; past ``timeout`` the worker is killed.

        A timer that kills the process is cheaper per request than
        ``asyncio.wait_for`` (which creates a task each time).
        """
        loop = asyncio.get_running_loop()
        expired = []

        def expire() -> None:
            expired.append(True)
            self.kill()

        timer = loop.call_later(timeout, expire)
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(_HEADER.pack(len(payload)) + payload)
            return await self._read()
        except WorkerGone:
            if expired:
                raise asyncio.TimeoutError() from None
            raise
        finally:
            timer.cancel()

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def kill(self) -> None:
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass


class FunctionPool:
    """Warm workers for one function fingerprint."""

    def __init__(self, spec: LambdaFunction, task_root: Path, env: dict[str, str], max_workers: int,
                 logs: lambda_log_lines.LogSink | None = None, expires_at: float = float("inf")):
        self.spec = spec
        self.expires_at = expires_at   # when the credentials in ``env`` expire
        self.logs = logs
        self.task_root = task_root
        self.env = env
        self.idle: list[Worker] = []
        self.busy: set[Worker] = set()
        self.slots = asyncio.Semaphore(max_workers)
        self.retired = False

    async def invoke(self, event: dict, context: dict) -> Outcome:
        await self.slots.acquire()
        try:
            worker = self.idle.pop() if self.idle else None
            if worker is None or not worker.alive:
                try:
                    worker = await Worker.start(self.task_root, self.spec.handler, self.env, self.spec.memory_size)
                except WorkerGone as exc:
                    LOG.error("function %s: %s %s", self.spec.name, exc, (exc.error or {}).get("errorMessage", ""))
                    self._log_init_failure(context, exc)
                    return Outcome("error", error=exc.error or {"errorMessage": str(exc)})
            self.busy.add(worker)
            payload = json.dumps({"event": event, "context": context}, separators=(",", ":")).encode()
            started = time.perf_counter()
            try:
                reply = await worker.invoke(payload, self.spec.timeout)
            except asyncio.TimeoutError:
                LOG.warning("function %s timed out after %.1f s; worker killed", self.spec.name, self.spec.timeout)
                self._discard(worker)
                self._log(worker, context, [f"Task timed out after {self.spec.timeout:.2f} seconds"],
                          self.spec.timeout * 1000)
                return Outcome("timeout")
            except (WorkerGone, ConnectionError, BrokenPipeError) as exc:
                LOG.error("function %s: worker died: %s", self.spec.name, exc)
                self._discard(worker)
                self._log(worker, context, [f"Runtime exited: {exc}"], (time.perf_counter() - started) * 1000)
                return Outcome("error", error={"errorMessage": str(exc)})
            except BaseException:
                self._discard(worker)
                raise
            self.busy.discard(worker)
            output = [str(line) for line in reply.get("logs") or []]
            if not reply.get("ok"):
                error = reply.get("error") or {}
                output.append(f"[ERROR] {error.get('errorType', 'Error')}: {error.get('errorMessage', '')}")
            self._log(worker, context, output, float(reply.get("duration_ms") or (time.perf_counter() - started) * 1000),
                      int(reply.get("max_memory_mb") or 0))
            if self.retired or not worker.alive or reply.get("exit"):
                worker.kill()
            else:
                self.idle.append(worker)
            if reply.get("ok"):
                return Outcome("ok", result=reply.get("result"))
            return Outcome("error", error=reply.get("error"))
        finally:
            self.slots.release()

    def _log(self, worker: Worker, context: dict, output: list[str], duration_ms: float,
             max_memory_mb: int = 0) -> None:
        """Lambda's lines for one invocation, into the function's log group (when the runner keeps logs)."""
        if self.logs is None:
            return
        init_ms, init_output = worker.first_report()
        invocation = lambda_log_lines.Invocation(str(context.get("request_id", "")), tuple(output), duration_ms,
                                                 self.spec.memory_size, max_memory_mb, init_ms, self.spec.version)
        self.logs.add(self.spec.account_id, self.spec.region, self.spec.name, worker.stream,
                      init_output + lambda_log_lines.invocation_lines(invocation))

    def _log_init_failure(self, context: dict, exc: WorkerGone) -> None:
        """An environment that failed to start: its output and the error, in a stream of its own, as Lambda does."""
        if self.logs is None:
            return
        error = exc.error or {}
        lines = [*exc.logs, f"[ERROR] {error.get('errorType', 'Runtime.Error')}: {error.get('errorMessage', exc)}"]
        invocation = lambda_log_lines.Invocation(str(context.get("request_id", "")), tuple(lines), 0.0,
                                                 self.spec.memory_size, 0)
        self.logs.add(self.spec.account_id, self.spec.region, self.spec.name, lambda_log_lines.stream_name(),
                      lambda_log_lines.invocation_lines(invocation))

    def _discard(self, worker: Worker) -> None:
        self.busy.discard(worker)
        worker.kill()

    def retire(self) -> None:
        """Stop taking requests: kill idle workers now, busy ones when they finish."""
        self.retired = True
        for worker in self.idle:
            worker.kill()
        self.idle.clear()

    def kill_all(self) -> None:
        self.retire()
        for worker in list(self.busy):
            worker.kill()

    @property
    def drained(self) -> bool:
        return self.retired and not self.busy


def worker_environment(spec: LambdaFunction, endpoint_url: str, task_root: Path,
                       session: RoleSession | None = None) -> dict[str, str]:
    """A clean Lambda-like environment: the function's variables plus the emulator's endpoint.

    Credentials are the function role's session (as Lambda sets them, token
    included; dummies when none is given), never the local target's own, and
    config files are blanked, so a function run by the emulator can neither
    reach a real AWS account nor do more than its role allows.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "HOME": str(task_root),
        "LAMBDA_TASK_ROOT": str(task_root),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(dict(spec.environment))
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(spec.timeout)),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_SECURITY_TOKEN", None)
    if session is not None:
        env.update(session.environment())
    return env


class Runner:
    """All function pools of the daemon.

    ``root`` is a private directory for unpacked code (the daemon passes one that
    ``daemon_files.function_code_dir`` cleaned; tests of the runner alone get a temp
    one). ``logs`` is where Lambda's lines go, wired by the server at start;
    ``None`` writes none. ``role_credentials`` issues a function's role session
    (blocking: it runs in the executor); ``None`` gives workers dummy credentials.
    """

    def __init__(self, endpoint_url: str, *, max_workers: int = DEFAULT_MAX_WORKERS,
                 fetch: Callable[[LambdaFunction], bytes] = fetch_code, clock: Callable[[], float] = time.time,
                 root: Path | None = None, role_credentials: Callable[[LambdaFunction], RoleSession] | None = None,
                 logs: lambda_log_lines.LogSink | None = None):
        self.endpoint_url = endpoint_url
        self.role_credentials = role_credentials
        self.max_workers = max_workers
        self.fetch = fetch
        self.clock = clock
        self.pools: dict[str, FunctionPool] = {}
        self.retired: list[FunctionPool] = []
        self.locks: dict[str, asyncio.Lock] = {}
        self.root = root if root is not None else Path(tempfile.mkdtemp(prefix="wildrydes-lambda-"))
        self.logs = logs

    def _warm(self, spec: LambdaFunction) -> FunctionPool | None:
        """The pool already serving exactly this code and configuration, with credentials to spare, if any."""
        pool = self.pools.get(spec.arn)
        if pool is None or pool.spec.fingerprint != spec.fingerprint:
            return None
        return pool if pool.expires_at - self.clock() > spec.timeout + REFRESH_MARGIN else None

    async def _pool(self, spec: LambdaFunction) -> FunctionPool:
        """The warm pool for ``spec``; a changed function gets a new pool (one preparation at a time)."""
        pool = self._warm(spec)
        if pool is not None:
            return pool
        async with self.locks.setdefault(spec.arn, asyncio.Lock()):
            pool = self._warm(spec)
            if pool is not None:
                return pool
            session = None
            if self.role_credentials is not None:   # a role Lambda cannot assume fails here, as on AWS
                session = await asyncio.get_running_loop().run_in_executor(None, self.role_credentials, spec)
            task_root = await self._unpack(spec)
            env = worker_environment(spec, self.endpoint_url, task_root, session)
            new = FunctionPool(spec, task_root, env, self.max_workers, self.logs,
                               expires_at=session.expires_at if session else float("inf"))
            self._replace(spec, new)
            return new

    async def _unpack(self, spec: LambdaFunction) -> Path:
        """Fetch the function's verified code and unzip it into a new directory (off the event loop)."""
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, self.fetch, spec)
        task_root = Path(tempfile.mkdtemp(prefix="task-", dir=self.root))
        try:
            await loop.run_in_executor(None, extract_zip, code, task_root)
        except BaseException:  # a refused or broken zip leaves no directory behind
            shutil.rmtree(task_root, ignore_errors=True)
            raise
        return task_root

    def _replace(self, spec: LambdaFunction, new: FunctionPool) -> None:
        """Serve ``spec`` from ``new``; the previous pool finishes its requests, then its code is removed."""
        old = self.pools.get(spec.arn)
        if old is not None:
            changed = "changed" if old.spec.fingerprint != spec.fingerprint else "needs fresh role credentials"
            LOG.info("function %s %s; retiring its warm workers", spec.name, changed)
            old.retire()
            self.retired.append(old)
        self.pools[spec.arn] = new
        self._sweep()

    def _sweep(self) -> None:
        for pool in [p for p in self.retired if p.drained]:
            self.retired.remove(pool)
            shutil.rmtree(pool.task_root, ignore_errors=True)

    async def invoke(self, spec: LambdaFunction, event: dict, request_id: str) -> Outcome:
        """Run the function once; never raises for function-side failures."""
        try:
            pool = await self._pool(spec)
        except Exception as exc:
            LOG.error("cannot prepare function %s: %s", spec.name, exc)
            return Outcome("error", error={"errorMessage": str(exc)})
        context = {"function_name": spec.name, "function_arn": spec.arn, "memory_size": spec.memory_size,
                   "request_id": request_id, "deadline": self.clock() + spec.timeout}
        return await pool.invoke(event, context)

    def shutdown(self) -> None:
        """Kill every worker, write the logs still buffered, and remove the extracted code."""
        if self.logs is not None:
            self.logs.flush()
        for pool in list(self.pools.values()) + self.retired:
            pool.kill_all()
        self.pools.clear()
        self.retired.clear()
        shutil.rmtree(self.root, ignore_errors=True)
