"""Start, stop and find the emulator daemon (the CLI side).

``ensure_running(settings)`` is what ``wildrydes_cli.aws.target.resolve`` calls for
the local target: it returns the endpoint URL of a healthy daemon, starting one
first when needed. The daemon is a detached process (its own session, output to
the log file, stdin closed) so it outlives the command that started it; a file
lock makes two commands starting it at once end up with one daemon.

Port: ``--port``, else ``$WILDRYDES_LOCAL_PORT``, else ``settings.local_port``
(4566); 0 picks any free port (the daemon records the real one).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace

from wildrydes_cli import notices
from wildrydes_cli.errors import LocalTargetError, UsageError
from wildrydes_cli.local import daemon_files, daemon_log
from wildrydes_cli.local.awsapi import journal
from wildrydes_cli.local.awsapi.credentials import local_credentials
from wildrydes_cli.local.invoke import kept_logs
from wildrydes_cli.local.training import jobs as training_jobs
from wildrydes_cli.results import LocalCompactResult, LocalDaemonResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _running(action: str, state: daemon_files.DaemonState, **extra) -> LocalDaemonResult:
    return LocalDaemonResult(action, running=True, pid=state.pid, port=state.port, endpoint_url=state.url,
                             log_file=state.log_file, started_at=state.started_at, **extra)


def healthy(state: daemon_files.DaemonState, timeout: float = 2.0) -> bool:
    """True when the daemon recorded in ``state`` answers its health probe with its own pid."""
    return health_pid(state.port, timeout) == state.pid


HEALTH_REPLY_BYTES = 8192    # the probe reads no more of whatever answers than this


def health_pid(port: int, timeout: float = 0.5) -> int | None:
    """The pid the wildrydes emulator on ``port`` gives in its health probe, else None: ours (``healthy``),
    or another HOME's, WILDRYDES_HOME's or user's (``start`` names it); anything else there is "another
    program".

    A socket and httptools' response parser rather than urllib or http.client: no proxy from the
    environment between us and 127.0.0.1 (wildrydes_cli/loopback.py), and what answers is untrusted:
    the whole exchange takes at most ``timeout`` (http.client's timeout is per read, so a listener
    dripping a byte at a time could hold every command), at most HEALTH_REPLY_BYTES are read, and the
    pid counts only as a positive int in a JSON object with status 200.
    """
    import socket

    import httptools

    class Reply:
        body = b""
        complete = False

        def on_body(self, data: bytes) -> None:
            self.body += data

        def on_message_complete(self) -> None:
            self.complete = True

    reply = Reply()
    parser = httptools.HttpResponseParser(reply)
    deadline = time.monotonic() + timeout
    received = 0
    try:
        with socket.create_connection((daemon_files.HOST, port), timeout=timeout) as sock:
            sock.sendall(f"GET /_wildrydes/health HTTP/1.1\r\nHost: {daemon_files.HOST}:{port}\r\n"
                         "Connection: close\r\n\r\n".encode())
            while not reply.complete:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                sock.settimeout(left)
                chunk = sock.recv(4096)
                received += len(chunk)
                if not chunk or received > HEALTH_REPLY_BYTES:
                    return None
                parser.feed_data(chunk)
        body = json.loads(reply.body) if parser.get_status_code() == 200 else None
    except (OSError, ValueError, httptools.HttpParserError):
        return None
    pid = body.get("pid") if isinstance(body, dict) else None
    return pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None


def _live_state(settings: Settings) -> tuple[daemon_files.DaemonState | None, int | None]:
    """(state of a live daemon, None) or (None, stale pid removed from the state file)."""
    state = daemon_files.read_state(settings.state_dir)
    if state is None:
        return None, None
    if daemon_files.pid_alive(state.pid) and daemon_files.is_daemon_process(state.pid):
        return state, None
    LOG.warning("removing stale emulator state: pid %d is not running", state.pid)
    daemon_files.clear_state(settings.state_dir)
    return None, state.pid


def status(settings: Settings) -> LocalDaemonResult:
    daemon_files.resolve_port(None, settings.local_port)   # checked always, like ensure_running
    state, stale = _live_state(settings)
    if state is None:
        return LocalDaemonResult("status", running=False, stale_pid=stale,
                                 log_file=str(daemon_files.log_file(settings.state_dir)))
    return _running("status", state)


@contextmanager
def _start_lock(settings: Settings):
    daemon_files.private_dir(settings.state_dir)
    path = daemon_files.private_dir(daemon_files.local_dir(settings.state_dir)) / "start.lock"
    with daemon_files.open_private(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_limits() -> None:
    """The front's timeouts from the environment, checked here so a bad value is a usage error."""
    from wildrydes_cli.local.front.httpio import Limits

    try:
        Limits.from_env()
    except ValueError as exc:
        raise UsageError(f"{exc} (seconds, or connections for WILDRYDES_LOCAL_MAX_CONNECTIONS).") from None


def start(settings: Settings, port: int | None = None, *, timeout: float = START_TIMEOUT,
          sleep: Callable[[float], None] = time.sleep, fresh: bool = False, recover: bool = False) -> LocalDaemonResult:
    """Start the daemon, or report the one already running.

    ``fresh`` erases the journal first (the daemon then starts empty); refused
    while a daemon runs, since it would keep its state in memory. ``recover``
    starts from every intact record of a damaged journal (the daemon sets the
    damage aside and the result says what); without it a damaged journal is a
    LocalTargetError naming the file, the offset and both ways out.
    """
    if fresh and recover:
        raise UsageError("--fresh erases everything the local target keeps and --recover keeps every intact "
                         "record: choose one.")
    explicit_port = port
    port = daemon_files.resolve_port(port, settings.local_port)
    daemon_files.resolve_workers(default=1)  # validate only: a bad value is the user's error now, not a dead daemon later
    _check_limits()
    local_credentials(settings.state_dir)  # likewise: an unusable credentials file is a message here
    with _start_lock(settings):
        state, stale = _live_state(settings)
        if state is not None and fresh:
            raise LocalTargetError(
                f"The emulator is already running (pid {state.pid}) with its saved state; run "
                "`wildrydes local stop` first, or `wildrydes local reset` to stop it and erase what it keeps.")
        if fresh:
            journal.erase(journal.journal_dir(settings.state_dir))
            kept_logs.erase(kept_logs.store_dir(settings.state_dir))
            training_jobs.erase(settings.state_dir)
        if state is not None:
            if not healthy(state):
                raise LocalTargetError(
                    f"The emulator (pid {state.pid}) is running but not answering on {state.url}; "
                    f"run `wildrydes local stop` and start it again (log: {state.log_file}).")
            _check_same_port(state, explicit_port, port)
            return _running("start", state, already_running=True)
        if port and daemon_files.port_in_use(port):
            other = health_pid(port)
            if other is not None:
                raise LocalTargetError(
                    f"Port {port} on {daemon_files.HOST} is already in use by another wildrydes emulator (pid "
                    f"{other}), not the one that keeps its state in {settings.state_dir}: another HOME, "
                    "WILDRYDES_HOME or user started it. Stop it where it was started (`wildrydes local stop`), "
                    f"or start this one on another port: `wildrydes local start --port N` or "
                    f"{daemon_files.PORT_ENV}=N.")
            raise LocalTargetError(
                f"Port {port} on {daemon_files.HOST} is already in use by another program; choose another with "
                f"`wildrydes local start --port N` or {daemon_files.PORT_ENV}=N.")
        log_path = daemon_files.log_file(settings.state_dir)
        daemon_files.private_dir(log_path.parent)
        refusal, recovered = (daemon_files.refusal_file(settings.state_dir),
                              daemon_files.recovery_file(settings.state_dir))
        daemon_files.take_note(refusal), daemon_files.take_note(recovered)   # an earlier start's
        with daemon_files.open_private(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", daemon_files.SERVER_MODULE, "--port", str(port),
                 "--state-dir", str(settings.state_dir)] + (["--recover"] if recover else []),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, close_fds=True,
                start_new_session=True, cwd=str(log_path.parent),
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                reason = daemon_files.take_note(refusal)
                if reason:
                    raise LocalTargetError(f"The emulator did not start: {reason}")
                raise LocalTargetError(
                    f"The emulator exited during start-up (code {code}). Last lines of {log_path}:\n"
                    f"{daemon_log.tail(log_path)}")
            state = daemon_files.read_state(settings.state_dir)
            if state is not None and state.pid == proc.pid and healthy(state, timeout=1.0):
                return _running("start", state, stale_pid=stale, recovery=_recovery(recovered))
            sleep(0.05)
        _kill(proc.pid, proc)
        raise LocalTargetError(f"The emulator did not become ready within {timeout:.0f} s; see {log_path}.")


def _recovery(path) -> dict | None:
    """What the daemon's ``--recover`` kept and set aside, as it wrote it (None: nothing was damaged)."""
    text = daemon_files.take_note(path)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return {"report": text}


def _reap(pid: int, proc: subprocess.Popen | None = None) -> None:
    """Collect the exit status when the daemon is our child (tests), so it leaves no zombie."""
    try:
        if proc is not None:
            proc.poll()
        else:
            os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _kill(pid: int, proc: subprocess.Popen | None = None) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the daemon leads its session: its workers go too
    except (ProcessLookupError, PermissionError):
        pass
    _reap(pid, proc)


def stop(settings: Settings, *, timeout: float = STOP_TIMEOUT,
         sleep: Callable[[float], None] = time.sleep) -> LocalDaemonResult:
    """Stop the daemon by pid (SIGTERM, then SIGKILL after ``timeout``) and wait for it to exit."""
    state, stale = _live_state(settings)
    if state is None:
        return LocalDaemonResult("stop", running=False, stale_pid=stale)
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(state.pid)
        if not daemon_files.pid_alive(state.pid):
            break
        sleep(0.05)
    else:
        LOG.warning("emulator pid %d ignored SIGTERM for %.0f s; killing it", state.pid, timeout)
        _kill(state.pid)
    # Workers normally die with the daemon; make sure of it.
    try:
        os.killpg(state.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    daemon_files.clear_state(settings.state_dir, pid=state.pid)
    return LocalDaemonResult("stop", running=False, pid=state.pid, port=state.port, endpoint_url=state.url,
                             log_file=state.log_file)


def reset(settings: Settings) -> LocalDaemonResult:
    """Stop the daemon if it runs and erase its journal, kept log events and training jobs: the next start is empty."""
    stopped = stop(settings)
    with _start_lock(settings):
        journal.erase(journal.journal_dir(settings.state_dir))
        kept_logs.erase(kept_logs.store_dir(settings.state_dir))
        training_jobs.erase(settings.state_dir)
    return replace(stopped, action="reset")


def compact(settings: Settings) -> LocalCompactResult:
    """Compact the journal of a stopped emulator now (``local compact``), whatever it frees.

    Refused while a daemon runs: it holds the journal open and appends to it.
    The start lock keeps a daemon from starting meanwhile; the journal's own
    lock would refuse one anyway.
    """
    from wildrydes_cli.local.awsapi import compact as compacting

    with _start_lock(settings):
        state, _ = _live_state(settings)
        if state is not None:
            raise LocalTargetError(
                f"The emulator is running (pid {state.pid}) and writes to its journal: run `wildrydes local stop` "
                "first, then `wildrydes local compact` (`wildrydes local start` also compacts when that pays).")
        directory = journal.journal_dir(settings.state_dir)
        if not (directory / journal.JOURNAL_NAME).exists():
            return LocalCompactResult(str(directory), False, 0, 0, 0, 0, 0.0, "no journal")
        kept = journal.Journal(directory)
        try:
            _, outcome = compacting.compact(kept, kept.open(), force=True)
        except (OSError, journal.JournalError) as exc:
            raise LocalTargetError(f"Could not compact the journal in {directory}: {exc}") from None
        finally:
            kept.close()
    return LocalCompactResult(str(directory), outcome.compacted, outcome.records_before, outcome.records_after,
                              outcome.bytes_before, outcome.bytes_after, outcome.seconds, outcome.reason)


def _check_same_port(state: daemon_files.DaemonState, explicit: int | None, port: int) -> None:
    """``local start --port P`` while the daemon listens on Q: say so, never quietly ignore P (0 = any)."""
    if explicit is not None and port not in (0, state.port):
        raise UsageError(
            f"The emulator is already running on port {state.port} (pid {state.pid}), not {port}: to move it, "
            f"run `wildrydes local stop`, then `wildrydes local start --port {port}`; or leave --port out to "
            "use it where it is.")


def ensure_running(settings: Settings) -> str:
    """The endpoint URL of a healthy emulator, starting one if needed."""
    daemon_files.resolve_port(None, settings.local_port)   # a bad WILDRYDES_LOCAL_PORT is an error even while one runs
    state, _ = _live_state(settings)
    if state is not None and healthy(state):
        return state.url
    started = start(settings)
    url = started.endpoint_url
    if not started.already_running:   # another command may have started it meanwhile: then it says so
        notices.tell(f"Started the local emulator (pid {started.pid}, port {started.port}) in the background.\n"
                     "It keeps running for the next commands: `wildrydes local stop` stops it.")
    if url is None:   # start() reports a running daemon or raises: a None here is our bug
        raise LocalTargetError("The local emulator started but reported no endpoint; see `wildrydes local status`.")
    return url
