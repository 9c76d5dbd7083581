"""The ``wildrydes`` command line: the root group, every command registered on it, and the exit codes.

The commands live by concern in the ``*_commands.py`` modules beside this one
(``cli/__init__.py`` lists them): each parses its options, calls one function
from the core modules and hands the result to ``presentation.show``. Heavy
imports (boto3, rich, MXNet) happen inside the commands so that ``wildrydes
--help`` stays fast. Exit codes are decided here and nowhere else: a
``WildrydesError`` becomes its own exit code and a one-line message; anything
else is a bug, shown with a traceback only under ``--debug``.
"""
from __future__ import annotations

import contextlib
import sys

import click

from wildrydes_cli import __version__, notices
from wildrydes_cli.cli.deploy_commands import bootstrap_cmd, cleanup_cmd, deploy_cmd, package_cmd, scratchpad_cmd
from wildrydes_cli.cli.global_options import RootGroup
from wildrydes_cli.cli.keys_commands import keys_group
from wildrydes_cli.cli.local_commands import local_group
from wildrydes_cli.cli.model_commands import evaluate_cmd, history_cmd, models_cmd, promote_cmd, rollback_cmd
from wildrydes_cli.cli.observe_commands import logs_cmd, predict_cmd, status_cmd
from wildrydes_cli.cli.sagemaker_commands import jobs_cmd
from wildrydes_cli.cli.train_commands import train_cmd


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="wildrydes")
def cli() -> None:
    """Serve a SageMaker Linear Learner model from S3 in real time: API Gateway -> Lambda -> model.

    \b
    The Wild Rydes workshop's inference module, one command per step:
      wildrydes bootstrap   create the data bucket and role (modules 1-2)
      wildrydes train       train a model, publish it where SageMaker would
      wildrydes deploy      package the function, create the stack, wire the API
      wildrydes predict --distance 30 --healthpoints 30 --magicpoints 2500 \\
          --tmin 300 --tmax 333 --prcp 0
      wildrydes cleanup     delete what deploy made

    Runs on this machine with no AWS account by default (--target local). The global options
    below are also accepted after the command (wildrydes status --output json).
    """


cli.add_command(local_group)   # the emulator's own commands: local_commands.py
cli.add_command(jobs_cmd)      # SageMaker training jobs: sagemaker_commands.py
cli.add_command(evaluate_cmd)  # the models' own commands: model_commands.py
cli.add_command(models_cmd)
cli.add_command(history_cmd)
cli.add_command(rollback_cmd)
cli.add_command(promote_cmd)
cli.add_command(keys_group)    # the API key of a deploy --auth api-key: keys_commands.py
cli.add_command(train_cmd)     # train here or as a SageMaker job: train_commands.py
cli.add_command(scratchpad_cmd)  # the workshop's making and unmaking steps: deploy_commands.py
cli.add_command(bootstrap_cmd)
cli.add_command(deploy_cmd)
cli.add_command(package_cmd)
cli.add_command(cleanup_cmd)
cli.add_command(predict_cmd)   # reading what deploy made: observe_commands.py
cli.add_command(status_cmd)
cli.add_command(logs_cmd)


def _wants_json(args: list[str]) -> bool:
    """``--output json`` / ``--output=json`` anywhere on the line (the last one given wins, as in parsing)."""
    wanted = False
    for i, arg in enumerate(args):
        if arg.startswith("--output="):
            wanted = arg == "--output=json"
        elif arg == "--output" and i + 1 < len(args):
            wanted = args[i + 1] == "json"
    return wanted


USAGE_EXIT = 2   # click.UsageError and our UsageError: what was typed is wrong


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI and map errors to exit codes.

    Every failure leaves one line on stderr and, with ``--output json``, one
    JSON object ``{"error", "exit_code"}`` on stdout, so scripts always get JSON.
    """
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    with _debug_log(debug), notices.listening(notices.to_stderr):
        return _run(args, argv, debug)


@contextlib.contextmanager
def _debug_log(debug: bool):
    """``--debug``: wildrydes' log, including one line per AWS API call (aws/client.py), on stderr."""
    if not debug:
        yield
        return
    import logging
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug: %(message)s"))
    logger = logging.getLogger("wildrydes_cli")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _run(args: list[str], argv: list[str] | None, debug: bool) -> int:
    """Run the command line; every failure becomes its exit code here."""
    try:
        # Without standalone mode Click returns a command's ctx.exit(code) instead of raising it.
        returned = cli.main(args=argv, prog_name="wildrydes", standalone_mode=False)
    except click.exceptions.Abort:  # end of input or Ctrl-C at a prompt
        return _fail(args, "Aborted.", 130)
    except click.ClickException as exc:  # includes every WildrydesError
        if debug and exc.exit_code != USAGE_EXIT:   # a usage error is the user's line, never our stack
            import traceback
            traceback.print_exc()
        exc.show()
        return _fail(args, exc.format_message(), exc.exit_code, shown=True)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return _fail(args, "Interrupted.", 130)
    except Exception as exc:  # a bug: say so plainly, traceback only with --debug
        if debug:
            raise
        message = f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)"
        click.echo(f"Error: {message}", err=True)
        return _fail(args, message, 70, shown=True)
    return returned if isinstance(returned, int) else 0


def _fail(args: list[str], message: str, exit_code: int, shown: bool = False) -> int:
    """The one error path of the CLI edge: a line on stderr, and the JSON object scripts expect."""
    if not shown:
        click.echo(message, err=True)
    if _wants_json(args):
        from wildrydes_cli.cli.console import render_error
        render_error(None, json_output=True, message=message, exit_code=exit_code)
    return exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())