"""What `pip install .` asks for where users are: MXNet only where its wheel is (and tested), any Python >= 3.11."""
from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

SETUP = configparser.ConfigParser()
SETUP.read(Path(__file__).resolve().parents[1] / "setup.cfg")


def _requirements(text: str) -> list[Requirement]:
    return [Requirement(line.strip()) for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _wanted(requirements: list[Requirement], system: str, machine: str, python: str) -> dict[str, str]:
    env = {**default_environment(), "platform_system": system, "sys_platform": system.lower(),
           "platform_machine": machine, "python_version": python, "python_full_version": f"{python}.0"}
    return {r.name: str(r.specifier) for r in requirements if r.marker is None or r.marker.evaluate(env)}


@pytest.mark.parametrize("system, machine, python, mxnet", [
    ("Linux", "x86_64", "3.11", True),        # where it is tested: installed by default
    ("Darwin", "arm64", "3.11", False),       # Apple Silicon: no wheel exists
    ("Darwin", "x86_64", "3.11", False),      # a wheel exists: the [mxnet] extra
    ("Linux", "aarch64", "3.11", False),
    ("Linux", "x86_64", "3.12", False),       # numpy < 1.24 has no wheels past 3.11
    ("Linux", "x86_64", "3.14", False),
])
def test_mxnet_only_where_it_installs(system, machine, python, mxnet):
    wanted = _wanted(_requirements(SETUP["options"]["install_requires"]), system, machine, python)
    assert ("mxnet" in wanted) is mxnet
    assert "numpy" in wanted and "boto3" in wanted and "click" in wanted


def test_the_mxnet_extra_asks_for_it_on_311_only():
    extra = _requirements(SETUP["options.extras_require"]["mxnet"])
    assert "mxnet" in _wanted(extra, "Darwin", "x86_64", "3.11")
    assert "mxnet" not in _wanted(extra, "Darwin", "x86_64", "3.13")


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13", "3.14", "3.15"])
def test_no_upper_bound_on_python(python):
    assert python in SpecifierSet(SETUP["metadata"].get("python_requires") or SETUP["options"]["python_requires"])


def test_the_classifiers_name_the_tested_versions():
    classifiers = SETUP["metadata"]["classifiers"]
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert "3.14" not in classifiers        # not tested here yet (docs/development.md)


def test_every_package_of_the_source_tree_is_installed():
    """`pip install .` installs only the packages setup.cfg lists: a package folder missing there works in an
    editable install and is absent from a real one (`No module named ...` at the first command)."""
    root = Path(__file__).resolve().parents[1]
    listed = {line.strip() for line in SETUP["options"]["packages"].splitlines() if line.strip()}
    in_tree = {".".join(init.parent.relative_to(root).parts) for init in (root / "wildrydes_cli").rglob("__init__.py")}
    mapped = {f"wildrydes_cli.{name}" for name in ("function", "templates")}   # package_dir maps these folders
    assert in_tree - listed == set(), "add these to [options] packages in setup.cfg"
    assert listed - in_tree - mapped == set(), "setup.cfg lists packages that do not exist"


def test_the_suite_runs_in_parallel_by_default():
    """docs/development.md: `pytest` runs one worker per core and keeps a file's tests on one worker."""
    addopts = SETUP["tool:pytest"]["addopts"].split()
    assert addopts[addopts.index("-n") + 1] == "auto" and addopts[addopts.index("--dist") + 1] == "loadfile"
    assert any(r.name == "pytest-xdist" for r in _requirements(SETUP["options.extras_require"]["test"]))
