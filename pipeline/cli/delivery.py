"""`digest` and `deliveries`: rendering, sending and auditing digests."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.common import EXIT_FAILED, config_option, settings_from, setup_logging, warn
from pipeline.errors import InputError
from pipeline.types import ChannelOutcome

if TYPE_CHECKING:
    from pipeline.bootstrap import Runtime


@click.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Render to --out; send nothing, mark nothing.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write.")
@click.option("--send", is_flag=True, help="Deliver to every channel what it has not received.")
@click.pass_context
def digest(ctx: click.Context, dry_run: bool, out: Path | None, send: bool) -> None:
    """Render the pending digest (--dry-run --out FILE) or deliver it (--send)."""
    if dry_run == send:
        raise click.UsageError("give exactly one of --dry-run or --send")
    if dry_run and out is None:
        raise click.UsageError("--dry-run needs --out FILE")
    from pipeline.bootstrap import build

    settings = settings_from(ctx)
    setup_logging(settings.log_level if send else "WARNING", json_lines=settings.log_json)
    runtime = build(settings, os.environ, sending=send)
    try:
        if dry_run:
            assert out is not None
            html = runtime.service.dry_run_digest()
            try:
                out.write_text(html, encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write: {exc.strerror or exc}", str(out)) from exc
            click.echo(f"digest written to {out}")
            return
        import asyncio  # not at the top: `followup --help` needs no event loop

        outcomes = asyncio.run(_send(runtime))
    finally:
        runtime.close_sync()
    failed = False
    for outcome in outcomes:
        click.echo(
            f"{outcome.channel}: {outcome.batches_sent} batches, {outcome.matches_sent} matches sent"
        )
        for error in outcome.errors:
            failed = True
            warn(error)
    if failed:
        sys.exit(EXIT_FAILED)


async def _send(runtime: Runtime) -> list[ChannelOutcome]:
    try:
        return await runtime.service.send_digests()
    finally:
        for client in runtime.clients:
            await client.aclose()


@click.group()
def deliveries() -> None:
    """The delivery outbox."""


@deliveries.command("list")
@config_option
@click.option("--status", type=click.Choice(["pending", "sent"]), help="Only these.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.pass_context
def list_deliveries(ctx: click.Context, status: str | None, limit: int) -> None:
    """Every batch with its attempts: what went where, what failed and when it retries."""
    from pipeline.bootstrap import open_store

    store = open_store(settings_from(ctx))
    try:
        for batch in store.list_batches(limit=limit, status=status):
            state = (
                "sent"
                if batch.status == "sent"
                else f"pending (next try {batch.next_attempt_at:%Y-%m-%d %H:%M:%S}Z)"
            )
            click.echo(
                f"{batch.id}  {batch.channel}  {batch.kind}  {len(batch.match_ids)} matches  "
                f"{batch.attempts} attempts  {state}"
            )
            for at, ok, error in store.attempts(batch.id):
                click.echo(
                    f"    {at:%Y-%m-%d %H:%M:%S}Z  {'ok' if ok else 'failed: ' + (error or '')}"
                )
    finally:
        store.engine.dispose()
