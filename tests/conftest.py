"""Shared fixtures. The autouse ``aws_safety`` fixture guarantees that no test can
reach a real AWS account: dummy credentials, no profile, no config files, no
stray endpoint overrides, and a private wildrydes state directory."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "lambda"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAGEMAKER_REGRESSOR = FIXTURES / "sagemaker-linear-learner-regressor" / "model.tar.gz"


def _ship_source_subpackages() -> None:
    """Let ``python -m pytest`` from the repository root find what an install maps.

    ``python -m`` puts the working directory first on ``sys.path``, so
    ``wildrydes_cli`` is then the source folder, which lacks the two packages
    setup.cfg maps from other folders (``wildrydes_cli.function`` = lambda/,
    ``wildrydes_cli.templates`` = cloudformation/). Register them from those
    folders, exactly as an install lays them out; an install already has them.
    """
    import wildrydes_cli
    if Path(wildrydes_cli.__file__).resolve().parent != ROOT / "wildrydes_cli":
        return
    for name, folder in (("wildrydes_cli.function", LAMBDA_DIR), ("wildrydes_cli.templates", ROOT / "cloudformation")):
        try:
            if importlib.util.find_spec(name) is not None:
                continue
        except ImportError:
            pass
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


_ship_source_subpackages()


def isolate_from_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy credentials, no profile or config files, no endpoint overrides and a private state dir, set
    through ``monkeypatch``: ``aws_safety`` below for every test, and fixtures of a wider scope that must
    hold the same guarantee while they set up (``pytest.MonkeyPatch.context()``) call it too."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_PROFILE", "")
    monkeypatch.delenv("AWS_PROFILE")
    blank = tmp_path_factory.mktemp("aws-config")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(blank / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(blank / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("WILDRYDES_HOME", str(tmp_path_factory.mktemp("wildrydes-home")))
    monkeypatch.delenv("WILDRYDES_TARGET", raising=False)


@pytest.fixture(autouse=True)
def aws_safety(monkeypatch, tmp_path_factory):
    """Dummy credentials and a private state dir for every test."""
    isolate_from_aws(monkeypatch, tmp_path_factory)
    yield


class _SearchPaths(list):
    """A loader's search paths that each boto3 session adds its data folder to once, not once per session."""

    def append(self, path) -> None:
        if path not in self:
            super().append(path)


@pytest.fixture(scope="session", autouse=True)
def botocore_models_read_once():
    """One botocore data loader per data path for the test process, instead of one per session.

    Each in-process CLI run (tests/cli, deploy, observe, aws, realaws) makes new boto3 sessions, and each
    session's loader reads and parses the JSON model of every service it calls again: measured, ~40% of a
    deploy test's time. botocore's Loader already caches what it returns per instance and hands the same
    objects to every client of its session, so sharing it hands each session the data it would have read;
    what the product does in one process is unchanged."""
    import botocore.loaders
    import botocore.session

    loaders: dict[str | None, botocore.loaders.Loader] = {}

    def shared(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loader = botocore.loaders.create_loader(search_path_string)
            loader._search_paths = _SearchPaths(loader.search_paths)
            loaders[search_path_string] = loader
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        yield


@pytest.fixture(scope="session")
def aws_isolation():
    """``isolate_from_aws`` for a fixture of class or module scope (test modules do not import conftest)."""
    return isolate_from_aws


@pytest.fixture
def sagemaker_regressor_bytes() -> bytes:
    """The real SageMaker linear-learner artifact (regressor, 513 features)."""
    return SAGEMAKER_REGRESSOR.read_bytes()


@pytest.fixture(scope="session")
def moto_s3_url():
    """moto in server mode on a free loopback port, for the whole session (reset per test).

    The function reads S3 over real HTTP with its own signed GETs (lambda/s3get.py),
    which moto's in-process mock cannot intercept; its server can answer them."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def unchecked_archive():
    """Build a linear-learner archive the way a diverged training would save it: float32 weights
    and bias as given (inf included), which ``write_model_archive`` itself refuses to write."""
    import json

    from wildrydes_cli.training import sagemaker_archive as w

    def build(weights: list[float], bias: float, predictor_type: str = "regressor") -> bytes:
        params = w.params_bytes([("arg:fc0_weight", (len(weights), 1), weights), ("arg:fc0_bias", (1, 1), [bias])])
        extra = json.dumps(w.additional_params(predictor_type, 0.5, None)).encode()
        inner = w._zip([(f"{w.PREFIX}-0000.params", params),
                        (f"{w.PREFIX}-symbol.json", w.symbol_json(len(weights), predictor_type)),
                        ("manifest.json", json.dumps(w.MANIFEST).encode()), ("additional-params.json", extra)])
        return w._tar_gz(w.ALGO_MEMBER, inner)
    return build


# -- the CLI against moto in-process (tests/cli, deploy, observe, aws, realaws) ----------------
# Each drives the real ``wildrydes`` command group against moto's ``mock_aws`` and checks the
# resulting AWS state through plain boto3 (cli_helpers.py).


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def wildrydes(aws, tmp_path):
    from cli_helpers import Wildrydes
    return Wildrydes(tmp_path)


@pytest.fixture
def boot(wildrydes) -> dict:
    """The prerequisites stack (bucket + role), made by `wildrydes bootstrap`."""
    return wildrydes.json("bootstrap")


@pytest.fixture
def with_model(boot) -> dict:
    from cli_helpers import upload_model
    upload_model(boot["bucket"])
    return boot


@pytest.fixture
def deployed(wildrydes, with_model) -> dict:
    return wildrydes.json("deploy")
