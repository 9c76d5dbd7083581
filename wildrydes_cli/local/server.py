"""The emulator daemon: one asyncio HTTP server on 127.0.0.1, one port.

Dispatch per request:
  /_wildrydes/health                                  -> our liveness probe (pid, port)
  /restapis/{api}/{stage}/_user_request_/{path}       -> execute-api: route, an AWS_IAM method's SigV4
                                                         and caller (execute_api_auth.py), the API key and its
                                                         usage plan (usage_plans.py), proxy event,
                                                         Lambda runner, proxy response
  SageMaker Create/Describe/List/StopTrainingJob       -> the SigV4 gate, then the training jobs (training/api.py)
  GET /usageplans/{id}/usage (API Gateway's GetUsage)  -> the SigV4 gate, then the front's counts (usage_plans.py)
  anything else                                       -> the SigV4 gate (auth.py; a function role's
                                                         S3 calls checked by role_calls.py), CloudFormation's
                                                         rules (stack_rules.py; a stack's API keys and
                                                         usage plans: stack_keys.py), then moto's WSGI
                                                         app (S3, CloudFormation, Lambda, API Gateway,
                                                         IAM, STS), in a thread, through
                                                         persist.Persistence (mutations journaled,
                                                         replayed at start before the state file is written)

A request the front read only in part (an ``x-api-key`` holding a control character) is answered here
without running anything: 403 ``{"message":"Forbidden"}`` on a method that requires a key, else 400.

Connections (timeouts, the cap on open connections, HTTP parsing and its
limits) are ``connection.py`` and ``httpio.py``; this module only dispatches.

Started by ``daemon.start`` as ``python -m wildrydes_cli.local.server --port N
--state-dir DIR`` in its own session with output to the log file (rotated by
size once running: ``daemon_log.py``); it writes
the state file once its socket is bound and removes it on SIGTERM/SIGINT,
after killing its Lambda workers.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from wildrydes_cli import __version__, faults
from wildrydes_cli.local import daemon_files, daemon_log
from wildrydes_cli.local.awsapi import auth, journal, moto_backends, persist, sigv4, stack_keys, stack_rules, wsgi
from wildrydes_cli.local.awsapi.credentials import local_credentials
from wildrydes_cli.local.awsapi.function_credentials import Sessions
from wildrydes_cli.local.awsapi.iam_users import UserCalls
from wildrydes_cli.local.awsapi.role_calls import RoleCalls
from wildrydes_cli.local.front import connection, httpio
from wildrydes_cli.local.http import HttpRequest, HttpResponse
from wildrydes_cli.local.invoke import gateway, kept_logs, kept_logs_restore, routes, usage_plans
from wildrydes_cli.local.invoke.functions import find_function
from wildrydes_cli.local.invoke.lambda_log_lines import LogSink
from wildrydes_cli.local.invoke.runner import DEFAULT_MAX_WORKERS, Runner
from wildrydes_cli.local.training import api as training_api
from wildrydes_cli.local.training import jobs as training_jobs
from wildrydes_cli.local.training import runner as training_runner

LOG = logging.getLogger(__name__)

EXECUTE_API = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
HEALTH_PATH = "/_wildrydes/health"
USAGE = re.compile(r"^/usageplans/(?P<plan>[^/]+)/usage/?$")     # API Gateway's GetUsage
SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/apigateway/aws4_request")   # ... signed for API Gateway


class Emulator:
    """Request dispatch; holds the runner and the port we serve on."""

    def __init__(self, port: int, runner: Runner, *, gate: auth.Gate,
                 persistence: persist.Persistence | None = None, log_store: kept_logs.LogStore | None = None,
                 training: training_api.TrainingJobs | None = None):
        self.port = port
        self.gate = gate
        self.persistence = persistence or persist.Persistence(None)  # the one door to moto (journal)
        self.stack_rules = stack_rules.StackRules(self.persistence.call)   # CloudFormation's AlreadyExists
        # ... and the API keys and usage plans moto's CloudFormation skips, made through the journal
        self.stack_keys = stack_keys.StackKeys(self.stack_rules.call, self.persistence.call)
        self.log_store = log_store
        self.runner = runner
        self.training = training
        # training-job actions are answered by the training jobs, everything else by CloudFormation's rules and
        # moto (through the journal)
        self.aws_call = self.stack_keys.call
        if training is not None:
            training.moto = self.stack_keys.call
            self.aws_call = training.call
        self.limiter = usage_plans.Limiter()   # the usage plans' token buckets and quota counts

    async def handle(self, request: HttpRequest, client) -> HttpResponse:
        path = request.path
        if path == HEALTH_PATH:
            body = json.dumps({"status": "ok", "pid": os.getpid(), "port": self.port, "version": __version__})
            return HttpResponse(200, [("Content-Type", "application/json")], body.encode())
        match = EXECUTE_API.match(path)
        if request.unreadable is not None:    # read only in part by the front: answered, never run
            return self.unreadable(request, match)
        if match:
            return await self.execute_api(request, match, client)
        if request.method == "GET" and (usage := USAGE.match(path)) is not None and \
                SCOPE.search(request.header("authorization") or "") is not None:   # not S3 bucket "usageplans"
            return self.get_usage(request, usage.group("plan"))
        loop = asyncio.get_running_loop()
        # AWS API calls pass the SigV4 gate first (auth.py), then the training jobs (training/api.py) or
        # CloudFormation's rules (stack_rules.py, then stack_keys.py), then the journal; in the thread, off the
        # event loop.
        response = await loop.run_in_executor(None, self.gate.call, self.aws_call, request, self.port, client)
        if self.log_store is not None and request.method not in persist.READ_METHODS and 200 <= response.status < 300:
            self.log_store.prune(moto_backends.log_group_exists)   # a deleted group's kept events go with it
        return response

    def get_usage(self, request: HttpRequest, plan_id: str) -> HttpResponse:
        """API Gateway's GetUsage, which moto lacks, from the front's counts (usage_plans.py); signed as every AWS
        API call. On the event loop's thread, where the counts are kept."""
        refused = self.gate.refusal(request)
        if refused is not None:
            return refused
        signed = sigv4.parse_signature(request)
        account = moto_backends.account_of(signed.access_key)
        plan = next((p for p in moto_backends.usage_plans(account, signed.region) if p.plan_id == plan_id), None)
        query = {k: v for k, v in parse_qsl(request.query, keep_blank_values=True)}
        return usage_plans.usage_answer(self.limiter, plan, plan_id, query)

    @staticmethod
    def unreadable(request: HttpRequest, match: re.Match | None) -> HttpResponse:
        """A request whose x-api-key holds a control character (front/httpio.py): on a method that requires a
        key, API Gateway's 403 for a key it cannot use; anywhere else the front's 400."""
        if match is not None:
            route = routes.resolve(match.group("api"), match.group("stage"), request.method, match.group("path") or "/")
            if route is not None and route.api_key_required:
                return usage_plans.forbidden()
        return httpio.error_response(httpio.BadRequest(request.unreadable or "malformed HTTP request"))

    async def execute_api(self, request: HttpRequest, match: re.Match, client) -> HttpResponse:
        api_id, stage, raw_path = match.group("api"), match.group("stage"), match.group("path") or "/"
        route = routes.resolve(api_id, stage, request.method, raw_path)
        if route is None:
            return gateway.missing_authentication_token()
        if route.authorization_type == "AWS_IAM":   # SigV4 for execute-api, before the function runs
            partition = "aws-cn" if route.region.startswith("cn-") else "aws"
            method_arn = (f"arn:{partition}:execute-api:{route.region}:{route.account_id}:{api_id}/{stage}/"
                          f"{request.method.upper()}/{unquote(raw_path).lstrip('/')}")
            denied = self.gate.execute_api_refusal(request, method_arn)
            if denied is not None:
                return gateway.forbidden(*denied)
        if route.api_key_required:   # before the function runs, as API Gateway checks it
            refused = usage_plans.check(self.limiter, request.header("x-api-key"), route.account_id, route.region,
                                        api_id, stage)
            if refused is not None:
                return refused
        if route.integration_type != "AWS_PROXY" or route.function_arn is None:
            LOG.error("API %s %s %s: integration %s is not a Lambda proxy; only AWS_PROXY is emulated",
                      api_id, request.method, route.resource_path, route.integration_type)
            return gateway.configuration_error()
        spec = find_function(route.function_arn)
        if spec is None:
            LOG.error("API %s: integration points at missing function %s", api_id, route.function_arn)
            return gateway.configuration_error()
        event = gateway.build_proxy_event(
            method=request.method, path=unquote(raw_path), query_string=request.query, headers=request.headers,
            body=request.body, api_id=api_id, stage=stage, resource_path=route.resource_path,
            resource_id=route.resource_id, path_parameters=route.path_parameters,
            stage_variables=route.stage_variables, account_id=route.account_id,
            source_ip=client[0] if client else "127.0.0.1", domain_name=f"{daemon_files.HOST}:{self.port}")
        request_id = event["requestContext"]["requestId"]
        outcome = await self.runner.invoke(spec, event, request_id)
        if outcome.kind == "timeout":
            return gateway.endpoint_timeout(request_id)
        if outcome.kind == "error":
            LOG.warning("function %s failed: %s", spec.name, (outcome.error or {}).get("errorMessage"))
            return gateway.internal_server_error(request_id)
        return gateway.proxy_response(outcome.result, request_id)

    def shutdown(self) -> None:
        self.runner.shutdown()
        if self.training is not None:
            self.training.runner.shutdown()


class StartRefused(Exception):
    """The daemon does not start: what the user keeps cannot be used as it is (the message says how to go on)."""


def _start_state(state_dir: Path, port: int, recover: bool) -> tuple[persist.Persistence, kept_logs.LogStore | None]:
    """The journal replayed and the kept log events restored, or StartRefused naming the file and the way out."""
    try:
        persistence = persist.open_persistence(state_dir, port, recover=recover)
    except journal.JournalDamaged as exc:
        raise StartRefused(str(exc)) from exc
    except journal.JournalError as exc:
        raise StartRefused(f"{exc}. Fix that (free space, permissions) and start again; `wildrydes local reset` "
                           "erases everything the local target keeps.") from exc
    try:
        log_store = open_log_store(state_dir, persistence)   # after the replay: the groups' stacks exist again
    except OSError as exc:
        raise StartRefused(f"The kept log events in {kept_logs.store_dir(state_dir)} cannot be read: {exc}. Fix that "
                           "and start again; `wildrydes local reset` erases everything the local target keeps.") from exc
    recovery = persistence.stats.recovery if persistence.stats is not None else None
    if recovery is not None:
        daemon_files.write_note(daemon_files.recovery_file(state_dir), json.dumps(recovery))
    return persistence, log_store


async def serve(port: int, state_dir: Path, ready_hook=None, limits: httpio.Limits | None = None,
                recover: bool = False) -> None:
    """Bind, record state, serve until SIGTERM/SIGINT, clean up (StartRefused: the saved state is not usable)."""
    wsgi.moto_app()  # import moto before we announce readiness
    moto_backends.track_instances_weakly()   # or moto keeps every object it ever made
    moto_backends.install_s3_puts()          # a large PutObject: ETag hashed outside the lock, bytes in its blob
    moto_backends.install_filter_log_events()   # its stream prefix and filter pattern, as CloudWatch reads them
    moto_backends.stamp_configuration_updates()   # LastModified follows configuration changes, as on Lambda
    credentials = local_credentials(state_dir)  # this user's; the gate admits AWS API calls signed with them
    loop = asyncio.get_running_loop()
    holder: dict = {}

    async def on_connection(reader, writer):
        await holder["connections"].accept(reader, writer)

    limits = limits or httpio.Limits.from_env()
    server = await asyncio.start_server(on_connection, daemon_files.HOST, port, limit=httpio.MAX_HEADER_BYTES,
                                        reuse_address=True, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    # Replay the journal before anyone is served: blocking the loop here keeps connections in the backlog.
    persistence, log_store = _start_state(state_dir, bound, recover)
    # moto's modules and the replayed state are long-lived: moved out of the collector's
    # generations, a full collection no longer walks them; and collections run less often
    # (requests allocate little that forms cycles). Measured: p99 under load fell from ~90 ms.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    sessions = Sessions(exclusive=persistence.exclusive)   # functions run with their role's credentials ...
    runner = Runner(f"http://{daemon_files.HOST}:{bound}",
                    max_workers=daemon_files.resolve_workers(DEFAULT_MAX_WORKERS),
                    root=daemon_files.function_code_dir(daemon_files.tasks_dir(state_dir)),
                    role_credentials=sessions.for_function, logs=function_logs(loop, log_store))
    gate = auth.Gate(state_dir, credentials, roles=RoleCalls(sessions),   # ... and their calls are checked
                     users=UserCalls())      # the account's IAM users, as callers of AWS_IAM methods
    emulator = Emulator(bound, runner, gate=gate, persistence=persistence,
                        log_store=log_store, training=open_training(state_dir, persistence, bound, log_store))
    holder["connections"] = connection.Connections(emulator.handle, limits, bound)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    faults.point("before-state-file")
    try:
        daemon_files.write_state(state_dir, daemon_files.DaemonState(pid=os.getpid(), port=bound,
                                                       log_file=str(daemon_files.log_file(state_dir)),
                                                       started_at=time.time(), version=__version__))
    except OSError as exc:
        raise StartRefused(f"cannot write {daemon_files.state_file(state_dir)}: {exc.strerror or exc}; free space "
                           "there (or fix its permissions) and start again") from exc
    LOG.info("wildrydes emulator %s listening on http://%s:%d (pid %d); %s, at most %d connections",
             __version__, daemon_files.HOST, bound, os.getpid(), limits, holder["connections"].cap)
    if ready_hook:
        ready_hook(bound)
    try:
        await stop.wait()
    finally:
        LOG.info("shutting down")
        server.close()
        emulator.shutdown()          # writes the log lines still buffered ...
        if log_store is not None:
            log_store.close()        # ... and syncs them
        persistence.close()
        daemon_files.clear_state(state_dir, pid=os.getpid())


def function_logs(loop: asyncio.AbstractEventLoop, log_store: kept_logs.LogStore | None) -> LogSink:
    """Where the runner writes Lambda's lines: moto's CloudWatch Logs, and the kept copy when there is one.

    The kept copy syncs a second apart, off the event loop (its file writes run in the executor).
    """
    write: Callable[..., None] = moto_backends.append_log_events
    if log_store is not None:
        log_store.schedule = loop.call_later
        log_store.background = lambda sync: loop.run_in_executor(None, sync)
        write = log_store.keeping(write)
    return LogSink(write, schedule=loop.call_later)


def open_training(state_dir: Path, persistence: persist.Persistence, port: int,
                  log_store: kept_logs.LogStore | None) -> training_api.TrainingJobs:
    """The training jobs: kept beside the journal (nowhere when it is off), their logs kept like the
    functions', their artifacts written through the journal like any client's PutObject."""
    keep = persistence.journal is not None
    store = training_jobs.JobStore(training_jobs.training_dir(state_dir) if keep else None)
    store.load()

    def write_logs(account: str, region: str, group: str, stream: str, events: list) -> None:
        batch = [{"timestamp": ms, "message": message} for ms, message in events]
        moto_backends.append_log_events(account, region, group, stream, batch, LogSink.MAX_EVENTS_PER_STREAM)
        if log_store is not None:
            log_store.append(account, region, group, stream, batch)

    def put_object(account: str, region: str, bucket: str, key: str, body: bytes, access_key: str) -> None:
        response = persistence.call(training_api.s3_put_request(bucket, key, body, access_key, region, port),
                                    port, None)
        if not 200 <= response.status < 300:
            raise OSError(f"S3 answered {response.status}: {response.body[:200]!r}")

    runner = training_runner.Runner(store, write_logs, put_object)
    return training_api.TrainingJobs(store, runner, persistence.call)


def open_log_store(state_dir: Path, persistence: persist.Persistence) -> kept_logs.LogStore | None:
    """The function's kept log events, put back into moto; None when nothing is kept (PERSIST=0)."""
    if persistence.journal is None:
        return None
    store = kept_logs.LogStore(kept_logs.store_dir(state_dir))

    def put(account_id: str, region: str, group: str, stream: str, events: list[dict]) -> None:
        moto_backends.restore_log_events(account_id, region, group, stream, events, LogSink.MAX_EVENTS_PER_STREAM)

    kept_logs_restore.restore(store, put, moto_backends.log_groups())
    return store


def _run(coro) -> None:
    """Run on uvloop when installed (about a quarter less CPU per request), else asyncio's loop.

    ``WILDRYDES_LOCAL_LOOP=asyncio`` forces the standard loop (for comparison).
    """
    try:
        if os.environ.get("WILDRYDES_LOCAL_LOOP", "").lower() == "asyncio":
            raise ImportError("asyncio loop requested")
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    LOG.info("using uvloop %s", uvloop.__version__)
    uvloop.run(coro)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wildrydes-emulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--recover", action="store_true", help="start with every intact journal record")
    args = parser.parse_args(argv)
    daemon_files.private_dir(daemon_files.local_dir(args.state_dir))
    daemon_log.configure(daemon_files.log_file(args.state_dir))   # rotated; stdout and stderr follow it
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        limits = httpio.Limits.from_env()
    except ValueError as exc:
        LOG.error("%s", exc)
        return 2
    try:
        _run(serve(args.port, args.state_dir, limits=limits, recover=args.recover))
    except StartRefused as exc:
        LOG.error("not starting: %s", exc)
        daemon_files.write_note(daemon_files.refusal_file(args.state_dir), str(exc))
        return 4
    except OSError as exc:
        LOG.error("cannot listen on %s:%d: %s", daemon_files.HOST, args.port, exc)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
