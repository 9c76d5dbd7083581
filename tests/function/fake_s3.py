"""A scripted S3 on 127.0.0.1:<free port> for the function's S3 reader tests, over real HTTP.

moto answers like S3 when S3 is healthy; this answers like S3 when it is not:
throttling, 5xx, 403 without ListBucket, stalls, dropped keep-alive
connections, oversized bodies. Each request is answered by the first script
entry whose path matches, or by the ``default`` answer.
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def error_xml(code: str, message: str = "scripted") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>1</RequestId></Error>").encode()


class Answer:
    """One scripted answer: status, body, and misbehaviour (stall seconds, drop the connection after)."""

    def __init__(self, status: int = 200, body: bytes = b"", stall: float = 0.0, drop_after: bool = False,
                 headers: dict | None = None, chunked: bool = False) -> None:
        self.status, self.body, self.stall, self.drop_after = status, body, stall, drop_after
        self.headers = headers or {}
        self.chunked = chunked


class FakeS3:
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.script: list[tuple[str, Answer]] = []   # (path prefix, answer), used once each
        self.default = Answer(404, error_xml("NoSuchKey"))
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"   # keep-alive, as S3

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with fake.lock:
                    fake.requests.append({"path": parts.path, "query": parts.query,
                                          "headers": dict(self.headers), "client": self.client_address})
                    answer = fake.default
                    for index, (prefix, scripted) in enumerate(fake.script):
                        if parts.path.startswith(prefix):
                            answer = fake.script.pop(index)[1]
                            break
                if answer.stall:
                    time.sleep(answer.stall)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(answer.body), answer.body))
                else:
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                self.wfile.flush()
                if answer.drop_after:
                    self.close_connection = True   # closes without saying "Connection: close"

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:   # (certificate file, key file): answer over HTTPS as S3 does
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def add(self, path: str, answer: Answer) -> None:
        self.script.append((path, answer))

    def clients(self) -> set:
        """Distinct client (address, port) pairs: one per TCP connection the reader opened."""
        return {r["client"] for r in self.requests}

    def __enter__(self) -> FakeS3:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
