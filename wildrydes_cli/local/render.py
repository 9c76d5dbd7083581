"""Text rendering of ``wildrydes local start|stop|status`` (JSON goes through console.result as is)."""
from __future__ import annotations

from wildrydes_cli.local.daemon import Status


def render_status(console, verb: str, status: Status) -> None:
    if status.stale_pid:
        console.info(f"Removed stale emulator state (pid {status.stale_pid} was not running).")
    if verb == "reset":
        stopped = f" (stopped pid {status.pid})" if status.pid else ""
        console.line(f"Local target reset{stopped}: the next start is empty.")
        return
    if verb == "stop":
        if status.pid:
            console.line(f"Emulator stopped (pid {status.pid}).")
        else:
            console.line("Emulator is not running.")
        return
    if not status.running:
        console.line("Emulator is not running. Start it with `wildrydes local start`.")
        return
    if verb == "start":
        console.line("Emulator is already running." if status.already_running else "Emulator started.")
    console.fields({"pid": status.pid, "endpoint_url": status.endpoint_url, "log_file": status.log_file})
