"""The emulator daemon's state file and the process/port facts around it.

The daemon writes ``<state_dir>/local/daemon.json`` itself once its socket is
bound (so the recorded pid and port are the real ones, never a guess by the
starter) and removes it on a clean exit. Everything here is small and
synchronous so that ``local status`` and ``ensure_running`` stay cheap.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from wildrydes_cli.errors import UsageError

LOG = logging.getLogger(__name__)

PORT_ENV = "WILDRYDES_LOCAL_PORT"
WORKERS_ENV = "WILDRYDES_LOCAL_WORKERS"
MAX_WORKERS = 32
SERVER_MODULE = "wildrydes_cli.local.server"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class DaemonState:
    """What a running daemon recorded about itself."""

    pid: int
    port: int
    log_file: str
    started_at: float
    version: str = ""

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def local_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "local"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) 0700, and tighten it if it exists: only its user may enter.

    The daemon's state, log, lock and unpacked function code are nobody else's business.
    """
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.geteuid() and info.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def open_private(path: Path, mode: str = "a", **kwargs):
    """``open`` for a file only its owner may read or write (0600, tightened if it existed)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode, **kwargs)


def tasks_dir(state_dir: Path) -> Path:
    """Where the daemon unpacks function code: ``<state>/local/lambda/<daemon pid>/`` (see runner)."""
    return local_dir(state_dir) / "lambda"


def state_file(state_dir: Path) -> Path:
    return local_dir(state_dir) / "daemon.json"


def log_file(state_dir: Path) -> Path:
    return local_dir(state_dir) / "daemon.log"


def refusal_file(state_dir: Path) -> Path:
    """Why the daemon refused to start (a damaged journal, a full disk): written by it, shown by ``start``."""
    return local_dir(state_dir) / "start-refused.txt"


def recovery_file(state_dir: Path) -> Path:
    """What ``local start --recover`` kept and set aside (JSON): written by the daemon, shown by ``start``."""
    return local_dir(state_dir) / "start-recovered.json"


def write_note(path: Path, text: str) -> None:
    """Write a small 0600 file atomically (best effort: the daemon logs the same)."""
    try:
        private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open_private(tmp, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        LOG.error("cannot write %s: %s", path, exc)


def take_note(path: Path) -> str | None:
    """Read and remove a note the daemon left (None when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    path.unlink(missing_ok=True)
    return text


def read_state(state_dir: Path) -> DaemonState | None:
    """The recorded state, or None when there is none (or it is unreadable)."""
    path = state_file(state_dir)
    try:
        data = json.loads(path.read_text())
        return DaemonState(pid=int(data["pid"]), port=int(data["port"]), log_file=str(data["log_file"]),
                           started_at=float(data["started_at"]), version=str(data.get("version", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        LOG.warning("ignoring unreadable state file %s: %s", path, exc)
        return None


def write_state(state_dir: Path, state: DaemonState) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a file."""
    path = state_file(state_dir)
    private_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open_private(tmp, "w") as handle:
        handle.write(json.dumps(asdict(state)))
    os.replace(tmp, path)


def clear_state(state_dir: Path, pid: int | None = None) -> None:
    """Remove the state file; with ``pid``, only if it still belongs to that pid."""
    path = state_file(state_dir)
    if pid is not None:
        current = read_state(state_dir)
        if current is not None and current.pid != pid:
            return
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a live process (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): trust kill(0)
    # The state letter follows the parenthesised command name.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def is_daemon_process(pid: int) -> bool:
    """Whether ``pid`` runs our server module (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell (no /proc): assume it is ours
    return SERVER_MODULE.encode() in cmdline


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when another program listens on host:port, i.e. the daemon could not listen there.

    We try to bind and listen the way the daemon does: asyncio's ``start_server`` (and uvloop's)
    sets SO_REUSEADDR, so the probe must too. Without it, the TIME_WAIT sockets left for ~60 s by
    connections a stopped daemon served count as a listener, and ``local stop`` then ``local start``
    on the same port failed although nothing listened. With it, a real listener (with or without
    SO_REUSEADDR, on this address or the wildcard) still makes bind fail with EADDRINUSE.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(1)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def parse_port(value: str | int, source: str) -> int:
    """A port number 0-65535 (0 = any free port), or a UsageError naming ``source``."""
    try:
        port = int(str(value).strip())
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise UsageError(f"{source} must be a port number from 1 to 65535 (or 0 for any free port), got {value!r}.")
    return port


def resolve_port(explicit: int | None, default: int) -> int:
    """--port wins, then $WILDRYDES_LOCAL_PORT, then the settings default (4566)."""
    if explicit is not None:
        return parse_port(explicit, "--port")
    env = os.environ.get(PORT_ENV)
    if env not in (None, ""):
        return parse_port(env, PORT_ENV)
    return parse_port(default, "local_port")


def resolve_workers(default: int) -> int:
    """Warm workers per function: $WILDRYDES_LOCAL_WORKERS (1-32), else ``default``.

    Checked by the CLI before it starts the daemon, so a bad value is a message
    to the user, not a daemon that dies in its log.
    """
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return default
    try:
        workers = int(raw)
    except ValueError:
        workers = 0
    if not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"{WORKERS_ENV} must be a whole number from 1 to {MAX_WORKERS} "
                         f"(warm workers per function), got {raw!r}.")
    return workers


def function_code_dir(task_dir: Path) -> Path:
    """A private directory for this daemon's unpacked code, after removing what dead daemons left.

    Under the state directory (``<state>/local/lambda/<pid>``) rather than
    /tmp, so a ``kill -9`` leaves nothing in /tmp, and the next daemon on the
    same state directory removes every ``<pid>`` whose process is gone.
    """
    private_dir(task_dir)
    for child in Path(task_dir).iterdir():
        if child.name.isdigit() and int(child.name) != os.getpid() and not (
                pid_alive(int(child.name)) and is_daemon_process(int(child.name))):
            LOG.info("removing function code left by a dead emulator (pid %s): %s", child.name, child)
            shutil.rmtree(child, ignore_errors=True)
    root = Path(task_dir) / str(os.getpid())
    shutil.rmtree(root, ignore_errors=True)  # a previous daemon with our (reused) pid
    return private_dir(root)
