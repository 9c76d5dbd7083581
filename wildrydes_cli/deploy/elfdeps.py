"""Which shared libraries a deployment tree needs that neither it nor Lambda's image provides.

Why: Lambda's Python images are minimal. A library the zip links against
(``DT_NEEDED``) loads only if the zip carries it or the image is guaranteed to
have it; the guarantee is the manylinux2014 allowlist of system libraries
(PEP 599; auditwheel's policy data is the reference, and a test holds the copy
below equal to it). MXNet 1.9.1's wheel links ``libgomp.so.1`` and its bundled
``libgfortran.so.3`` links ``libquadmath.so.0``, neither of which is on that
list nor in the wheel: on a Debian host both happen to be installed, on Lambda
``import mxnet`` fails. pyelftools parses the ELF files (no hand-written
parser).
"""
from __future__ import annotations

import logging
from pathlib import Path

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

LOG = logging.getLogger(__name__)

# auditwheel's policy "manylinux_2_17" (alias manylinux2014), lib_whitelist.
MANYLINUX2014_SYSTEM_LIBS = frozenset({
    "libatomic.so.1", "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libanl.so.1", "libdl.so.2",
    "librt.so.1", "libc.so.6", "libnsl.so.1", "libutil.so.1", "libpthread.so.0", "libX11.so.6",
    "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6", "libGL.so.1", "libgobject-2.0.so.0",
    "libgthread-2.0.so.0", "libglib-2.0.so.0", "libresolv.so.2", "libexpat.so.1", "libz.so.1",
})
# The dynamic loader itself is always there (auditwheel exempts ld-linux* the same way).
LOADERS = frozenset({"ld-linux-x86-64.so.2"})

_ELF_MAGIC = b"\x7fELF"


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == _ELF_MAGIC
    except OSError:
        return False


def needed(path: Path) -> list[str]:
    """The file's DT_NEEDED entries, in order (empty for an ELF without a dynamic section)."""
    with open(path, "rb") as handle:
        elf = ELFFile(handle)
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                return [tag.needed for tag in section.iter_tags()  # type: ignore[attr-defined]
                        if tag.entry.d_tag == "DT_NEEDED"]
    return []


def unresolved(root: Path) -> dict[str, list[str]]:
    """For each ELF file under ``root`` (by relative path), the libraries it needs that are
    neither a file of that name in the tree nor a manylinux2014 system library."""
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()]
    names = {p.name for p in files}
    allowed = MANYLINUX2014_SYSTEM_LIBS | LOADERS | names
    missing: dict[str, list[str]] = {}
    for path in files:
        if not is_elf(path):
            continue
        gaps = [lib for lib in needed(path) if lib not in allowed]
        if gaps:
            missing[path.relative_to(root).as_posix()] = gaps
    LOG.debug("unresolved libraries under %s: %s", root, missing)
    return missing
