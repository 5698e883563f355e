"""SQLite full-text index: only the items that have a match

The trigram FTS5 table of 0002 serves one query, the review search, which filters matches:
an item without a match is never looked for there. Indexing every item was ~90 % of the CPU
of saving a first poll (7,000 items of 200 feeds: ~0.7 s of trigram indexing; a few hundred
of them matched). The triggers now index an item when it gets its first match, and take it
out again only when it was in. PostgreSQL: nothing to do (its GIN index stays over all items).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEX_NEW = "INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);"
_UNINDEX_OLD = (
    "INSERT INTO items_fts(items_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary);"
)
_DROP = (
    "DROP TRIGGER IF EXISTS items_fts_insert",
    "DROP TRIGGER IF EXISTS items_fts_delete",
    "DROP TRIGGER IF EXISTS items_fts_update",
    "DROP TRIGGER IF EXISTS items_fts_matched",
    "DROP TRIGGER IF EXISTS items_fts_unmatched",
)
# An external-content FTS5 table must be told exactly what it holds: every trigger that
# takes a row out checks that the row was in (old.matched), or the index is corrupted.
MATCHED_ONLY = (
    f"CREATE TRIGGER items_fts_insert AFTER INSERT ON items WHEN new.matched BEGIN {_INDEX_NEW} END",
    f"CREATE TRIGGER items_fts_delete AFTER DELETE ON items WHEN old.matched BEGIN {_UNINDEX_OLD} END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items "
    f"WHEN old.matched AND new.matched BEGIN {_UNINDEX_OLD} {_INDEX_NEW} END",
    "CREATE TRIGGER items_fts_matched AFTER UPDATE OF matched ON items "
    f"WHEN new.matched AND NOT old.matched BEGIN {_INDEX_NEW} END",
    "CREATE TRIGGER items_fts_unmatched AFTER UPDATE OF matched ON items "
    f"WHEN old.matched AND NOT new.matched BEGIN {_UNINDEX_OLD} END",
    "INSERT INTO items_fts(items_fts) VALUES ('delete-all')",
    "INSERT INTO items_fts(rowid, title, summary) SELECT id, title, summary FROM items WHERE matched",
)
EVERY_ITEM = (  # the triggers of 0002
    f"CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN {_INDEX_NEW} END",
    f"CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN {_UNINDEX_OLD} END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items "
    f"BEGIN {_UNINDEX_OLD} {_INDEX_NEW} END",
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in (*_DROP, *MATCHED_ONLY):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in (*_DROP, *EVERY_ITEM):
            op.execute(statement)
