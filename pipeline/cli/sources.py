"""`feeds`: list, add (with autodiscovery), remove, import and export OPML, suggest."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from pipeline.cli.common import EXIT_FAILED, config_option, die, settings_from, warn
from pipeline.errors import FetchError, InputError
from pipeline.types import FeedHealth


@click.group()
def feeds() -> None:
    """The feeds followup polls: the config's and those added here, side by side."""


def _store(ctx: click.Context):  # type: ignore[no-untyped-def]
    from pipeline.bootstrap import open_store

    settings = settings_from(ctx)
    store = open_store(settings)
    store.sync_config_feeds(settings.feeds, datetime.now(UTC))
    return store


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if abs(seconds) < 90:
        return f"{seconds:+.0f}s".replace("+", "in " if seconds < 0 else "").replace("-", "")
    minutes = seconds / 60
    if abs(minutes) < 90:
        return f"{abs(minutes):.0f}m {'ago' if minutes > 0 else 'from now'}"
    hours = minutes / 60
    return f"{abs(hours):.1f}h {'ago' if hours > 0 else 'from now'}"


@feeds.command("list")
@config_option
@click.option("--failing", is_flag=True, help="Only feeds whose last poll failed.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def list_feeds(ctx: click.Context, failing: bool, fmt: str) -> None:
    """Each feed's health: last success, last error, consecutive failures, items per day."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    store = _store(ctx)
    now = datetime.now(UTC)
    try:
        health = [f for f in store.feed_health(now) if f.consecutive_failures or not failing]
    finally:
        store.engine.dispose()
    if fmt == "json":
        click.echo(json.dumps([_feed_json(f) for f in health], ensure_ascii=False, indent=1))
        return
    table = Table(expand=True)
    for column in ("feed", "last success", "next poll", "failures", "items/day", "last error"):
        table.add_column(column, overflow="fold")
    for feed in health:
        state = "retired (410)" if feed.retired else _ago(feed.next_poll_at, now)
        table.add_row(
            Text(feed.name or feed.url) + Text(f"\n{feed.url}", style="dim")
            if feed.name
            else Text(feed.url),
            _ago(feed.last_success_at, now),
            state,
            str(feed.consecutive_failures),
            f"{feed.items_per_day:g}",
            Text((feed.last_error or "")[:200], style="red"),
        )
    Console().print(table)


def _feed_json(feed: FeedHealth) -> dict[str, object]:
    def stamp(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "url": feed.url,
        "name": feed.name,
        "last_success": stamp(feed.last_success_at),
        "last_error": feed.last_error,
        "consecutive_failures": feed.consecutive_failures,
        "failing_since": stamp(feed.failing_since),
        "next_poll": None if feed.retired else stamp(feed.next_poll_at),
        "items_per_day": feed.items_per_day,
        "retired": feed.retired,
    }


@feeds.command()
@config_option
@click.argument("url")
@click.option("--name", help="Display name.")
@click.option("--no-discover", is_flag=True, help="Add the URL as it is, without looking at it.")
@click.pass_context
def add(ctx: click.Context, url: str, name: str | None, no_discover: bool) -> None:
    """Add a feed; a web page's advertised feed is found by autodiscovery."""
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(f"not an http(s) URL: {url!r}", param_hint="URL")
    settings = settings_from(ctx)
    import asyncio  # not at the top: `followup --help` needs no event loop

    found = [url] if no_discover else asyncio.run(_discover(settings, url))
    if not found:
        die(f"no feed found at {url}", EXIT_FAILED)
    store = _store(ctx)
    try:
        added = store.add_feed(found[0], name, datetime.now(UTC))
    finally:
        store.engine.dispose()
    click.echo(f"{'added' if added else 'already there'}: {found[0]}")


async def _discover(settings: object, url: str) -> list[str]:
    from pipeline.bootstrap import fetch_limits
    from pipeline.fetching import Fetcher
    from pipeline.parsing import discover_feeds

    async with Fetcher(fetch_limits(settings)) as fetcher:  # type: ignore[arg-type]
        try:
            return await fetcher.discover(url, discover_feeds, check_ssrf=True)
        except FetchError as exc:
            die(str(exc), EXIT_FAILED)


@feeds.command()
@config_option
@click.argument("url")
@click.pass_context
def remove(ctx: click.Context, url: str) -> None:
    """Stop polling a feed; its items and matches stay."""
    settings = settings_from(ctx)
    if any(spec.url == url for spec in settings.feeds):
        die(f"{url} is in {settings.path}: remove it there", EXIT_FAILED)
    store = _store(ctx)
    try:
        removed = store.remove_feed(url)
    finally:
        store.engine.dispose()
    if not removed:
        die(f"no such feed: {url}", EXIT_FAILED)
    click.echo(f"removed: {url}")


@feeds.command("import")
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_opml(ctx: click.Context, file: Path) -> None:
    """Add every feed of an OPML file."""
    from pipeline.opml import parse_opml

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read: {getattr(exc, 'strerror', None) or exc}", str(file)
        ) from exc
    specs = parse_opml(text)
    store = _store(ctx)
    now = datetime.now(UTC)
    try:
        added = sum(store.add_feed(spec.url, spec.name, now) for spec in specs)
    finally:
        store.engine.dispose()
    click.echo(f"{added} feeds added, {len(specs) - added} already there")


@feeds.command("export")
@config_option
@click.pass_context
def export_opml(ctx: click.Context) -> None:
    """Print every active feed as OPML 2.0."""
    from pipeline.opml import render_opml
    from pipeline.types import FeedSpec

    store = _store(ctx)
    try:
        rows = store.feed_urls()
    finally:
        store.engine.dispose()
    click.echo(render_opml([FeedSpec(url, name) for url, name in rows], "followup feeds"), nl=False)


@feeds.command()
@config_option
@click.option("--seed", "seed_id", required=True, help="The seed to search for.")
@click.option("--toml", "as_toml", is_flag=True, help="Print [[feeds]] tables to paste.")
@click.pass_context
def suggest(ctx: click.Context, seed_id: str, as_toml: bool) -> None:
    """News-search feed URLs built from the seed's entities, languages and regions."""
    from pipeline.profile import profile_for_seed
    from pipeline.suggest import suggest_feeds

    seed = settings_from(ctx).seed(seed_id)
    profile = profile_for_seed(
        seed.id, seed.article_text, seed.profile_text, str(seed.profile_path or seed.article_path)
    )
    for item in suggest_feeds(profile):
        if as_toml:
            name = item.name.replace("\\", "\\\\").replace('"', '\\"')
            click.echo(f'[[feeds]]\nurl = "{item.url}"\nname = "{name}"\n')
        else:
            click.echo(f"{item.url}\t{item.name}")
    if sys.stdout.isatty() and not as_toml:
        warn("add one with: followup feeds add --no-discover URL")
