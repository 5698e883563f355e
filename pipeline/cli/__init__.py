"""The `followup` command line. Tracebacks stop here: errors become one line and an exit code.

ConfigError and usage errors exit 2; other PipelineErrors exit 1; anything else is a bug and
shows its traceback.
"""

from __future__ import annotations

import sys

import click

from pipeline import __version__
from pipeline.cli.common import EXIT_FAILED, EXIT_USAGE, config_option, one_line
from pipeline.errors import ConfigError, InputError, PipelineError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.version_option(__version__, prog_name="followup")
def cli() -> None:
    """followup: track the follow-up coverage of a news story across feeds and languages."""


# Which module holds each command: a command imports its own module only (the others cost
# start-up time: the matcher, the web app), and `--help` or an unknown name imports them all.
COMMANDS = {
    "poll": "poll",
    "run": "poll",
    "db": "poll",
    "matches": "review",
    "label": "review",
    "serve": "review",
    "digest": "delivery",
    "deliveries": "delivery",
    "feeds": "sources",
    "classify": "matching",
    "evaluate": "matching",
    "seed": "matching",
    "tune": "labels",
}


def _register(names: list[str] | None = None) -> None:
    """Add the commands ``names`` (every command when None) to the group."""
    import importlib

    for name in COMMANDS if names is None else names:
        module = importlib.import_module(f"pipeline.cli.{COMMANDS[name]}")
        cli.add_command(getattr(module, name))


def _command_named(argv: list[str]) -> str | None:
    """The subcommand in ``argv`` when it is a known one and no help is asked for."""
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)
        elif arg.startswith("--config="):
            continue
        elif arg.startswith("-"):
            return None  # --help, --version, or a mistake: the group needs every command
        else:
            return arg if arg in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> None:
    """The ``followup`` program; ``argv`` given (tests), the process goes on afterwards."""
    try:
        _dispatch(argv)
    finally:
        if argv is None:
            _skip_exit_collection()


def _skip_exit_collection() -> None:
    """The interpreter's shut-down runs full garbage collections over every object still
    alive (~50,000 after a poll): ~50 ms, a tenth of an unchanged poll, to free memory the
    process gives back anyway. Frozen objects are left out of them; everything the command
    opened is closed by then, explicitly."""
    import gc

    gc.freeze()


def _dispatch(argv: list[str] | None) -> None:
    name = _command_named(sys.argv[1:] if argv is None else argv)
    _register([name] if name else None)
    try:
        cli.main(args=argv, prog_name="followup", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("followup: aborted", err=True)
        sys.exit(EXIT_FAILED)
    except click.ClickException as exc:
        click.echo(f"followup: {one_line(exc.format_message())}", err=True)
        sys.exit(EXIT_USAGE)
    except (ConfigError, InputError) as exc:
        click.echo(f"followup: {one_line(str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    except PipelineError as exc:
        click.echo(f"followup: {one_line(str(exc))}", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        sys.exit(130)
