"""Run a real command in a pseudo-terminal of a given size, as a person at a terminal would.

What a pipe cannot show: rich draws progress bars and sizes tables only when its
stream is a terminal, with the terminal's width. Output is collected until the
command exits; the child is killed by pid if it overstays.
"""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time

# CSI sequences (colour, cursor movement, erase), OSC sequences, and the lone escapes rich uses.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>78]")


def run_in_pty(argv: list[str], env: dict, columns: int = 80, rows: int = 40, timeout: float = 120.0,
               cwd: str | None = None) -> tuple[int, str]:
    """(exit code, everything written to the terminal, stdout and stderr together)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env={**env, "COLUMNS": str(columns),
                            "LINES": str(rows), "TERM": env.get("TERM", "xterm-256color")}, cwd=cwd,
                            close_fds=True, start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                raise TimeoutError(f"{argv} did not finish within {timeout} s")
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:   # EIO: the child closed the terminal
                    data = b""
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                continue   # drain what is left, then EIO ends the loop
    finally:
        os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", errors="replace")


def plain(text: str) -> str:
    """Without escape sequences (colour and cursor control)."""
    return _ESCAPES.sub("", text)


def cursor_control_after(text: str, start: int) -> list[str]:
    """Escape sequences other than colour (SGR ``...m``) and carriage returns not ending a line, after ``start``."""
    tail = text[start:]
    moves = [m.group(0) for m in _ESCAPES.finditer(tail) if not m.group(0).endswith("m")]
    returns = [m.start() for m in re.finditer(r"\r(?!\n)", tail)]
    return moves + ["\\r"] * len(returns)
