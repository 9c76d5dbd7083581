"""The two values every part of the local target passes around: an HTTP request and a response.

Why a module of their own: the wire layer (``front/``) makes requests and writes
responses, the AWS API side (``awsapi/``: the SigV4 gate, the journal, moto's WSGI
app) and the execute-api side (``invoke/``) read requests and make responses. Kept
here, none of those packages has to import another to speak HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HttpRequest:
    method: str
    target: str           # origin-form: path plus optional ?query, still percent-encoded
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    # Set by the front for a request it could not read to the end (a control character in x-api-key):
    # the 400 it would answer. Such a request is answered without running anything; the connection closes.
    unreadable: str | None = None
    # (body, its SHA-256) once the SigV4 gate has checked the body against x-amz-content-sha256: the
    # journal names a large body's blob by that digest instead of hashing the same bytes again.
    # Kept with the body it was computed from, so a request rebuilt with another body never inherits it.
    checked_digest: tuple[bytes, str] | None = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def body_sha256(self) -> str | None:
        """The body's SHA-256 (hex) when the gate computed it for exactly this body, else None."""
        checked = self.checked_digest
        return checked[1] if checked is not None and checked[0] is self.body else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def keep_alive(self) -> bool:
        if self.unreadable is not None:
            return False
        connection = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


@dataclass(frozen=True)
class HttpResponse:
    """A response ready to be written: status, header pairs (repeatable), body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
