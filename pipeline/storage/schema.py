"""The database schema: SQLAlchemy 2.x typed models. Migrations in ``migrations/`` create it.

Designed for several replicas on one PostgreSQL: work rows (feeds, batches, schedules) carry a
lease (``lease_until``, ``lease_owner``) so a replica claims them and a dead replica's claims
expire; unique constraints make a repeated poll or a repeated delivery a no-op.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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


class Base(DeclarativeBase):
    pass


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str | None] = mapped_column(String(500))  # as the feed names itself
    origin: Mapped[str] = mapped_column(String(16), default="config")  # "config" | "user"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    interval_seconds: Mapped[int | None] = mapped_column(Integer)  # adaptive interval, if on
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_feeds_due", "active", "next_poll_at"),)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(String(1024))
    url: Mapped[str | None] = mapped_column(String(2048))
    dedupe_key: Mapped[str] = mapped_column(String(64))  # same story across feeds: same key
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lang: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    matched: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("feed_id", "guid", name="uq_items_feed_guid"),
        Index("ix_items_dedupe_key", "dedupe_key"),
        Index("ix_items_retention", "matched", "fetched_at"),
    )


class Seed(Base):
    __tablename__ = "seeds"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    profile_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Match(Base):
    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed_id: Mapped[str] = mapped_column(String(200))  # kept when the seed leaves the config
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    story_key: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(8))  # "direct" | "thread"
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of reason objects
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("seed_id", "dedupe_key", name="uq_matches_seed_story"),
        Index("ix_matches_seed_matched_at", "seed_id", "matched_at"),
        Index("ix_matches_matched_at", "matched_at"),
        Index("ix_matches_item", "item_id"),
        Index("ix_matches_story", "story_key"),  # migration 0002
    )


class Label(Base):
    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(16))  # "relevant" | "irrelevant"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_labels_match", "match_id", "created_at"),)


class Channel(Base):
    """A delivery channel as first seen: a new one starts with the last days, not all history."""

    __tablename__ = "channels"

    name: Mapped[str] = mapped_column(String(2100), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """The outbox: one row per match and channel, made when a batch takes the match."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(2100))
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("match_id", "channel", name="uq_deliveries_match_channel"),
        Index("ix_deliveries_batch", "batch_id"),
        Index("ix_deliveries_channel", "channel", "match_id"),
    )


class Batch(Base):
    """A frozen delivery: the rendered payload is stored, so a retry sends the same bytes."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # webhook-id / Message-ID
    channel: Mapped[str] = mapped_column(String(2100))
    kind: Mapped[str] = mapped_column(String(8))  # "digest" | "alert"
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sent
    payload: Mapped[str] = mapped_column(Text)  # JSON: subject, text, html, body
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_batches_due", "status", "next_attempt_at"),)


class Attempt(Base):
    """Every delivery attempt, for `followup deliveries list`."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("ix_attempts_batch", "batch_id"),)


class Poll(Base):
    """One poll of one feed: the metrics' histogram and the replicas' shared record."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))  # ok | not_modified | failed
    new_items: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("ix_polls_started", "started_at"), Index("ix_polls_feed", "feed_id"))


class Schedule(Base):
    """When a scheduled job (a channel's digest) last fired: a missed tick fires once."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(2200), primary_key=True)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
