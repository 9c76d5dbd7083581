"""One rule for the data bucket, shared by deploy, train, models and cleanup."""
from __future__ import annotations

import pytest
from cli_helpers import aws_for

from wildrydes_cli.aws.data_bucket import find_data_bucket, require_data_bucket
from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.settings import Settings


def _settings(tmp_path) -> Settings:
    return Settings(target="aws", scratchpad=tmp_path / "scratchpad.txt")


def test_nothing_known_is_none_and_require_says_what_to_do(aws, tmp_path):
    settings = _settings(tmp_path)
    assert find_data_bucket(settings, aws_for(settings)) is None
    with pytest.raises(NotFoundError, match="no data bucket to list: stack wildrydes-ml-mod1-3 does not exist"):
        require_data_bucket(settings, aws_for(settings), "list")


@pytest.mark.parametrize("line", ["DataBucket: from-scratchpad", "bucket: from-scratchpad"])
def test_the_scratchpad_comes_first(aws, tmp_path, wildrydes, line):
    wildrydes.json("bootstrap")                       # a stack that names another bucket
    settings = _settings(tmp_path)
    settings.scratchpad.write_text(f"note\n{line}\n")
    assert find_data_bucket(settings, aws_for(settings)) == "from-scratchpad"


def test_else_the_prerequisites_stack(aws, tmp_path, wildrydes):
    made = wildrydes.json("bootstrap")
    settings = _settings(tmp_path)
    settings.scratchpad.unlink()                      # bootstrap recorded it; forget that
    assert find_data_bucket(settings, aws_for(settings)) == made["bucket"]
