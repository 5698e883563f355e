"""The review search's full-text index (SQLite) holds the items that have a match, and only them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import text

from pipeline.storage.migrate import alembic_config, upgrade
from pipeline.storage.store import PollRecord, Store, StoredItem
from pipeline.types import FeedSpec, Item, MatchFilter
from tests.test_retention import FEED, NOW, save


def indexed(store: Store, word: str) -> set[str]:
    query = (
        "SELECT guid FROM items WHERE id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH :w)"
    )
    with store.engine.connect() as conn:
        return set(conn.execute(text(query), {"w": f'"{word}"'}).scalars())


def test_only_matched_items_are_indexed_and_the_search_finds_them(
    tmp_path: Path, store_for: Callable[[str], Store]
) -> None:
    store = store_for(f"sqlite:///{tmp_path / 'f.db'}")
    store.sync_config_feeds([FeedSpec(FEED)], NOW)
    save(store, NOW, "plain")
    save(store, NOW, "hit", matched=True)

    assert indexed(store, "Item") == {"hit"}
    [found] = store.list_matches(MatchFilter(query="Item hit"))
    assert found.title == "Item hit"


def test_a_matched_item_that_changes_is_indexed_again_and_a_deleted_one_leaves(
    tmp_path: Path, store_for: Callable[[str], Store]
) -> None:
    store = store_for(f"sqlite:///{tmp_path / 'f.db'}")
    store.sync_config_feeds([FeedSpec(FEED)], NOW)
    save(store, NOW, "hit", matched=True)
    [feed_id] = [f.id for f in store.claim_due_feeds(NOW, 10, 60, force=True)]
    renamed = Item(id="hit", title="Renamed story", url="https://news.example.org/hit")
    changed = [StoredItem(renamed, "key-hit", "hash-changed")]
    store.save_poll(feed_id, PollRecord("ok", NOW, 0.1, NOW + timedelta(minutes=15), items=changed))

    assert indexed(store, "Renamed") == {"hit"}
    assert indexed(store, "Item") == set()
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM items"))
        rows = conn.execute(text("SELECT count(*) FROM items_fts_docsize")).scalar()
    assert rows == 0


def test_the_migration_reindexes_matched_items_only_and_can_be_undone(
    tmp_path: Path, store_for: Callable[[str], Store]
) -> None:
    store = store_for(f"sqlite:///{tmp_path / 'f.db'}")
    store.sync_config_feeds([FeedSpec(FEED)], NOW)

    def downgrade() -> None:
        with store.engine.begin() as conn:
            config = alembic_config(store.engine)
            config.attributes["connection"] = conn
            command.downgrade(config, "0003")

    downgrade()
    save(store, NOW, "plain")
    save(store, NOW, "hit", matched=True)
    assert indexed(store, "Item") == {"plain", "hit"}

    upgrade(store.engine)
    assert indexed(store, "Item") == {"hit"}
    downgrade()
    assert indexed(store, "Item") == {"plain", "hit"}
