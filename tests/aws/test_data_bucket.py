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
def test_the_scratchpad_when_its_bucket_exists_on_this_target(aws, tmp_path, line):
    import boto3
    boto3.client("s3").create_bucket(Bucket="from-scratchpad")
    settings = _settings(tmp_path)
    settings.scratchpad.write_text(f"note\n{line}\n")
    assert find_data_bucket(settings, aws_for(settings)) == "from-scratchpad"


def test_this_targets_prerequisites_stack_comes_before_the_scratchpad(aws, tmp_path, wildrydes):
    """The scratchpad is one file for both targets: a name it holds may be another target's bucket."""
    made = wildrydes.json("bootstrap")
    settings = _settings(tmp_path)
    settings.scratchpad.write_text("DataBucket: wildrydes-ml-mod1-3-databucket-recorded-on-local\n")
    assert find_data_bucket(settings, aws_for(settings)) == made["bucket"]


def test_a_recorded_bucket_that_is_not_on_this_target_is_not_used(aws, tmp_path):
    settings = _settings(tmp_path)
    settings.scratchpad.write_text("DataBucket: wildrydes-ml-mod1-3-databucket-recorded-on-local\n")
    assert find_data_bucket(settings, aws_for(settings)) is None
    with pytest.raises(NotFoundError, match="names no bucket that exists on target aws"):
        require_data_bucket(settings, aws_for(settings), "list")


def test_else_the_prerequisites_stack(aws, tmp_path, wildrydes):
    made = wildrydes.json("bootstrap")
    settings = _settings(tmp_path)
    settings.scratchpad.unlink()                      # bootstrap recorded it; forget that
    assert find_data_bucket(settings, aws_for(settings)) == made["bucket"]
