"""The local target's HTTP front against hostile clients: over real sockets, against a real daemon.

Each protocol case gets a 4xx and a clean close (the server closes; no hang),
bodies over API Gateway's 10 MB limit are refused as soon as their size is
known, the head/body/idle timeouts fire (set short through the environment),
1,100 idle sockets under a 1,024-descriptor limit do not stop other requests,
a function over its MemorySize gets API Gateway's 502 and a fresh worker,
and nothing leaves a traceback in the daemon's log.
"""
from __future__ import annotations

import os
import resource
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import emulated
import pytest

from wildrydes_cli.local import daemon_files

pytestmark = pytest.mark.slow

TIMEOUTS = {"WILDRYDES_LOCAL_HEADER_TIMEOUT": "1", "WILDRYDES_LOCAL_BODY_TIMEOUT": "1",
            "WILDRYDES_LOCAL_IDLE_TIMEOUT": "3"}
HUNGRY = '''
import os
CACHE = []
def handler(event, context):
    query = event.get("queryStringParameters") or {}
    if query.get("eat"):
        CACHE.append(bytearray(int(query["eat"]) * 1024 * 1024))  # zero-filled, every page touched, kept
        return {"statusCode": 200, "body": str(len(CACHE[-1]))}
    return {"statusCode": 200, "body": str(os.getpid())}
'''


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """A daemon with 1-3 s timeouts and a 128 MB function that can be asked to allocate 512 MiB."""
    state_dir = tmp_path_factory.mktemp("front")
    saved = {k: os.environ.get(k) for k in TIMEOUTS}
    os.environ.update(TIMEOUTS)
    try:
        with emulated.emulator(state_dir) as status:
            deployed = emulated.deploy(status.endpoint_url, emulated.zip_files({"index.py": HUNGRY}), {},
                                       memory=128, timeout=10)
            yield status, deployed, state_dir
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    log = Path(status.log_file).read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def exchange(port: int, raw: bytes, timeout: float = 5.0) -> tuple[bytes, float]:
    """Send ``raw``, read until the server closes; (everything received, seconds until the close)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return data, time.monotonic() - t0


def status_of(data: bytes) -> int:
    assert data.startswith(b"HTTP/1.1 "), data[:200]
    return int(data[9:12])


def invoke_path(deployed) -> str:
    return f"/restapis/{deployed.api_id}/prod/_user_request_/"


CHUNKED = b"POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


MALFORMED = [
    ("duplicate Content-Length", b"POST %s HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"),
    ("conflicting Content-Length", b"POST %s HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"),
    ("signed Content-Length", b"POST %s HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}"),
    ("NUL in a header value", b"GET %s HTTP/1.1\r\nX-A: a\x00b\r\n\r\n"),
    ("NUL in a header name", b"GET %s HTTP/1.1\r\nX\x00A: b\r\n\r\n"),
    ("HTTP/1.9", b"GET %s HTTP/1.9\r\n\r\n"),
    ("HTTP/2.0 over plain HTTP/1 framing", b"GET %s HTTP/2.0\r\n\r\n"),
    ("junk chunk terminator", CHUNKED + b"2\r\n{}XX0\r\n\r\n"),
    ("negative chunk size", CHUNKED + b"-2\r\n{}\r\n0\r\n\r\n"),
    ("over-long chunk size", CHUNKED + b"fffffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
    ("Content-Length with chunked", (b"POST %s HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n"
                                     b"\r\n2\r\n{}\r\n0\r\n\r\n")),
    ("bare LF line endings", b"GET %s HTTP/1.1\nHost: x\n\n"),
    ("bare LF after a header", b"GET %s HTTP/1.1\r\nHost: x\n\r\n"),
    ("obsolete line folding", b"GET %s HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n"),
    ("space before the colon", b"GET %s HTTP/1.1\r\nX-A : 1\r\n\r\n"),
    ("garbage request line", b"HELLO\r\n\r\n"),
    ("target not starting with /", b"GET restapis HTTP/1.1\r\n\r\n"),
    ("absolute-form for another host", b"GET http://169.254.169.254%s HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("head over 64 KiB", b"GET %s HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"),
]


@pytest.mark.parametrize("name, raw", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_requests_get_a_4xx_and_a_clean_close(front, name, raw):
    status, deployed, _ = front
    data, took = exchange(status.port, raw.replace(b"%s", invoke_path(deployed).encode()) if b"%s" in raw else raw)
    code = status_of(data)
    assert 400 <= code < 500, (name, data[:300])
    assert b"Connection: close" in data and b'"message"' in data
    assert took < 1.0, f"{name}: the server took {took:.2f} s to close"  # answered at once, not by a timeout


def test_absolute_form_naming_this_server_is_routed_to_the_api_not_to_s3(front):
    status, deployed, _ = front
    raw = (f"GET http://127.0.0.1:{status.port}{invoke_path(deployed)} HTTP/1.1\r\nHost: x\r\n"
           "Connection: close\r\n\r\n").encode()
    data, _ = exchange(status.port, raw)
    body = data.partition(b"\r\n\r\n")[2]
    assert status_of(data) == 200 and body.strip().isdigit(), data[:400]  # the function's pid, not S3's XML


def test_body_over_the_api_gateway_limit_is_refused_from_its_content_length(front):
    status, deployed, _ = front
    raw = (f"POST {invoke_path(deployed)} HTTP/1.1\r\nContent-Length: {10 * 1024 * 1024 + 1}\r\n\r\n").encode()
    data, took = exchange(status.port, raw)  # no body sent: the answer cannot wait for it
    assert status_of(data) == 413 and b"10485760-byte limit" in data and took < 1.0


def test_a_chunk_declared_over_the_limit_is_refused_from_its_size_line(front):
    status, deployed, _ = front
    raw = CHUNKED.replace(b"%s", invoke_path(deployed).encode()) + b"FFFFFFFFFF\r\nab"
    data, took = exchange(status.port, raw)  # a terabyte declared, two bytes sent: the answer cannot wait
    assert status_of(data) == 413 and b"10485760-byte limit" in data and took < 0.9, (took, data[:300])


def test_chunked_body_is_refused_as_it_crosses_the_limit(front):
    status, deployed, _ = front
    chunk = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"  # 1 MiB
    with socket.create_connection(("127.0.0.1", status.port), timeout=5) as sock:
        sock.sendall(CHUNKED.replace(b"%s", invoke_path(deployed).encode()))
        sent = 0
        try:
            for _ in range(64):  # bounded: 64 MiB at most, the server must stop us at 10
                sock.sendall(chunk)
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while chunk_in := sock.recv(65536):
                data += chunk_in
        except ConnectionResetError:
            pass
    assert sent < 64 and status_of(data) == 413, (sent, data[:300])


def test_exactly_the_limit_is_accepted(front):
    status, deployed, _ = front
    body = b"x" * (10 * 1024 * 1024)
    code, _, answer = emulated.http("POST", f"{status.endpoint_url}{invoke_path(deployed)}", body)
    assert code == 200 and answer.isdigit()


@pytest.mark.parametrize("raw, expected", [
    (b"GET /_wildrydes/health HTTP/1.1\r\nHost: x", b"headers not received in time"),
    (b"POST %s HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"partial\"", b"body not received in time"),
])
def test_slow_heads_and_short_bodies_end_in_408(front, raw, expected):
    status, deployed, _ = front
    data, took = exchange(status.port, raw.replace(b"%s", invoke_path(deployed).encode()))
    assert status_of(data) == 408 and expected in data
    assert 0.9 <= took < 2.5  # the 1 s timeout of the phase, not the 3 s idle one


def test_idle_keep_alive_connection_is_closed(front):
    status, _, _ = front
    with socket.create_connection(("127.0.0.1", status.port), timeout=10) as sock:
        sock.sendall(b"GET /_wildrydes/health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert status_of(first) == 200 and b"Connection: keep-alive" in first
        t0 = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server, not by our 10 s socket timeout
        assert 2.5 <= time.monotonic() - t0 < 7


def test_pipelined_requests_are_answered_in_order(front):
    status, deployed, _ = front
    path = invoke_path(deployed).encode()
    raw = (b"GET /_wildrydes/health HTTP/1.1\r\n\r\n" + b"GET " + path + b" HTTP/1.1\r\n\r\n"
           + b"GET /_wildrydes/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    data, _ = exchange(status.port, raw)
    assert data.count(b"HTTP/1.1 200 OK") == 3 and data.index(b'"status"') < data.index(b"\r\n\r\n", 200)


@pytest.mark.parametrize("mib", [512, 150])  # refused by the data cap / allocated and kept: over 128 MB resident
def test_function_over_its_memory_size_gets_502_and_a_fresh_worker(front, mib):
    status, deployed, _ = front
    url = f"{status.endpoint_url}{invoke_path(deployed)}"
    code, _, before = emulated.http("GET", url)
    assert code == 200
    code, _, body = emulated.http("GET", url + f"?eat={mib}")
    assert code == 502 and b"Internal server error" in body
    code, _, after = emulated.http("GET", url)
    assert code == 200 and after != before  # another worker process


def test_a_function_within_its_memory_size_keeps_its_worker(front):
    status, deployed, _ = front
    url = f"{status.endpoint_url}{invoke_path(deployed)}"
    pid = emulated.http("GET", url)[2]
    assert emulated.http("GET", url + "?eat=40")[:1] == (200,)
    assert emulated.http("GET", url)[2] == pid


def test_state_directory_and_files_are_private(front):
    _, _, state_dir = front
    local = daemon_files.local_dir(state_dir)
    for path in (state_dir, local, daemon_files.tasks_dir(state_dir)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in (daemon_files.state_file(state_dir), daemon_files.log_file(state_dir), local / "start.lock"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def _serve_with_nofile(state_dir: Path, nofile: int, env: dict) -> subprocess.Popen:
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    log = open(state_dir / "out.log", "wb")
    return subprocess.Popen([sys.executable, "-m", daemon_files.SERVER_MODULE, "--port", "0", "--state-dir",
                             str(state_dir)], stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit, env=env,
                            start_new_session=True)


def test_idle_sockets_beyond_the_descriptor_limit_do_not_starve_other_requests(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1400:
        pytest.skip(f"need 1,400 descriptors for the idle sockets, hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1400) if hard == resource.RLIM_INFINITY
                                                else min(hard, max(soft, 1400)), hard))
    env = {**os.environ, "WILDRYDES_LOCAL_IDLE_TIMEOUT": "300", "WILDRYDES_LOCAL_HEADER_TIMEOUT": "300"}
    proc = _serve_with_nofile(tmp_path, 1024, env)
    idle: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while (recorded := daemon_files.read_state(tmp_path)) is None or recorded.pid != proc.pid:
            assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "out.log").read_text()
            time.sleep(0.05)
        port = recorded.port
        for i in range(1100):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                sock.sendall(b"GET /_wildrydes/health HTTP/1.1\r\nHost: x")  # a slow head
            idle.append(sock)
        ok = 0
        for _ in range(20):
            code = emulated.http("GET", f"http://127.0.0.1:{port}/_wildrydes/health", timeout=10)[0]
            ok += code == 200
        s3 = emulated.clients(f"http://127.0.0.1:{port}", state_dir=tmp_path)["s3"]
        s3.create_bucket(Bucket="still-served")
        assert ok == 20 and [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["still-served"]
    finally:
        for sock in idle:
            sock.close()
        proc.terminate()
        proc.wait(timeout=10)
    log = (tmp_path / "out.log").read_text() + daemon_files.log_file(tmp_path).read_text()   # start-up, then the log
    assert "connection cap" in log and "Traceback" not in log and "Too many open files" not in log


def test_kill_9_leaves_no_code_behind_and_the_next_start_removes_it(tmp_path):
    marker = f"# {uuid.uuid4()}\n"  # other daemons on this machine may come and go in /tmp: look for ours
    with emulated.emulator(tmp_path) as status:
        deployed = emulated.deploy(status.endpoint_url, emulated.zip_files({"index.py": marker + HUNGRY}), {})
        assert emulated.http("GET", deployed.invoke_url)[0] == 200
        task_dirs = list(daemon_files.tasks_dir(tmp_path).glob(f"{status.pid}/task-*"))
        assert len(task_dirs) == 1 and (task_dirs[0] / "index.py").read_text().startswith(marker)
        os.kill(status.pid, 9)
        assert emulated.pid_gone(status.pid)
    in_tmp = [p for p in Path("/tmp").glob("wildrydes-lambda-*/*/index.py") if _starts_with(p, marker)]
    assert in_tmp == []
    assert task_dirs[0].exists()  # what the crash left, until the next start
    with emulated.emulator(tmp_path) as again:
        assert not (daemon_files.tasks_dir(tmp_path) / str(status.pid)).exists()
        assert [p.name for p in daemon_files.tasks_dir(tmp_path).iterdir()] == [str(again.pid)]


def _starts_with(path: Path, marker: str) -> bool:
    try:
        return path.read_text(errors="replace").startswith(marker)
    except OSError:
        return False


def test_refused_code_zips_leave_no_task_directory(front):
    status, deployed, state_dir = front
    lam = deployed.aws["lambda"]
    bad = emulated.zip_files({"../escape.py": "x = 1"})
    role = deployed.aws["iam"].get_role(RoleName=f"{deployed.function_name}-role")["Role"]["Arn"]
    lam.create_function(FunctionName="refused", Runtime="python3.13", Role=role,
                        Handler="index.handler", Code={"ZipFile": bad}, MemorySize=128)
    apig = deployed.aws["apigateway"]
    root = apig.get_resources(restApiId=deployed.api_id)["items"][0]["id"]
    resource_id = apig.create_resource(restApiId=deployed.api_id, parentId=root, pathPart="refused")["id"]
    arn = lam.get_function(FunctionName="refused")["Configuration"]["FunctionArn"]
    apig.put_method(restApiId=deployed.api_id, resourceId=resource_id, httpMethod="ANY", authorizationType="NONE")
    apig.put_integration(restApiId=deployed.api_id, resourceId=resource_id, httpMethod="ANY", type="AWS_PROXY",
                         integrationHttpMethod="POST",
                         uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations")
    apig.create_deployment(restApiId=deployed.api_id, stageName="prod")
    root_dir = daemon_files.tasks_dir(state_dir) / str(status.pid)
    before = sorted(root_dir.iterdir())
    for _ in range(5):
        assert emulated.http("GET", f"{deployed.invoke_url}refused")[0] == 502
    assert sorted(root_dir.iterdir()) == before


@pytest.mark.parametrize("var, raw", [("WILDRYDES_LOCAL_IDLE_TIMEOUT", "soon"), ("WILDRYDES_LOCAL_BODY_TIMEOUT", "0"),
                                      ("WILDRYDES_LOCAL_MAX_CONNECTIONS", "-5")])
def test_bad_limit_in_the_environment_is_a_usage_error_before_the_daemon_starts(monkeypatch, tmp_path, var, raw):
    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli
    monkeypatch.setenv(var, raw)
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["local", "start", "--port", "0"])
    assert result.exit_code == 2 and f"{var} must be a positive number, got {raw!r}" in result.output
    assert not daemon_files.state_file(tmp_path).exists()


def test_expect_100_continue_is_answered_before_the_body_is_sent(front):
    status, deployed, _ = front
    with socket.create_connection(("127.0.0.1", status.port), timeout=5) as sock:
        sock.sendall(f"POST {invoke_path(deployed)} HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
                     "Connection: close\r\n\r\n".encode())
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"{}")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert status_of(data) == 200
