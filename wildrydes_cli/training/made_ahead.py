"""Work started in a thread of its own while the caller does something else: ``MadeAhead(fn, ...)``, then ``result()``.

Why: ``train --on sagemaker`` checks its target before it uploads anything (boto3's
import, the SageMaker client's model, the stack, the bucket and its region, the
execution role: 0.3 s on the local target, mostly importing and parsing botocore's
models), and the synthetic rides it will upload take 0.09 s to make for a million
rows, about a second for ten million (numpy, which releases the GIL). Made side by
side, the command waits for the longer of the two instead of their sum.

Why a daemon thread and not an executor: a refused check must be reported at once.
The caller raises, the command ends, and the rides still being made are dropped
with the process; an executor's thread would be joined at exit, so a user who
forgot ``bootstrap`` would wait for ten million rides to learn it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class MadeAhead(Generic[T]):
    """``fn(*args)`` running now in a daemon thread; ``result()`` waits for it and returns or raises what it did."""

    def __init__(self, fn: Callable[..., T], *args: object, name: str = "made-ahead") -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = threading.Thread(target=self._run, args=(fn, args), name=name,
                                                                 daemon=True)
        self._thread.start()

    @classmethod
    def done(cls, value: T) -> "MadeAhead[T]":
        """What is already at hand (the user's file, read first), behind the same ``result()``."""
        made = cls.__new__(cls)
        made._value, made._error, made._thread = value, None, None
        return made

    def _run(self, fn: Callable[..., T], args: tuple[object, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:   # handed to the caller by result(), with its traceback
            self._error = exc

    def result(self) -> T:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._value  # type: ignore[return-value]
