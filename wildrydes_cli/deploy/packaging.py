"""Build the Lambda deployment zip for an engine, and upload it under ``code/``.

Why it is built here rather than checked in: the zip must be exactly the
function's own modules (``lambda/``, shipped as ``wildrydes_cli.function``)
for the ``lean`` engine, a few tens of KB that run on the newest runtime; for
``mxnet`` it must also carry MXNet 1.9.1 and numpy < 1.24 built for Lambda's
platform (manylinux x86_64, CPython 3.11), pruned to fit Lambda's 250 MiB
unzipped limit, and self-contained: every shared library its ELF files need
is in the zip or on the manylinux2014 allowlist (``elfdeps``). The wheel set
is pinned exactly (``--no-deps``), so neither its size nor the urllib3 that
shadows the runtime's own botocore can drift. Zips are deterministic (sorted names, fixed timestamps), so
the same sources give the same CodeSha256 and a re-deploy changes nothing;
built zips are cached in the state directory keyed by a hash of their inputs.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

from wildrydes_cli.deploy import elfdeps
from wildrydes_cli.errors import UsageError, WildrydesError

LOG = logging.getLogger(__name__)

FUNCTION_PACKAGE = "wildrydes_cli.function"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024          # Lambda's hard limit for a zip package
RUNTIMES = {"lean": "python3.13", "mxnet": "python3.11"}
MEMORY_MB = {"lean": 128, "mxnet": 1024}            # mxnet imports ~200 MB of libraries
# Every wheel of the mxnet package, pinned (pip runs with --no-deps): mxnet imports requests at
# import time (mxnet/gluon/utils.py), so requests and its dependencies ship too. The zip comes
# first on Lambda's sys.path, so its urllib3 is also the one the runtime's boto3 gets: 1.26.x
# is inside every botocore release's urllib3 range (2.x is refused by botocore before 1.29).
MXNET_REQUIREMENTS = ("mxnet==1.9.1", "numpy==1.23.5", "requests==2.32.3", "urllib3==1.26.20",
                      "certifi==2024.8.30", "idna==3.10", "charset-normalizer==3.4.0", "graphviz==0.8.4")
# Wheels not installed, only searched for shared libraries the others need: scikit-learn's
# manylinux2014 wheel carries libgomp (auditwheel-renamed), which the mxnet wheel lacks.
LIBRARY_DONORS = ("scikit-learn==1.5.2",)
PIP_PLATFORM = ("--only-binary=:all:", "--platform", "manylinux2014_x86_64",
                "--python-version", "3.11", "--implementation", "cp")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# What a deployed function never needs: tests, docs, C headers, bytecode.
_PRUNE_DIRS = {"tests", "test", "__pycache__", "doc", "docs", "include", "benchmarks"}
_PRUNE_SUFFIXES = (".pyc", ".pyo", ".h", ".hpp", ".cuh", ".pyi", ".a")

Downloader = Callable[[list[str], Path], None]


@dataclass(frozen=True)
class Package:
    """A built zip on disk."""

    engine: str
    runtime: str
    path: Path
    sha256: str            # hex digest of the zip
    unzipped_bytes: int
    files: tuple[str, ...]

    @property
    def key(self) -> str:
        """Content-addressed S3 key: the same build uploads to the same key once."""
        return f"code/wildrydes-{self.engine}-{self.sha256[:16]}.zip"

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def function_sources() -> dict[str, bytes]:
    """The function's own modules: top-level ``*.py`` of lambda/, without ``__init__.py``."""
    root = resources.files(FUNCTION_PACKAGE)
    sources = {entry.name: entry.read_bytes() for entry in root.iterdir()
               if entry.is_file() and entry.name.endswith(".py") and entry.name != "__init__.py"}
    if "index.py" not in sources:
        raise WildrydesError("The function's index.py is missing from this install; reinstall wildrydes.")
    return dict(sorted(sources.items()))


def write_zip(entries: Iterable[tuple[str, bytes | Path]], dest: Path) -> tuple[int, tuple[str, ...]]:
    """Deterministic zip: sorted names, fixed time and mode. Returns (unzipped bytes, names)."""
    total = 0
    names = []
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, content in sorted(entries, key=lambda item: item[0]):
            data = content.read_bytes() if isinstance(content, Path) else content
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
            total += len(data)
            names.append(name)
    return total, tuple(names)


def _hash_inputs(engine: str, sources: dict[str, bytes], extra: Iterable[str] = ()) -> str:
    digest = hashlib.sha256(engine.encode())
    for name, data in sources.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()


def _finish(engine: str, tmp: Path, cached: Path, unzipped: int, names: tuple[str, ...]) -> Package:
    os.replace(tmp, cached)
    return _describe(engine, cached, unzipped, names)


def _describe(engine: str, path: Path, unzipped: int | None = None, names: tuple[str, ...] | None = None) -> Package:
    if unzipped is None or names is None:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            unzipped = sum(i.file_size for i in infos)
            names = tuple(i.filename for i in infos)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return Package(engine, RUNTIMES[engine], path, sha, unzipped, names)


def build(engine: str, cache_dir: Path, downloader: Downloader | None = None,
          limit: int = LAMBDA_UNZIPPED_LIMIT) -> Package:
    """The zip for ``engine``, from the cache when its inputs are unchanged."""
    if engine not in RUNTIMES:
        raise UsageError(f"Unknown engine {engine!r}: use lean or mxnet.")
    sources = function_sources()
    extra = MXNET_REQUIREMENTS + LIBRARY_DONORS + PIP_PLATFORM if engine == "mxnet" else ()
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / f"{engine}-{_hash_inputs(engine, sources, extra)[:24]}.zip"
    if cached.exists():
        LOG.debug("package cache hit %s", cached)
        return _describe(engine, cached)
    tmp = cache_dir / f".{cached.stem}.{os.getpid()}.tmp"   # per process: concurrent builds never clobber
    if engine == "lean":
        unzipped, names = write_zip(sources.items(), tmp)
        return _finish(engine, tmp, cached, unzipped, names)
    return _build_mxnet(sources, tmp, cached, downloader or pip_download, limit)


def pip_download(requirements: list[str], dest: Path) -> None:
    """Fetch manylinux CPython 3.11 wheels for Lambda's platform (x86_64)."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--no-deps", *PIP_PLATFORM, "-d", str(dest), *requirements]
    LOG.debug("running %s", command)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise WildrydesError("Could not download the mxnet engine's wheels (" + " / ".join(tail) + "). "
                             "Check your network access to PyPI, or deploy with --engine lean.")


def prune(root: Path) -> int:
    """Delete what a deployed function never imports; returns bytes removed."""
    removed = 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=True):
        for name in list(dirnames):
            if name in _PRUNE_DIRS:
                path = Path(dirpath) / name
                removed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
                shutil.rmtree(path)
                dirnames.remove(name)
        for name in filenames:
            if name.endswith(_PRUNE_SUFFIXES):
                path = Path(dirpath) / name
                removed += path.stat().st_size
                path.unlink()
    return removed


def tree_size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def _build_mxnet(sources: dict[str, bytes], tmp: Path, cached: Path, downloader: Downloader,
                 limit: int) -> Package:
    with tempfile.TemporaryDirectory(prefix="wildrydes-mxnet-") as work:
        wheels, site = Path(work) / "wheels", Path(work) / "site"
        wheels.mkdir()
        site.mkdir()
        downloader(list(MXNET_REQUIREMENTS + LIBRARY_DONORS), wheels)
        found = sorted(wheels.glob("*.whl"))
        if not any(w.name.lower().startswith("mxnet-") for w in found):
            raise WildrydesError("The download gave no mxnet wheel for manylinux x86_64 / CPython 3.11; "
                                 "deploy with --engine lean.")
        donors = [w for w in found if _is_donor(w)]
        for wheel in found:
            if wheel not in donors:
                with zipfile.ZipFile(wheel) as archive:
                    _safe_extract(archive, site)
        prune(site)
        bundle_libraries(site, donors)
        for name, data in sources.items():
            (site / name).write_bytes(data)
        size = tree_size(site)
        if size > limit:
            raise WildrydesError(
                f"The mxnet package is {size / 2**20:.0f} MiB unzipped, over Lambda's "
                f"{limit / 2**20:.0f} MiB limit even after pruning tests, docs and headers. "
                "Deploy with --engine lean (same predictions, a few tens of KB).")
        entries = [(p.relative_to(site).as_posix(), p) for p in site.rglob("*") if p.is_file()]
        unzipped, names = write_zip(entries, tmp)
    return _finish("mxnet", tmp, cached, unzipped, names)


def _is_donor(wheel: Path) -> bool:
    project = wheel.name.split("-", 1)[0].lower().replace("_", "-")
    return any(project == donor.split("==", 1)[0].lower() for donor in LIBRARY_DONORS)


def _renamed(soname: str) -> re.Pattern[str]:
    """``libgomp.so.1`` or auditwheel's copy of it, ``libgomp-a34b3233.so.1.0.0``."""
    stem, _, version = soname.partition(".so")
    return re.compile(rf"^{re.escape(stem)}(-[0-9a-f]{{8}})?\.so{re.escape(version)}(\..*)?$")


def bundle_libraries(site: Path, donors: Iterable[Path] = ()) -> list[str]:
    """Copy each library an ELF file needs but the tree lacks next to the first file needing it.

    Next to it because libmxnet.so carries ``RPATH $ORIGIN`` and glibc searches the
    RPATH of the whole loading chain (libgfortran.so.3 is loaded by libmxnet.so), so
    the copies load without LD_LIBRARY_PATH. Sources: the tree itself (numpy.libs has
    libquadmath under an auditwheel name), then the donor wheels' ``*.libs/`` folders;
    never the build host. Refuses when anything stays unresolved. Returns the copies made.
    """
    made: list[str] = []
    while True:   # a copied library may need another one: repeat until nothing new is found
        copied = 0
        for user, libs in elfdeps.unresolved(site).items():
            for soname in libs:
                dest = (site / user).parent / soname
                data = None if dest.exists() else _find_library(site, donors, soname)
                if data is not None:
                    dest.write_bytes(data)
                    made.append(dest.relative_to(site).as_posix())
                    copied += 1
        if not copied:
            break
    left = elfdeps.unresolved(site)
    if left:
        listed = "; ".join(f"{user} needs {', '.join(libs)}" for user, libs in sorted(left.items()))
        raise WildrydesError(f"The mxnet package would not load on Lambda: {listed} (neither in the "
                             "package nor a manylinux2014 system library). Deploy with --engine lean.")
    LOG.debug("bundled %s", made)
    return made


def _find_library(site: Path, donors: Iterable[Path], soname: str) -> bytes | None:
    pattern = _renamed(soname)
    for path in sorted(site.rglob("*")):
        if path.is_file() and pattern.match(path.name) and elfdeps.is_elf(path):
            return path.read_bytes()
    for wheel in donors:
        with zipfile.ZipFile(wheel) as archive:
            for name in sorted(archive.namelist()):
                folder, _, base = name.rpartition("/")
                if folder.endswith(".libs") and pattern.match(base):
                    return archive.read(name)
    return None


def _safe_extract(archive: zipfile.ZipFile, dest: Path) -> None:
    """Extract a wheel, refusing absolute paths and ``..`` (a wheel is downloaded, so it is input like any other)."""
    root = dest.resolve()
    for info in archive.infolist():
        target = (dest / info.filename).resolve()
        if info.filename.startswith("/") or not target.is_relative_to(root):
            raise WildrydesError(f"Refusing wheel member with an unsafe path: {info.filename}")
    archive.extractall(dest)


def upload(aws, bucket: str, package: Package) -> tuple[str, bool]:
    """Upload under ``code/`` unless that content is already there; returns (key, uploaded)."""
    if aws.object_exists(bucket, package.key):
        return package.key, False
    aws.upload_file(bucket, package.key, package.path)
    return package.key, True

