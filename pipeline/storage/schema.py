"""The database schema as SQLAlchemy Core tables. Migrations in ``migrations/`` create it.

Core, not the ORM: nothing here maps rows to objects, and importing the ORM cost every
command ~70 ms of start-up.

Designed for several replicas on one PostgreSQL: work rows (feeds, batches, schedules) carry a
lease (``lease_until``, ``lease_owner``) so a replica claims them and a dead replica's claims
expire; unique constraints make a repeated poll or a repeated delivery a no-op.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (naive storage) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Model:
    """A table whose columns are attributes (``Item.guid``), usable wherever SQLAlchemy wants
    the table itself (``select(Item)``, ``insert(Item)``): ORM-style names without the ORM."""

    def __init__(self, table: Table) -> None:
        self.__table__ = table
        for column in table.columns:
            setattr(self, column.key, column)

    def __clause_element__(self) -> Any:  # Any: SQLAlchemy's stubs type it as a role
        return self.__table__

    def __getattr__(self, name: str) -> Column[Any]:  # for type checkers: every column
        raise AttributeError(f"table {self.__table__.name} has no column {name}")


metadata = MetaData()


Feed = Model(
    Table(
        "feeds",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("url", String(2048), unique=True, nullable=False),
        Column("name", String(500)),
        Column("title", String(500)),  # as the feed names itself
        Column("origin", String(16), default="config", nullable=False),  # "config" | "user"
        Column("active", Boolean, default=True, nullable=False),
        Column("retired_at", UTCDateTime),
        Column("etag", String(1024)),
        Column("last_modified", String(200)),
        Column("content_hash", String(64)),
        Column("interval_seconds", Integer),  # adaptive interval, if on
        Column("next_poll_at", UTCDateTime, nullable=False),
        Column("lease_until", UTCDateTime),
        Column("lease_owner", String(100)),
        Column("last_polled_at", UTCDateTime),
        Column("last_success_at", UTCDateTime),
        Column("last_changed_at", UTCDateTime),
        Column("last_status", Integer),
        Column("last_error", Text),
        Column("failing_since", UTCDateTime),
        Column("consecutive_failures", Integer, default=0, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Index("ix_feeds_due", "active", "next_poll_at"),
    )
)


Item = Model(
    Table(
        "items",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("feed_id", ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
        Column("guid", String(1024), nullable=False),
        Column("url", String(2048)),
        Column("dedupe_key", String(64), nullable=False),  # same story across feeds: same key
        Column("title", Text, nullable=False),
        Column("summary", Text, default="", nullable=False),
        Column("content", Text, default="", nullable=False),
        Column("published", UTCDateTime),
        Column("lang", String(16)),
        Column("source", String(500)),
        Column("content_hash", String(64), nullable=False),
        Column("fetched_at", UTCDateTime, nullable=False),
        Column("matched", Boolean, default=False, nullable=False),
        UniqueConstraint("feed_id", "guid", name="uq_items_feed_guid"),
        Index("ix_items_dedupe_key", "dedupe_key"),
        Index("ix_items_retention", "matched", "fetched_at"),
    )
)


Seed = Model(
    Table(
        "seeds",
        metadata,
        Column("id", String(200), primary_key=True),
        Column("profile_hash", String(64), nullable=False),
        Column("active", Boolean, default=True, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
    )
)


Match = Model(
    Table(
        "matches",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("seed_id", String(200), nullable=False),  # kept when the seed leaves the config
        Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        Column("dedupe_key", String(64), nullable=False),
        Column("story_key", String(64)),
        Column("score", Float, nullable=False),
        Column("kind", String(8), nullable=False),  # "direct" | "thread"
        Column("reasons", Text, nullable=False),  # JSON list of reason objects
        Column("matched_at", UTCDateTime, nullable=False),
        UniqueConstraint("seed_id", "dedupe_key", name="uq_matches_seed_story"),
        Index("ix_matches_seed_matched_at", "seed_id", "matched_at"),
        Index("ix_matches_matched_at", "matched_at"),
        Index("ix_matches_item", "item_id"),
        Index("ix_matches_story", "story_key"),  # migration 0002
    )
)


Label = Model(
    Table(
        "labels",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("match_id", ForeignKey("matches.id", ondelete="CASCADE"), nullable=False),
        Column("label", String(16), nullable=False),  # "relevant" | "irrelevant"
        Column("created_at", UTCDateTime, nullable=False),
        Index("ix_labels_match", "match_id", "created_at"),
    )
)


# A delivery channel as first seen: a new one starts with the last days, not all history.
Channel = Model(
    Table(
        "channels",
        metadata,
        Column("name", String(2100), primary_key=True),
        Column("first_seen_at", UTCDateTime, nullable=False),
    )
)


# The outbox: one row per match and channel, made when a batch takes the match.
Delivery = Model(
    Table(
        "deliveries",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("match_id", ForeignKey("matches.id", ondelete="CASCADE"), nullable=False),
        Column("channel", String(2100), nullable=False),
        Column("batch_id", ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        UniqueConstraint("match_id", "channel", name="uq_deliveries_match_channel"),
        Index("ix_deliveries_batch", "batch_id"),
        Index("ix_deliveries_channel", "channel", "match_id"),
    )
)


# A frozen delivery: the rendered payload is stored, so a retry sends the same bytes.
Batch = Model(
    Table(
        "batches",
        metadata,
        Column("id", String(64), primary_key=True),  # webhook-id / Message-ID
        Column("channel", String(2100), nullable=False),
        Column("kind", String(8), nullable=False),  # "digest" | "alert"
        Column("status", String(8), default="pending", nullable=False),  # pending | sent
        Column("payload", Text, nullable=False),  # JSON: subject, text, html, body
        Column("attempts", Integer, default=0, nullable=False),
        Column("next_attempt_at", UTCDateTime, nullable=False),
        Column("lease_until", UTCDateTime),
        Column("lease_owner", String(100)),
        Column("last_error", Text),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime),
        Index("ix_batches_due", "status", "next_attempt_at"),
    )
)


# Every delivery attempt, for `followup deliveries list`.
Attempt = Model(
    Table(
        "attempts",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("batch_id", ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
        Column("at", UTCDateTime, nullable=False),
        Column("ok", Boolean, nullable=False),
        Column("error", Text),
        Column("owner", String(100)),
        Index("ix_attempts_batch", "batch_id"),
    )
)


# One poll of one feed: the metrics' histogram and the replicas' shared record.
Poll = Model(
    Table(
        "polls",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("feed_id", ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
        Column("started_at", UTCDateTime, nullable=False),
        Column("duration", Float, nullable=False),
        Column("outcome", String(16), nullable=False),  # ok | not_modified | failed
        Column("new_items", Integer, default=0, nullable=False),
        Column("owner", String(100)),
        Index("ix_polls_started", "started_at"),
        Index("ix_polls_feed", "feed_id"),
    )
)


# When a scheduled job (a channel's digest) last fired: a missed tick fires once.
Schedule = Model(
    Table(
        "schedules",
        metadata,
        Column("name", String(2200), primary_key=True),
        Column("last_fired_at", UTCDateTime),
    )
)
