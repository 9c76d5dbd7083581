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


def test_the_e2e_extra_is_part_of_the_test_extra():
    """.ci/run's second job installs [e2e] only: every requirement of it must be one [test] has, the same."""
    extras = SETUP["options.extras_require"]
    test = {r.name: str(r) for r in _requirements(extras["test"])}
    e2e = {r.name: str(r) for r in _requirements(extras["e2e"])}
    assert e2e and all(test.get(name) == line for name, line in e2e.items()), (e2e, test)
    assert {"pytest", "pytest-xdist", "awscli"} <= set(e2e)


def test_the_suite_runs_in_parallel_by_default():
    """docs/development.md: `pytest` runs one worker per core and keeps a file's tests on one worker."""
    addopts = SETUP["tool:pytest"]["addopts"].split()
    assert addopts[addopts.index("-n") + 1] == "auto" and addopts[addopts.index("--dist") + 1] == "loadfile"
    assert any(r.name == "pytest-xdist" for r in _requirements(SETUP["options.extras_require"]["test"]))


def test_ci_installs_the_newest_pythons_e2e_extra_in_the_background_and_stops_it():
    """docs/development.md: the second job's environment is installed while the first runs, [e2e] only, and a CI
    run that ends early (a failing test) stops that install by its pid."""
    script = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    lines = [line.strip() for line in script.splitlines() if not line.strip().startswith("#")]
    started = next(i for i, line in enumerate(lines) if line.startswith("setsid ") and "pip install -q '.[e2e]'" in line)
    assert lines[started + 1].endswith("&")
    started += 1
    first_job = next(i for i, line in enumerate(lines) if "pip install '.[test]'" in line and "pytest" in line)
    assert started < first_job, "the newest Python's install starts before the first job"
    assert lines[started + 1] == "installer=$!"
    assert "trap stop_installer EXIT" in lines and any('kill -- "-$installer"' in line for line in lines)
    assert any(line.startswith('if ! wait "$installer"') for line in lines), "the second job waits for its install"
