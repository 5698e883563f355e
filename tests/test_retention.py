"""Retention: `[retention] unmatched_item_days` prunes unmatched items; matches and labels stay."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from pipeline.bootstrap import build
from pipeline.config import load_settings
from pipeline.storage import schema as s
from pipeline.storage.store import NewMatch, PollRecord, Store, StoredItem
from pipeline.types import FeedSpec, Item, MatchFilter, MatchResult, Reason

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FEED = "http://127.0.0.1:9/feed.xml"  # never fetched: polls are recorded directly
HIT = MatchResult(0.9, True, "direct", (Reason("Alibaba Cloud", "Alibaba Cloud"),))


def save(store: Store, at: datetime, guid: str, *, matched: bool = False) -> None:
    """Store one item as a poll made at ``at`` would (``matched``: with a match)."""
    [feed_id] = [f.id for f in store.claim_due_feeds(at, 10, 60, force=True)]
    item = Item(id=guid, title=f"Item {guid}", url=f"https://news.example.org/{guid}")
    store.save_poll(
        feed_id,
        PollRecord(
            outcome="ok",
            started_at=at,
            duration=0.1,
            next_poll_at=at + timedelta(minutes=15),
            changed=True,
            items=[StoredItem(item, f"key-{guid}", f"hash-{guid}")],
            matches=[NewMatch(guid, "pk-alibaba-2026", HIT)] if matched else [],
        ),
    )


def guids(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(s.Item.guid)).scalars())


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_prune_deletes_old_unmatched_items_and_keeps_matched_ones_with_matches_and_labels(
    db_url: str, store_for: Callable[[str], Store]
) -> None:
    store = store_for(db_url)
    store.sync_config_feeds([FeedSpec(FEED)], NOW)
    save(store, NOW - timedelta(days=100), "old-unmatched")
    save(store, NOW - timedelta(days=100), "old-matched", matched=True)
    save(store, NOW - timedelta(days=5), "recent-unmatched")
    [match] = store.list_matches()
    assert store.label_match(match.id, "relevant", NOW - timedelta(days=99))

    assert store.prune(NOW, unmatched_days=90) == 1

    assert guids(store) == {"old-matched", "recent-unmatched"}
    [kept] = store.list_matches()
    assert (kept.id, kept.title, kept.label) == (match.id, "Item old-matched", "relevant")
    assert count(store, s.Label) == 1


def test_prune_is_idempotent_and_keeps_items_younger_than_the_limit(
    db_url: str, store_for: Callable[[str], Store]
) -> None:
    store = store_for(db_url)
    store.sync_config_feeds([FeedSpec(FEED)], NOW)
    save(store, NOW - timedelta(days=31), "a")
    save(store, NOW - timedelta(days=29), "b")

    assert store.prune(NOW, unmatched_days=30) == 1
    assert store.prune(NOW, unmatched_days=30) == 0
    assert guids(store) == {"b"}


def test_prune_drops_poll_log_rows_older_than_30_days(
    db_url: str, store_for: Callable[[str], Store]
) -> None:
    store = store_for(db_url)
    store.sync_config_feeds([FeedSpec(FEED)], NOW)
    save(store, NOW - timedelta(days=40), "old-poll", matched=True)
    save(store, NOW - timedelta(days=1), "new-poll", matched=True)

    store.prune(NOW, unmatched_days=90)

    assert count(store, s.Poll) == 1
    assert guids(store) == {"old-poll", "new-poll"}


def test_the_service_prunes_by_the_configured_unmatched_item_days(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        db_url=db_url, feeds=[FEED], extra="\n[retention]\nunmatched_item_days = 10\n"
    )
    settings = load_settings(str(config), {})
    assert settings.retention_days == 10
    runtime = build(settings, {})
    try:
        service = runtime.service
        service.prepare()
        now = datetime.now(UTC)
        save(service.store, now - timedelta(days=11), "eleven-days")
        save(service.store, now - timedelta(days=9), "nine-days")
        save(service.store, now - timedelta(days=11), "matched", matched=True)

        assert service.prune() == 1
        assert guids(service.store) == {"nine-days", "matched"}
        assert len(service.matches(MatchFilter())) == 1
    finally:
        runtime.close_sync()
