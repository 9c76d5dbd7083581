"""Fixtures of the real-AWS-behaviour layer: moto holds the state, ``AwsBehaviour`` scripts what
real AWS does on top (see awsbehaviour.py), and no test waits in real time."""
from __future__ import annotations

import time

import pytest
from awsbehaviour import AwsBehaviour
from cli_helpers import Wildrydes, upload_model
from moto import mock_aws


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """Every sleep (stack polls, botocore's retry backoff, lock waits), recorded instead of slept."""
    from wildrydes_cli.aws.client import Aws
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    monkeypatch.setattr(Aws.__init__, "__defaults__", (None, waits.append))
    return waits


@pytest.fixture
def real(slept):
    with mock_aws(), AwsBehaviour() as behaviour:
        yield behaviour


@pytest.fixture
def wildrydes(real, tmp_path) -> Wildrydes:
    return Wildrydes(tmp_path)


@pytest.fixture
def with_model(wildrydes) -> dict:
    boot = wildrydes.json("bootstrap")
    upload_model(boot["bucket"])
    return boot
