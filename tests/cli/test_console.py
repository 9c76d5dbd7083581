"""Console: one JSON object with --output json, progress on stderr, colour rules; target resolution."""
from __future__ import annotations

import io
import json

import pytest

from wildrydes_cli.aws import target
from wildrydes_cli.cli.console import Console, color_enabled
from wildrydes_cli.errors import LocalTargetError
from wildrydes_cli.settings import Settings


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_result_is_one_object_and_progress_goes_to_stderr():
    out, err = io.StringIO(), io.StringIO()
    console = Console(json_output=True, out=out, err=err)
    with console.step("Package") as note:
        note["detail"] = "12 KB"
    console.result({"invoke_url": "https://x/prod/"}, lambda c: c.line("text!"))
    assert json.loads(out.getvalue()) == {"invoke_url": "https://x/prod/"}
    assert "Package" in err.getvalue() and "12 KB" in err.getvalue()


def test_text_result_has_no_escape_codes_when_not_a_tty():
    out = io.StringIO()
    Console(out=out, err=io.StringIO()).result({"score": 0.5, "label": None})
    assert "\x1b[" not in out.getvalue() and "score" in out.getvalue() and "label  -" in out.getvalue()


def test_colour_rules(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert color_enabled(Tty()) is True
    assert color_enabled(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert color_enabled(Tty()) is False


def test_failed_step_is_reported_and_reraised():
    err = io.StringIO()
    with pytest.raises(ValueError):
        with Console(out=io.StringIO(), err=err).step("Upload"):
            raise ValueError("boom")
    assert "failed" in err.getvalue()


def test_resolve_aws_is_the_settings_as_they_are():
    settings = Settings(target="aws")
    resolved = target.resolve(settings)
    assert resolved.settings is settings and resolved.endpoint_url is None and not resolved.may_bootstrap


def test_resolve_local_uses_the_daemon(monkeypatch):
    from wildrydes_cli.local import daemon
    monkeypatch.setattr(daemon, "ensure_running", lambda settings: "http://127.0.0.1:4999")
    resolved = target.resolve(Settings(target="local"))
    assert resolved.endpoint_url == "http://127.0.0.1:4999" and resolved.settings.endpoint_url == resolved.endpoint_url
    assert resolved.invoke_url("abc") == "http://127.0.0.1:4999/restapis/abc/prod/_user_request_/"
    # locally the emulator's URL is ours even when a stack output says otherwise
    assert resolved.invoke_url("abc", stack_url="https://x/") == resolved.invoke_url("abc")
    aws = target.resolve(Settings(target="aws", region="eu-west-1"))
    assert aws.invoke_url("abc") == "https://abc.execute-api.eu-west-1.amazonaws.com/prod/"
    assert aws.invoke_url("abc", stack_url="https://abc.execute-api.cn/prod/") == "https://abc.execute-api.cn/prod/"


def test_resolve_local_without_daemon_module(monkeypatch):
    import sys

    import wildrydes_cli.local
    monkeypatch.setitem(sys.modules, "wildrydes_cli.local.daemon", None)   # import fails
    monkeypatch.delattr(wildrydes_cli.local, "daemon", raising=False)
    with pytest.raises(LocalTargetError, match="--target aws"):
        target.resolve(Settings(target="local"))


def test_help_imports_nothing_heavy():
    """`wildrydes --help` must stay fast: no boto3, rich, MXNet or core modules at import."""
    import subprocess
    import sys
    code = ("import sys\nfrom wildrydes_cli.cli.main import main\nmain(['--help'])\n"
            "heavy = [m for m in ('boto3', 'botocore', 'rich', 'mxnet', 'numpy', 'moto', 'wildrydes_cli.aws.client') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr
    assert "deploy" in done.stdout and "predict" in done.stdout and "cleanup" in done.stdout


def test_region_from_profile(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-1\n[profile work]\nregion = ap-southeast-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert target.profile_region(None) == "eu-west-1"
    assert target.profile_region("work") == "ap-southeast-2"
    assert target.profile_region("missing") is None
    from click.testing import CliRunner

    from wildrydes_cli.cli.main import cli
    seen = {}

    def resolve(settings):   # record what the command would act on, then stop
        seen["s"] = settings
        raise LocalTargetError("stop here")
    monkeypatch.setattr(target, "resolve", resolve)
    result = CliRunner().invoke(cli, ["--target", "aws", "--profile", "work", "status"])
    assert result.exit_code == LocalTargetError.exit_code
    assert seen["s"].region == "ap-southeast-2" and seen["s"].profile == "work"


RIDE = ["--distance", "1", "--healthpoints", "1", "--magicpoints", "1", "--tmax", "1", "--tmin", "1", "--prcp", "1"]


@pytest.mark.parametrize("debug", [False, True])
def test_errors_at_the_edge_traceback_only_with_debug(capsys, debug):
    from wildrydes_cli.cli.main import main
    argv = (["--debug"] if debug else []) + ["--target", "aws", "predict", *RIDE, "--url", "http://127.0.0.1:9/"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Error: Could not reach http://127.0.0.1:9/" in err
    assert ("Traceback (most recent call last)" in err) is debug


@pytest.mark.parametrize("argv", [
    ["predict", *RIDE, "--url", "ftp://nowhere"],       # our UsageError
    ["predict", "--no-such-option"],                    # Click's "No such option"
    ["status", "--output", "yaml"],                     # Click's bad choice, in a global option after the command
    ["deploy", "--engine"],                             # an option without its value
])
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_usage_error_never_prints_a_traceback_debug_or_not(capsys, argv, where):
    from wildrydes_cli.cli.main import main
    line = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    assert main(line) == 2
    err = capsys.readouterr().err
    assert "Error:" in err and "Traceback" not in err, err


def test_progress_bar_draws_on_stderr_only_even_in_json_mode():
    out, err = io.StringIO(), io.StringIO()
    console = Console(json_output=True, out=out, err=err)
    with console.progress("training", total=3, enabled=True) as advance:
        for epoch in range(1, 4):
            advance(epoch, 3, loss=0.5 / epoch)
    console.result({"ok": True})
    assert json.loads(out.getvalue()) == {"ok": True}          # stdout: the one JSON object, no bar
    drawn = err.getvalue()
    assert "training" in drawn and "3/3" in drawn and "loss 0.1667" in drawn


def test_progress_bar_is_off_when_stderr_is_not_a_terminal():
    out, err = io.StringIO(), io.StringIO()
    with Console(out=out, err=err).progress("breeds", total=2) as advance:
        advance(1, 2)
        advance(2, 2)
    assert out.getvalue() == "" and err.getvalue() == ""


def test_progress_bar_draws_by_default_on_a_terminal(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    err = Tty()
    with Console(out=io.StringIO(), err=err).progress("training", total=2) as advance:
        advance(2, 2)
    assert "training" in err.getvalue() and "2/2" in err.getvalue() and "\x1b[3" not in err.getvalue()


KEY = "breeds/unicorn-breed-0001/linear-learner-2026-12-03-09-41-12-345/output/model.tar.gz"   # 84 characters


def test_a_table_too_wide_for_80_columns_becomes_one_block_per_row(monkeypatch):
    """Model keys are what a rollback needs and metrics what `models` is for: when no box holds every
    column whole (the key) or wrapped (the rest), each row is a block, the key on a line of its own
    and whole, every other column named and wrapped at spaces; no column is left out."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    out, err = Tty(), io.StringIO()
    rows = [["breed-0001", KEY, "2026-12-03T09:41:12Z", "auc 0.998, accuracy 0.981 on 2,000 validation rows "
                                                        "(of 20,000 synthetic) (flagged)"],
            ["breed-0002", KEY.replace("0001", "0002"), None, ""]]
    Console(out=out, err=err).table(["breed", "newest model", "trained at", "validation"], rows, title="t",
                                    keep=["newest model"])
    assert out.getvalue() == (
        "t\n"
        "\n"
        f"{KEY}\n"
        "  breed       breed-0001\n"
        "  trained at  2026-12-03T09:41:12Z\n"
        "  validation  auc 0.998, accuracy 0.981 on 2,000 validation rows (of 20,000\n"
        "              synthetic) (flagged)\n"
        "\n"
        f"{KEY.replace('0001', '0002')}\n"
        "  breed       breed-0002\n"
        "  trained at  -\n")                # None shows as "-"; an empty cell is not listed
    assert err.getvalue() == ""
    short = "breeds/b-1/linear-learner-2026-12-03-09-41-12-345/output/m.gz"   # 62: a box still fits 80
    out = Tty()
    Console(out=out, err=err).table(["breed", "newest model"], [["b-1", short]], keep=["newest model"])
    drawn = out.getvalue()
    assert short in drawn and "…" not in drawn and "│" in drawn
    assert all(len(line) <= 80 for line in drawn.splitlines())


def test_a_piped_table_is_plain_and_complete():
    out = io.StringIO()
    long_url = "http://127.0.0.1:4566/restapis/" + "a" * 120 + "/prod/_user_request_/"
    Console(out=out, err=io.StringIO()).table(["name", "url"], [["x", long_url], ["longer name", None]],
                                              title="Title", keep=["url"])
    assert out.getvalue() == ("Title\n"
                              "name         url\n"
                              f"x            {long_url}\n"
                              "longer name  -\n")


def test_box_width_counts_kept_columns_whole_and_the_others_by_their_longest_word():
    from wildrydes_cli.cli.console import box_width
    cells = [["b", "k" * 60, "2026-12-03", "auc 0.9"]]
    columns = ["breed", "key", "trained", "validation"]
    # 3 per column and 1: key 63, breed 8, trained 13 (its longest word), validation 13
    assert box_width(columns, cells, {"key"}) == 98
    assert box_width(columns, cells, set()) == 98           # the key's one word is as wide either way
    assert box_width(columns, [["b", "k " * 30, "x", "y"]], set()) == 8 + 6 + 10 + 13 + 1


def test_the_bar_says_what_it_waits_for_until_its_first_step(monkeypatch):
    """`train` checks the target and reads the rides before its first epoch: until the first advance
    (the trainer's start, epoch 0) the bar is labelled `preparing`, then `training`."""
    monkeypatch.setenv("NO_COLOR", "1")
    err = Tty()
    with Console(out=io.StringIO(), err=err).progress("training", total=2, waiting="preparing"):
        pass                                               # nothing started: the last frame still waits
    assert "preparing" in err.getvalue() and "training" not in err.getvalue()
    err = Tty()
    with Console(out=io.StringIO(), err=err).progress("training", total=2, waiting="preparing") as advance:
        advance(0, 2)
        advance(2, 2)
    last = err.getvalue().rsplit("\r", 1)[-1]
    assert "training" in last and "2/2" in last and "preparing" not in last
