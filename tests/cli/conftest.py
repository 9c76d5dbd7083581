"""Fixtures for the CLI's functional tests: moto in-process, Click's runner, --target aws.

Every test here drives the real ``wildrydes`` command group against moto's
``mock_aws`` and then checks the resulting AWS state through plain boto3.
"""
from __future__ import annotations

import pytest
from moto import mock_aws

from cli_helpers import Wildrydes, upload_model


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def wildrydes(aws, tmp_path) -> Wildrydes:
    return Wildrydes(tmp_path)


@pytest.fixture
def boot(wildrydes) -> dict:
    """The prerequisites stack (bucket + role), made by `wildrydes bootstrap`."""
    return wildrydes.json("bootstrap")


@pytest.fixture
def with_model(boot) -> dict:
    upload_model(boot["bucket"])
    return boot


@pytest.fixture
def deployed(wildrydes, with_model) -> dict:
    return wildrydes.json("deploy")
