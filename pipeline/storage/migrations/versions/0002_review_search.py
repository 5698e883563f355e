"""full-text search of items for the review page

SQLite: an FTS5 table over items(title, summary) with the trigram tokenizer (substring search
in any script, CJK included), kept in step by triggers. PostgreSQL: a GIN index over the
'simple' text-search vector of title and summary (no stemming: items come in many languages).
Also an index on matches.story_key: the page expands a story's other outlets in place.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PG_VECTOR = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(summary, ''))"

SQLITE_UP = (
    "CREATE VIRTUAL TABLE items_fts USING fts5("
    "title, summary, content='items', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); "
    "INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS items_fts_update",
    "DROP TRIGGER IF EXISTS items_fts_delete",
    "DROP TRIGGER IF EXISTS items_fts_insert",
    "DROP TABLE IF EXISTS items_fts",
)


def upgrade() -> None:
    op.create_index("ix_matches_story", "matches", ["story_key"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    else:
        op.execute(f"CREATE INDEX ix_items_fts ON items USING GIN ({PG_VECTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_items_fts")
    op.drop_index("ix_matches_story", "matches")
