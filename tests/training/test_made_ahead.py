"""The rides made while the target is checked (made_ahead.py): side by side, their value or error, and a refused
check reported without waiting for them."""
from __future__ import annotations

import threading
import time

import pytest

from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.settings import Settings
from wildrydes_cli.training import job_watch, sagemaker_job, service
from wildrydes_cli.training.made_ahead import MadeAhead
from wildrydes_cli.training.sagemaker_job import SageMakerOptions
from wildrydes_cli.training.service import TrainRequest


def test_the_work_runs_while_the_caller_goes_on_and_result_returns_its_value():
    caller_went_on = threading.Event()

    def make() -> str:
        # Finishes only once the caller has moved on: a MadeAhead that ran fn in __init__ would time out here.
        assert caller_went_on.wait(timeout=10), "the work did not run beside the caller"
        return "rides"
    made = MadeAhead(make, name="rides")
    caller_went_on.set()
    assert made.result() == "rides"


def test_result_raises_the_works_own_error():
    def make(rows: int) -> None:
        raise ValueError(f"no {rows} rides")
    made = MadeAhead(make, 7)
    with pytest.raises(ValueError, match="no 7 rides"):
        made.result()


def test_done_hands_back_what_is_already_at_hand():
    assert MadeAhead.done([1, 2]).result() == [1, 2]


def test_a_refused_target_is_reported_while_the_rides_are_still_being_made(monkeypatch):
    making, release = threading.Event(), threading.Event()

    def slow_rides(request: TrainRequest) -> None:
        making.set()
        release.wait(timeout=30)      # ten million rides, say: far longer than the refusal may take

    def no_bucket(*args: object) -> None:
        assert making.wait(timeout=10), "the rides were not started before the target was checked"
        raise NotFoundError("bucket b does not exist on target local: run `wildrydes bootstrap`")
    monkeypatch.setattr(service, "load_dataset", slow_rides)
    monkeypatch.setattr(sagemaker_job, "prepare", no_bucket)
    began = time.monotonic()
    try:
        with pytest.raises(NotFoundError, match="run `wildrydes bootstrap`"):
            job_watch.run_job(TrainRequest(rows=1000), SageMakerOptions(), Settings())
        assert time.monotonic() - began < 10    # not the 30 s the rides would have taken
        assert not release.is_set()
    finally:
        release.set()
