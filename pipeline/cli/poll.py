"""`poll`, `run` and `db`: the commands that drive the pipeline."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from pipeline.cli.common import (
    config_option,
    secret_values,
    settings_from,
    setup_logging,
    warn,
)
from pipeline.types import PollReport

if TYPE_CHECKING:
    from pipeline.bootstrap import Runtime
    from pipeline.config import Settings


@click.command()
@config_option
@click.option("--once", is_flag=True, help="Poll every feed once, whatever its schedule.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Log each feed's poll.")
@click.pass_context
def poll(ctx: click.Context, once: bool, as_json: bool, verbose: bool) -> None:
    """Poll feeds, store new items, match them and store the matches.

    Without --once only the feeds that are due are polled.
    """
    with _without_cyclic_collection():
        report = _poll_command(ctx, once=once, as_json=as_json, verbose=verbose)
    _print_report(report, as_json)


def _poll_command(ctx: click.Context, *, once: bool, as_json: bool, verbose: bool) -> PollReport:
    from pipeline.bootstrap import build

    settings = settings_from(ctx)
    setup_logging("INFO" if verbose else "ERROR", json_lines=settings.log_json)
    runtime = build(settings, os.environ, polling=True, sending=_alerts_on(settings))
    try:
        runtime.service.prepare()
        with _progress(enabled=not as_json and sys.stderr.isatty()) as update:
            runtime.service.poller.on_progress = update
            import asyncio  # not at the top: `followup --help` needs no event loop

            return asyncio.run(_poll(runtime, force=once))
    finally:
        runtime.close_sync()


@contextmanager
def _without_cyclic_collection() -> Iterator[None]:
    """A poll is one batch, then the process exits: the cyclic collector would walk the
    ~50,000 objects of start-up again and again (~35 ms of an unchanged poll) to free a few
    hundred. Reference counting still frees everything else at once."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on an interactive terminal; nothing under --json or in a pipe."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("polling", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("poll", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _alerts_on(settings: Settings) -> bool:
    digest = settings.digest
    return digest.alert_score is not None and any(c.alerts for c in digest.channels)


async def _poll(runtime: Runtime, *, force: bool) -> PollReport:
    try:
        return await runtime.service.poll(force=force)
    finally:
        for client in runtime.clients:
            await client.aclose()


def _print_report(report: PollReport, as_json: bool) -> None:
    summary = report.to_json()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(
            f"{summary['feeds']} feeds: {summary['ok']} ok, {summary['not_modified']} not modified, "
            f"{summary['failed']} failed; {summary['new_items']} new items, "
            f"{summary['new_matches']} new matches"
        )
    for error in summary["errors"]:
        warn(f"feed {error['feed']}: {error['error']}")


@click.command()
@config_option
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the service: scheduled polling and digests, until SIGTERM or SIGINT.

    On SIGTERM or SIGINT running work finishes, claimed work is given back, and the exit
    status is 0. Several replicas may share one PostgreSQL database.
    """
    # Until the event loop takes the signals over, SIGTERM stops start-up like Ctrl-C does.
    signal.signal(signal.SIGTERM, _stop_starting)
    try:
        _run(ctx)
    except KeyboardInterrupt:
        warn("interrupted outside the running service (start-up or shut-down): stopped")


class _Stopped(KeyboardInterrupt):
    """SIGTERM during start-up or shut-down. A subclass, so every ``except KeyboardInterrupt``
    (ours, asyncio's) treats it as Ctrl-C; but not KeyboardInterrupt itself: CPython makes a
    process exit as killed by SIGINT, whatever its exit status, once a KeyboardInterrupt has
    left code run by ``exec`` (a dataclass being built, say), even if it was caught later."""


# Set by the start-up's SIGTERM handler. The exception it raises can be lost (raised inside a
# weakref callback or a __del__, Python prints it and goes on), so start-up checks this too.
_stop_requested: list[int] = []


def _stop_starting(signum: int, frame: object) -> None:
    _stop_requested.append(signum)
    raise _Stopped


def _stop_if_requested() -> None:
    if _stop_requested:
        raise _Stopped


def _run(ctx: click.Context) -> None:
    from pipeline.bootstrap import build, replica_name
    from pipeline.scheduler import Runner

    settings = settings_from(ctx)
    setup_logging(
        settings.log_level,
        json_lines=settings.log_json,
        replica=replica_name(),
        secrets=secret_values(settings, os.environ),
    )
    runtime = build(settings, os.environ, polling=True, sending=True)

    async def main() -> None:
        try:
            await Runner(runtime.service, stop_requested=lambda: bool(_stop_requested)).run()
        finally:
            for client in runtime.clients:
                await client.aclose()

    try:
        _stop_if_requested()
        runtime.service.prepare()
        _stop_if_requested()
        import asyncio

        asyncio.run(main())
    finally:
        runtime.close_sync()


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@config_option
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply the schema migrations (also done at every start)."""
    from pipeline.bootstrap import open_store
    from pipeline.storage.migrate import current

    store = open_store(settings_from(ctx))
    try:
        click.echo(f"database at revision {current(store.engine)}")
    finally:
        store.engine.dispose()
