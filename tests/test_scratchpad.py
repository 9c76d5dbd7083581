"""Properties of the scratchpad writer: idempotent, keeps every line it does not own."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from wildrydes_cli import scratchpad

OWNED = ("DataBucket", "DataProcessingExecutionRole")
other_lines = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30)
                       .filter(lambda line: not any(line.strip().startswith(k) for k in OWNED)), max_size=6)
values = st.fixed_dictionaries({k: st.from_regex(r"[a-z0-9][a-z0-9-]{2,20}", fullmatch=True) for k in OWNED})


@settings(max_examples=60, deadline=None)
@given(lines=other_lines, first=values, second=values)
def test_write_is_idempotent_and_keeps_other_lines(lines, first, second):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scratchpad.txt"
        if lines:
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        scratchpad.write(path, first)
        scratchpad.write(path, second)
        once = path.read_text(encoding="utf-8")
        assert scratchpad.write(path, second) is False
        assert path.read_text(encoding="utf-8") == once
        text_lines = once.splitlines()
        assert [t for t in text_lines if not any(t.startswith(k + ":") for k in OWNED)] == lines
        for key in OWNED:
            assert text_lines.count(f"{key}: {second[key]}") == 1
        assert {k: v for k, v in scratchpad.read(path).items() if k in OWNED} == second
