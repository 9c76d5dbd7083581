"""keys show|list with --auth none (against moto): no key, said in words, never an empty value."""
from __future__ import annotations


def test_keys_show_without_a_key_says_there_is_none(wildrydes, deployed):
    shown = wildrydes("keys", "show", expect=3)
    assert "Stack wildrydes-ml-mod3-4 has no API key: it was deployed with --auth none" in shown.stderr
    assert "deploy --auth api-key" in shown.stderr
    assert wildrydes("keys", "show", "--value", expect=3).stdout == ""   # nothing for $(...) to take as a key
    listed = wildrydes.json("keys", "list")
    assert listed["keys"] == [] and "value" not in listed
    assert "has no API key (deployed with --auth none" in wildrydes("keys", "list", json_output=False).stdout
    assert wildrydes("keys", "rotate", expect=3).stderr.count("has no API key") == 1


def test_keys_before_any_deploy_say_nothing_is_deployed(wildrydes, boot):
    """Not "deployed with --auth none": there is no stack to have been deployed any way."""
    for command in (("keys", "show"), ("keys", "list"), ("keys", "rotate")):
        shown = wildrydes(*command, expect=3)
        assert "Nothing is deployed in stack wildrydes-ml-mod3-4 on this target and region, so it has no API key: " \
               "`wildrydes deploy --auth api-key` deploys the API with one." in " ".join(shown.stderr.split()), command
        assert "--auth none" not in shown.stderr
