"""Stored matches for the review page's tests, written the way a poll writes them.

``store_matches`` saves one poll of one feed (``Store.save_poll``): items, their matches and
the poll log, at a given time. ``review_app`` builds the app over a fresh database of each
kind (``db_url``) and returns a ``Review`` with the store, the settings and a test client.
Test modules import ``review_app_fixture`` (until conftest lists this module as a plugin).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

from pipeline.config import Settings, load_settings
from pipeline.storage import schema
from pipeline.storage.store import NewMatch, PollRecord, Store, StoredItem
from pipeline.types import Item, MatchResult, Reason

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 package for its test client; httpx (a dependency
    # already) works the same for these tests, so its deprecation notice is not an error.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

SEED = "pk-alibaba-2026"
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """One stored item and, when ``score`` is set, its match for ``seed``."""

    guid: str
    title: str
    summary: str = ""
    lang: str | None = "en"
    url: str | None = None
    score: float | None = 0.8
    kind: str = "direct"
    reasons: tuple[tuple[str, str], ...] = ()  # (entity, matched text)
    story: str | None = None
    seed: str = SEED
    content: str = ""
    topics: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def feed_id(store: Store, url: str, when: datetime) -> int:
    store.add_feed(url, url.rsplit("/", 1)[-1], when)
    with store.engine.connect() as conn:
        return int(conn.execute(select(schema.Feed.id).where(schema.Feed.url == url)).scalar_one())


def store_matches(
    store: Store, feed_url: str, entries: Sequence[Entry], when: datetime = NOW, **poll: Any
) -> tuple[int, ...]:
    """Save ``entries`` as one poll of ``feed_url`` at ``when``; the new match ids."""
    ident = feed_id(store, feed_url, when)
    items = [
        StoredItem(
            Item(e.guid, e.title, e.summary, e.content, e.url, when, None, e.lang),
            dedupe_key=hashlib.sha256(f"{feed_url} {e.guid}".encode()).hexdigest()[:32],
            content_hash=hashlib.sha256(e.title.encode()).hexdigest(),
        )
        for e in entries
    ]
    matches = [
        NewMatch(
            e.guid,
            e.seed,
            MatchResult(e.score, True, e.kind, _reasons(e)),  # type: ignore[arg-type]
            story_key=e.story,
        )
        for e in entries
        if e.score is not None
    ]
    record = PollRecord(
        outcome=poll.pop("outcome", "ok"),
        started_at=when,
        duration=poll.pop("duration", 0.3),
        next_poll_at=when + timedelta(minutes=15),
        items=items,
        matches=matches,
        **poll,
    )
    return store.save_poll(ident, record).new_match_ids


def match_ids(store: Store) -> dict[str, int]:
    """item guid → match id (a poll's matches get their ids in the store's own order)."""
    query = select(schema.Item.guid, schema.Match.id).join(
        schema.Item, schema.Item.id == schema.Match.item_id
    )
    with store.engine.connect() as conn:
        return {row.guid: row.id for row in conn.execute(query)}


def _reasons(entry: Entry) -> tuple[Reason, ...]:
    entities = tuple(Reason(name, matched, "entity", matched) for name, matched in entry.reasons)
    topics = tuple(Reason(name, matched, "topic", matched) for name, matched in entry.topics)
    return entities + topics


@dataclass
class Review:
    store: Store
    settings: Settings
    client: TestClient

    def csrf(self) -> str:
        """The CSRF token the page hands out (its cookie), fetched with a GET."""
        self.client.get("/healthz")
        token = self.client.cookies.get("followup_csrf")
        assert token
        return token


@pytest.fixture(name="review_app")
def review_app_fixture(
    db_url: str, store_for: Callable[[str], Store], write_config: Callable[..., Path]
) -> Iterator[Callable[..., Review]]:
    """Make the app over a fresh database: ``review_app(extra=..., environ=...)``."""
    from pipeline.web import create_app

    clients: list[TestClient] = []

    def make(*, extra: str = "", environ: dict[str, str] | None = None, **kw: Any) -> Review:
        settings = load_settings(str(write_config(db_url=db_url, extra=extra)), {})
        store = store_for(db_url)
        app = create_app(store, settings, environ or {}, clock=lambda: NOW)
        client = TestClient(app, base_url="http://127.0.0.1:8080", **kw)
        client.__enter__()
        clients.append(client)
        return Review(store, settings, client)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
