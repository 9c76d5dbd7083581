"""The dependency rule of ``wildrydes_cli/__init__.py``, read from the code's own imports.

Every ``import`` and ``from ... import`` in the package (at module level or inside a
function: a lazy import is still an arrow) is resolved to the layer it lands in, and
an arrow the rule does not allow fails with the file, the line and the rule it breaks.
``lambda/`` (the deployment zip's root) may import nothing of the CLI at all.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wildrydes_cli"

# What each layer may import besides itself and the ground (the root modules).
ALLOWED = {
    "cli": {"deploy", "observe", "training", "aws", "local", "function"},
    "deploy": {"aws", "function"},
    "observe": {"aws"},
    "training": {"aws"},
    "aws": {"local"},            # target.resolve starts the emulator; it signs with the local credentials
    "local": set(),
    "ground": {"function"},      # modelcheck reads models with the function's own modules
}
# Inside local/: the wire, the AWS APIs and invocation meet only in the composition modules.
LOCAL_ALLOWED = {
    "front": {"http"},
    "awsapi": {"http"},
    # moto's backends are read through the one adapter; functions run with their role's credentials
    "invoke": {"http", "awsapi.moto_backends", "awsapi.function_credentials"},
    # training jobs read S3 and IAM through the adapter; their writes go through callables server.py gives
    "training": {"http", "awsapi.moto_backends"},
}


# Folders that are part of the ground, not layers: the results every layer returns, split by concern.
GROUND_PACKAGES = {"results"}


def layer_of(module: str, package: Path = PACKAGE) -> str:
    """'wildrydes_cli.deploy.cleanup' -> 'deploy'; a root module (or one of GROUND_PACKAGES) -> 'ground'."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "wildrydes_cli":
        raise ValueError(module)
    if parts[1] in GROUND_PACKAGES:
        return "ground"
    if (package / parts[1]).is_dir() or parts[1] in ("function", "templates"):
        return parts[1]
    return "ground"


def module_name(path: Path, root: Path = ROOT) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, imported module) for every wildrydes_cli import in the file, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:   # `from wildrydes_cli.local import daemon` imports a module
                candidate = f"{node.module}.{alias.name}"
                is_module = (root / (candidate.replace(".", "/") + ".py")).exists() or \
                    (root / candidate.replace(".", "/")).is_dir()
                found.append((node.lineno, candidate if is_module else node.module))
    return [(line, name) for line, name in found if name == "wildrydes_cli" or name.startswith("wildrydes_cli.")]


def violations(root: Path = ROOT) -> list[str]:
    package = root / "wildrydes_cli"
    broken = []
    for path in sorted(package.rglob("*.py")):
        source = module_name(path, root)
        if source == "wildrydes_cli":
            continue
        layer = layer_of(source, package)
        for line, target in imports(path, root):
            if target == "wildrydes_cli":   # the version
                continue
            other = layer_of(target, package)
            where = f"{path.relative_to(root)}:{line} imports {target}"
            if other in (layer, "ground"):
                if layer == "local" and other == "local":
                    problem = _local_problem(source, target)
                    if problem:
                        broken.append(f"{where}: {problem}")
                continue
            if other not in ALLOWED[layer]:
                broken.append(f"{where}: layer {layer} may not import layer {other}")
    return broken


def _local_problem(source: str, target: str) -> str | None:
    inner = source.split(".")[2] if source.count(".") >= 3 else None   # front / awsapi / invoke, else composition
    if inner is None:
        return None
    rest = target.split(".", 2)[2] if target.count(".") >= 2 else ""
    if rest.startswith(inner + ".") or rest == inner:
        return None
    if any(rest == allowed or rest.startswith(allowed + ".") for allowed in LOCAL_ALLOWED[inner]):
        return None
    return f"local/{inner} may import only local/{', local/'.join(sorted(LOCAL_ALLOWED[inner]))} of local/"


def test_every_import_follows_the_dependency_rule():
    assert violations() == []


def test_the_deployed_function_imports_nothing_of_the_cli():
    for path in sorted((ROOT / "lambda").glob("*.py")):
        names = [name for _, name in imports(path)]
        assert names == [], f"{path.name} imports {names}: lambda/ is the zip's root and ships alone"


@pytest.mark.parametrize("source, target, allowed", [
    ("wildrydes_cli/deploy/x.py", "from wildrydes_cli.cli import main", False),
    ("wildrydes_cli/local/x.py", "from wildrydes_cli.aws import target", False),
    ("wildrydes_cli/x.py", "from wildrydes_cli.deploy import cleanup", False),
    ("wildrydes_cli/local/front/x.py", "from wildrydes_cli.local.invoke import runner", False),
    ("wildrydes_cli/cli/x.py", "from wildrydes_cli.deploy import cleanup", True),
    ("wildrydes_cli/local/invoke/x.py", "from wildrydes_cli.local.awsapi import moto_backends", True),
    ("wildrydes_cli/results/x.py", "from wildrydes_cli.deploy import cleanup", False),   # results/ is ground
    ("wildrydes_cli/local/front/x.py", "from wildrydes_cli.results import deploying", True),
])
def test_the_checker_sees_a_back_arrow(tmp_path, source, target, allowed):
    """The rule's checker itself: a planted import of each kind is caught (or let through)."""
    fake_root = tmp_path / "repo"
    for folder in ("cli", "deploy", "observe", "training", "aws", "local/front", "local/awsapi", "local/invoke",
                   "results"):
        (fake_root / "wildrydes_cli" / folder).mkdir(parents=True, exist_ok=True)
    for module in ("cli/main", "deploy/cleanup", "aws/target", "local/invoke/runner", "local/awsapi/moto_backends",
                   "results/deploying"):
        (fake_root / "wildrydes_cli" / f"{module}.py").write_text("")
    (fake_root / source).write_text(target + "\n")
    found = violations(fake_root)
    assert (found == []) is allowed, found


def test_local_names_training_only_as_the_algorithms_entry_point():
    """local/ runs the local Linear Learner as a process (SageMaker's container contract), never imports it:
    outside docstrings, the one string in local/ that names training/ is that entry point, in processes.py."""
    found = []
    for path in sorted((PACKAGE / "local").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                    and "wildrydes_cli.training" in node.value:
                found.append((path.relative_to(ROOT).as_posix(), node.value))
    assert found == [("wildrydes_cli/local/training/processes.py", "wildrydes_cli.training.algorithm")]
    from wildrydes_cli.local.training.processes import ALGORITHM
    from wildrydes_cli.training import algorithm
    assert ALGORITHM[1] == algorithm.MODULE
