"""notices.py: what a library module tells the user reaches stderr through the CLI, once, and only there."""
from __future__ import annotations

from wildrydes_cli import notices


def test_a_notice_goes_to_each_listener_while_it_listens_and_nowhere_after():
    heard: list[str] = []
    notices.tell("before")
    with notices.listening(heard.append):
        notices.tell("started")
    notices.tell("after")
    assert heard == ["started"]


def test_to_stderr_writes_one_line_and_a_closed_stderr_is_no_failure(capsys, monkeypatch):
    notices.to_stderr("Started the local emulator")
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "Started the local emulator\n")

    class Closed:
        def write(self, text):
            raise ValueError("I/O operation on closed file")

        def flush(self):
            raise ValueError("I/O operation on closed file")

    monkeypatch.setattr("sys.stderr", Closed())
    notices.to_stderr("nobody hears this")   # no exception
