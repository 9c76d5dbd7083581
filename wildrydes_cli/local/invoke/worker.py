"""One warm Lambda execution environment: a child process of the daemon.

Run as ``python -m wildrydes_cli.local.invoke.worker --task-root DIR --handler index.handler``
with the function's environment already set by the runner. It imports the
handler once (the "init" phase, where the function loads its model), reports
``ready`` (or the init error), then serves invocations one at a time over its
stdin/stdout pipes: 4-byte big-endian length + JSON, in both directions.

The handler's own output (``print`` and the root logger, formatted as
Lambda's Python runtime formats it) is collected per invocation and returned
with the result, with the duration and the process's peak RSS, so the runner
can write Lambda's START/END/REPORT log lines; it never enters the protocol
stream, and it is not echoed to the daemon's log (it is in the function's log
group and the kept log store: echoed, every request grew daemon.log by a line). Standard library only: this runs next to user code.
The worker exits when its pipe closes or, on Linux, when the daemon dies
(``PR_SET_PDEATHSIG``), so no worker outlives the emulator.

Memory: Lambda stops an environment that goes over its ``MemorySize`` and API
Gateway answers 502. With ``--memory-mb`` the worker caps its own data
segment (``RLIMIT_DATA``: heap and private anonymous mappings, which is where
Python objects, numpy arrays and mmap'd allocations live; shared libraries
do not count) at MemorySize plus ``ALLOWANCE_MB``. The allowance is measured,
not guessed: RLIMIT_DATA counts address space that is reserved but never
touched (8 MiB per thread stack, malloc arenas), which Lambda's RSS-based
limit does not; importing mxnet reserves ~230 MB more data than it makes
resident (VmData 367 MB vs VmRSS 135 MB on this machine), numpy ~26 MB, the
lean function ~0. 64 MiB covers the lean function's threads and is small next
to 1024 (mxnet's MemorySize), whose 1088 MiB cap still leaves it 700 MB.
An allocation past the cap raises MemoryError; if it escapes the handler the
worker reports it and exits (Lambda's "Runtime exited"), and the next request
gets a fresh worker. Memory kept over MemorySize (under the cap) is caught
after the request from the resident set, with the same outcome. RLIMIT_AS was rejected: mxnet alone maps 612 MB of
address space before doing anything.

Response size: Lambda refuses a synchronous response payload over 6,291,556
bytes (the result serialized as JSON) with ``Function.ResponseSizeTooLarge``,
and API Gateway answers 502; the worker reports that error instead of the result.
"""
from __future__ import annotations

import argparse
import importlib
import io
import json
import logging
import os
import resource
import signal
import struct
import sys
import time
import traceback

_HEADER = struct.Struct(">I")
ALLOWANCE_MB = 64
RESPONSE_LIMIT = 6_291_556   # "Response payload size exceeded maximum allowed payload size (6291556 bytes)."


def limit_memory(memory_mb: int) -> None:
    """Cap the data segment at ``memory_mb`` + the allowance (see the module docstring)."""
    limit = (memory_mb + ALLOWANCE_MB) * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ValueError, OSError) as exc:  # a hard limit below ours: keep it
        print(f"wildrydes worker: cannot limit memory to {memory_mb} MB: {exc}", file=sys.stderr)


MAX_CAPTURED_LINES = 1000          # per invocation: a chatty function cannot balloon the daemon
MAX_CAPTURED_CHARS = 256 * 1024


class OutputCapture(io.TextIOBase):
    """A text stream that keeps the current invocation's lines (bounded), echoed to ``echo`` if given."""

    def __init__(self, echo=None) -> None:
        self.echo = echo
        self.lines: list[str] = []
        self.chars = 0
        self.dropped = 0
        self._partial = ""
        self.request_id = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.echo is not None:
            self.echo.write(text)
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            self._keep(line)
        return len(text)

    def flush(self) -> None:
        if self.echo is not None:
            self.echo.flush()

    def _keep(self, line: str) -> None:
        if len(self.lines) >= MAX_CAPTURED_LINES or self.chars + len(line) > MAX_CAPTURED_CHARS:
            self.dropped += 1
            return
        self.lines.append(line)
        self.chars += len(line)

    def take(self) -> list[str]:
        """The lines since the last call (a trailing partial line included), then start afresh."""
        if self._partial:
            self._keep(self._partial)
            self._partial = ""
        lines = self.lines
        if self.dropped:
            lines.append(f"[wildrydes] {self.dropped} more output lines of this invocation were dropped")
        self.lines, self.chars, self.dropped = [], 0, 0
        return lines


class LambdaLogFormatter(logging.Formatter):
    """Lambda's Python runtime format: ``[LEVEL]\t<UTC time>Z\t<request id>\t<message>``."""

    converter = time.gmtime  # type: ignore[assignment]  # typeshed: gmtime(secs=None) is compatible

    def __init__(self, capture: OutputCapture) -> None:
        super().__init__("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                         "%Y-%m-%dT%H:%M:%S")
        self.capture = capture

    def format(self, record: logging.LogRecord) -> str:
        record.aws_request_id = self.capture.request_id
        return super().format(record)


def install_capture() -> OutputCapture:
    """Route print() and the root logger into one capture, as Lambda's runtime does."""
    capture = OutputCapture()
    sys.stdout = sys.stderr = capture
    handler = logging.StreamHandler(capture)
    handler.setFormatter(LambdaLogFormatter(capture))
    logging.getLogger().addHandler(handler)
    return capture


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux: the closed pipe still ends us
        pass


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> dict | None:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    payload = _read_exact(fd, _HEADER.unpack(header)[0])
    return None if payload is None else json.loads(payload)


def write_message(fd: int, message: dict) -> None:
    payload = json.dumps(message, separators=(",", ":")).encode()
    data = _HEADER.pack(len(payload)) + payload
    while data:
        written = os.write(fd, data)
        data = data[written:]


class LambdaContext:
    """The subset of the Lambda Python context object handlers use."""

    def __init__(self, info: dict):
        self.function_name = info.get("function_name", "")
        self.function_version = "$LATEST"
        self.invoked_function_arn = info.get("function_arn", "")
        self.memory_limit_in_mb = int(info.get("memory_size", 128))
        self.aws_request_id = info.get("request_id", "")
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline = float(info.get("deadline", time.time() + 3))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _error(exc: BaseException) -> dict:
    return {"errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)}


def load_handler(task_root: str, handler: str):
    """Import ``module.function`` from the task root (the Lambda init phase)."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise ValueError(f"Bad handler {handler!r}: expected 'module.function'")
    sys.path[:] = [task_root] + [p for p in sys.path if p not in ("", task_root, os.getcwd())]
    module = importlib.import_module(module_name.replace("/", "."))
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AttributeError(f"Handler {handler!r}: module {module_name!r} has no function {function_name!r}")
    return function


def _rss_reader():
    """A function returning this process's resident set in kB, or None without /proc."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def rss_kb() -> int:
        return int(os.pread(fd, 128, 0).split()[1]) * page_kb

    return rss_kb


def _out_of_memory(out_fd: int, context: LambdaContext) -> int:
    error = {"errorType": "Runtime.OutOfMemory",
             "errorMessage": f"Runtime exited: function used more than its {context.memory_limit_in_mb} MB"}
    print(f"wildrydes worker: {error['errorMessage']}", file=sys.stderr)
    write_message(out_fd, {"type": "result", "ok": False, "exit": True, "error": error})
    return 1


def serve(in_fd: int, out_fd: int, task_root: str, handler_name: str, memory_mb: int = 0,
          capture: OutputCapture | None = None) -> int:
    """Init, then invocations until the pipe closes.

    With ``memory_mb``, an invocation after which the resident set is over
    MemorySize ends this environment with an out-of-memory error, like an
    allocation refused by the RLIMIT_DATA cap: Lambda's limit is on resident
    memory, the cap bounds what a request can take while it runs. The RSS is
    read from ``/proc/self/statm`` (~0.6 us). Measured and rejected: the peak
    (``VmHWM`` in /proc/self/status) costs 3-11 us per request, ~15 % of a
    warm worker's CPU per request; ``getrusage``'s ``ru_maxrss`` is cheap but
    carries the daemon's own peak over fork and exec. The same reading gives the
    REPORT line's "Max Memory Used": the largest resident set seen after an
    invocation (Lambda's is the true peak; a spike inside a request is missed).
    """
    rss_kb = _rss_reader()
    capture = capture or OutputCapture()
    started = time.perf_counter()
    peak_mb = 0   # "Max Memory Used": the largest resident set seen after an invocation
    try:
        handler = load_handler(task_root, handler_name)
    except BaseException as exc:  # init error: report it, the runner answers 502
        traceback.print_exc()
        write_message(out_fd, {"type": "init_error", "error": _error(exc), "logs": capture.take()})
        return 1
    write_message(out_fd, {"type": "ready", "pid": os.getpid(), "logs": capture.take(),
                           "init_ms": (time.perf_counter() - started) * 1000})
    while True:
        message = read_message(in_fd)
        if message is None:
            return 0
        context = LambdaContext(message.get("context", {}))
        capture.request_id = context.aws_request_id
        started = time.perf_counter()
        try:
            result = handler(message["event"], context)
            reply = {"type": "result", "ok": True, "result": result}
        except MemoryError:  # over MemorySize: Lambda stops the environment; so do we
            return _out_of_memory(out_fd, context)
        except Exception as exc:
            traceback.print_exc()
            reply = {"type": "result", "ok": False, "error": _error(exc)}
        except BaseException as exc:  # SystemExit in a handler: report, then end this environment
            write_message(out_fd, {"type": "result", "ok": False, "exit": True, "error": _error(exc),
                                   "logs": capture.take()})
            return 1
        resident_kb = rss_kb() if rss_kb is not None else 0
        if memory_mb and resident_kb > memory_mb * 1024:
            return _out_of_memory(out_fd, context)
        peak_mb = max(peak_mb, round(resident_kb / 1024))
        reply.update(logs=capture.take(), duration_ms=(time.perf_counter() - started) * 1000,
                     max_memory_mb=peak_mb)
        try:
            text = json.dumps(reply, separators=(",", ":"))
        except (TypeError, ValueError) as exc:  # a result JSON cannot carry: the runtime's error
            reply.update(ok=False, error=_error(exc), result=None)
            text = json.dumps(reply, separators=(",", ":"))
        if len(text) > RESPONSE_LIMIT and reply.get("ok") and len(json.dumps(reply["result"])) > RESPONSE_LIMIT:
            reply.update(ok=False, result=None, error={
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."})
            text = json.dumps(reply, separators=(",", ":"))
        payload = text.encode()
        os.write(out_fd, _HEADER.pack(len(payload)))
        while payload:
            payload = payload[os.write(out_fd, payload):]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wildrydes-lambda-worker")
    parser.add_argument("--task-root", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--memory-mb", type=int, default=0, help="MemorySize; 0 = no limit")
    args = parser.parse_args(argv)
    _die_with_parent()
    if args.memory_mb > 0:
        limit_memory(args.memory_mb)
    # Keep the protocol on private descriptors; what bypasses the capture goes to stderr.
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    return serve(in_fd, out_fd, args.task_root, args.handler, args.memory_mb, install_capture())


if __name__ == "__main__":
    sys.exit(main())
