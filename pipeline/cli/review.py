"""`matches`, `label` and `serve`: reviewing what followup found."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from pipeline.cli.common import EXIT_FAILED, config_option, die, settings_from
from pipeline.types import Match, MatchFilter

F = TypeVar("F", bound=Callable[..., Any])

LABELS = {"relevant": "relevant", "irrelevant": "irrelevant", "yes": "relevant", "no": "irrelevant"}


def parse_when(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time; a date alone means its midnight UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 date: {value!r}", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def filter_options(command: F) -> F:
    """The filters `matches` shares with the review page."""
    options = [
        click.option("--seed", help="Only this seed's matches."),
        click.option("--since", help="Matched at or after this ISO 8601 date."),
        click.option("--until", help="Matched before this ISO 8601 date."),
        click.option("--min-score", type=click.FloatRange(0, 1), help="Lowest score."),
        click.option("--kind", type=click.Choice(["direct", "thread"]), help="Direct or thread."),
        click.option(
            "--label", "label_", type=click.Choice(["relevant", "irrelevant", "unlabeled"])
        ),
        click.option("--feed", help="Feed URL or name."),
        click.option("--lang", help="ISO 639-1 language of the item."),
        click.option("--entity", help="An entity or topic of the profile that matched."),
        click.option("--search", "query", help="Text in the title or summary."),
        click.option("--limit", type=click.IntRange(1), help="At most this many."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_filter(**kw: object) -> MatchFilter:
    return MatchFilter(
        seed=kw.get("seed"),  # type: ignore[arg-type]
        since=parse_when(kw.get("since"), "--since"),  # type: ignore[arg-type]
        until=parse_when(kw.get("until"), "--until"),  # type: ignore[arg-type]
        min_score=kw.get("min_score"),  # type: ignore[arg-type]
        kind=kw.get("kind"),  # type: ignore[arg-type]
        label=kw.get("label_"),  # type: ignore[arg-type]
        feed=kw.get("feed"),  # type: ignore[arg-type]
        lang=kw.get("lang"),  # type: ignore[arg-type]
        entity=kw.get("entity"),  # type: ignore[arg-type]
        query=kw.get("query"),  # type: ignore[arg-type]
        limit=kw.get("limit"),  # type: ignore[arg-type]
    )


@click.command()
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@filter_options
@click.pass_context
def matches(ctx: click.Context, /, fmt: str, **filters: object) -> None:
    """List stored matches, newest first."""
    from pipeline.bootstrap import open_store

    settings = settings_from(ctx)
    chosen = build_filter(**filters)
    store = open_store(settings)
    try:
        found = store.list_matches(chosen)
    finally:
        store.engine.dispose()
    if fmt == "json":
        click.echo(json.dumps([m.to_json() for m in found], ensure_ascii=False, indent=1))
    elif fmt == "csv":
        click.echo(matches_csv(found), nl=False)
    else:
        print_table(found)


CSV_COLUMNS = (
    "id",
    "seed",
    "score",
    "kind",
    "label",
    "title",
    "url",
    "feed",
    "lang",
    "published",
    "matched_at",
    "reasons",
)


def matches_csv(found: list[Match]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for match in found:
        row = match.to_json()
        row["reasons"] = "; ".join(f"{r['name']}: {r['matched']}" for r in row["reasons"])
        writer.writerow([_csv_safe(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def _csv_safe(value: object) -> object:
    # A cell starting with = + - @ is a formula to spreadsheets: feed text must not run.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def print_table(found: list[Match]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, expand=True)
    for column, style in (
        ("id", "dim"),
        ("score", ""),
        ("kind", ""),
        ("label", ""),
        ("title", "bold"),
        ("feed", "dim"),
        ("matched", "dim"),
        ("why", ""),
    ):
        table.add_column(column, style=style or None, overflow="fold")
    for m in found:
        why = ", ".join(f"{r.name} ({r.matched})" for r in m.reasons[:4])
        table.add_row(
            str(m.id),
            f"{m.score:.2f}",
            m.kind,
            m.label or "",
            Text(m.title[:200]),
            Text(m.feed_name or m.feed),
            m.matched_at.strftime("%Y-%m-%d %H:%M"),
            Text(why),
        )
    Console().print(table)
    click.echo(f"{len(found)} matches")


@click.command()
@config_option
@click.argument("match_id", type=int)
@click.argument("verdict", type=click.Choice(sorted(LABELS)))
@click.pass_context
def label(ctx: click.Context, match_id: int, verdict: str) -> None:
    """Label a match relevant or irrelevant (stored with the time)."""
    from pipeline.bootstrap import open_store, utcnow

    store = open_store(settings_from(ctx))
    try:
        found = store.label_match(match_id, LABELS[verdict], utcnow())
    finally:
        store.engine.dispose()
    if not found:
        die(f"no match with id {match_id}", EXIT_FAILED)
    click.echo(f"match {match_id}: {LABELS[verdict]}")


@click.command()
@config_option
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the review page, /healthz and /metrics."""
    import os

    from pipeline.web.server import serve as run_server

    settings = settings_from(ctx)
    run_server(
        settings, os.environ, host=host or settings.serve.host, port=port or settings.serve.port
    )
