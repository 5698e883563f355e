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


def _register() -> None:
    from pipeline.cli import delivery, labels, matching, poll, review, sources

    for command in (
        poll.poll,
        poll.run,
        poll.db,
        review.matches,
        review.label,
        review.serve,
        delivery.digest,
        delivery.deliveries,
        sources.feeds,
        matching.classify,
        matching.evaluate,
        matching.seed,
    ):
        cli.add_command(command)
    cli.add_command(labels.tune)


def main(argv: list[str] | None = None) -> None:
    _register()
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
