"""The mxnet package's self-containment check: DT_NEEDED read right (readelf as oracle), the
allowlist equal to auditwheel's manylinux2014 policy, missing libraries found in donor wheels."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wildrydes_cli.deploy import elfdeps, packaging
from wildrydes_cli.errors import WildrydesError

SSL_EXTENSION = Path(__import__("_ssl").__file__)


def _readelf_needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def test_allowlist_is_auditwheels_manylinux2014_policy():
    auditwheel = pytest.importorskip("auditwheel")
    policies = json.loads((Path(auditwheel.__file__).parent / "policy" / "manylinux-policy.json").read_text())
    policy = next(p for p in policies if "manylinux2014" in p.get("aliases", []))
    assert elfdeps.MANYLINUX2014_SYSTEM_LIBS == set(policy["lib_whitelist"])


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) is not installed")
@pytest.mark.parametrize("path", [Path(sys.executable).resolve(), SSL_EXTENSION], ids=["python", "_ssl"])
def test_needed_matches_readelf(path):
    assert elfdeps.needed(path) == _readelf_needed(path)


def test_non_elf_files_are_ignored(tmp_path):
    (tmp_path / "libfake.so").write_bytes(b"\0" * 100)
    (tmp_path / "x.py").write_text("print(1)\n")
    assert not elfdeps.is_elf(tmp_path / "libfake.so") and elfdeps.unresolved(tmp_path) == {}


def _ssl_tree(tmp_path: Path) -> tuple[Path, list[str]]:
    """A tree whose one ELF (CPython's _ssl) needs libraries outside the manylinux allowlist."""
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    shutil.copy(SSL_EXTENSION, site / "pkg" / SSL_EXTENSION.name)
    outside = [lib for lib in elfdeps.needed(SSL_EXTENSION) if lib not in elfdeps.MANYLINUX2014_SYSTEM_LIBS]
    assert outside, "CPython's _ssl links libssl/libcrypto"
    return site, outside


def test_unresolved_names_file_and_library(tmp_path):
    site, outside = _ssl_tree(tmp_path)
    assert elfdeps.unresolved(site) == {f"pkg/{SSL_EXTENSION.name}": outside}


def _host_library(soname: str) -> Path:
    # ldconfig lives in /sbin, which a user's PATH (or `env -i PATH=/usr/bin:/bin`) may leave out
    ldconfig = shutil.which("ldconfig") or next((p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig")
                                                 if Path(p).exists()), None)
    if ldconfig is None:
        pytest.skip("no ldconfig on this host to find the host's copy of the library")
    out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(soname + " ") and "x86-64" in line:
            return Path(line.rsplit("=> ", 1)[1].strip())
    pytest.skip(f"{soname} not found by ldconfig on this host")


def test_bundle_copies_from_a_donor_wheel_next_to_the_user(tmp_path):
    site, outside = _ssl_tree(tmp_path)
    donor = tmp_path / "donor-1.0-cp311-cp311-manylinux2014_x86_64.whl"
    with zipfile.ZipFile(donor, "w") as archive:
        for soname in outside:   # auditwheel's renaming: libssl-0123abcd.so.3
            stem, _, version = soname.partition(".so")
            archive.writestr(f"donor.libs/{stem}-0123abcd.so{version}", _host_library(soname).read_bytes())
    made = packaging.bundle_libraries(site, [donor])
    assert sorted(made) == sorted(f"pkg/{lib}" for lib in outside)
    assert elfdeps.unresolved(site) == {}


def test_bundle_refuses_what_it_cannot_find(tmp_path):
    site, outside = _ssl_tree(tmp_path)
    with pytest.raises(WildrydesError, match=rf"would not load on Lambda: pkg/{SSL_EXTENSION.name} needs "
                                             rf"{outside[0]}.*--engine lean"):
        packaging.bundle_libraries(site, [])
