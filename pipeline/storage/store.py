"""``Store``: the only SQL in followup. Rows go in and out as ``pipeline.types`` values.

Work is shared between replicas through the database: ``claim_due_feeds`` and
``claim_batches`` lease rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a conditional
UPDATE on SQLite, whose writers are serialised anyway), and unique constraints turn a
repeated insert into a no-op. Every database error leaves as ``StorageError``.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from pipeline import types
from pipeline.errors import StorageError, wrap_errors
from pipeline.storage import queries as q
from pipeline.storage import schema as s
from pipeline.storage.engine import WRITE_OPTION
from pipeline.types import MatchFilter

EVERYTHING = MatchFilter()  # no filter: every match


@dataclass(frozen=True)
class FeedState:
    """What polling needs to know of a feed."""

    id: int
    url: str
    name: str | None
    origin: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    interval_seconds: int | None
    consecutive_failures: int
    failing_since: datetime | None
    last_changed_at: datetime | None
    last_success_at: datetime | None


@dataclass(frozen=True)
class StoredItem:
    """An item to store: the parsed item plus the keys storage groups by."""

    item: types.Item
    dedupe_key: str
    content_hash: str


@dataclass(frozen=True)
class NewMatch:
    item_guid: str
    seed: str
    result: types.MatchResult
    story_key: str | None = None


@dataclass(frozen=True)
class PollRecord:
    """The outcome of one feed's poll, saved in one transaction with its items and matches."""

    outcome: str  # "ok" | "not_modified" | "failed"
    started_at: datetime
    duration: float
    next_poll_at: datetime
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    changed: bool = False
    new_url: str | None = None
    title: str | None = None
    retire: bool = False
    interval_seconds: int | None = None
    items: Sequence[StoredItem] = ()
    matches: Sequence[NewMatch] = ()


@dataclass(frozen=True)
class SavedPoll:
    new_items: int
    new_match_ids: tuple[int, ...]


@dataclass(frozen=True)
class BatchRecord:
    id: str
    channel: str
    kind: str
    status: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    match_ids: tuple[int, ...] = field(default_factory=tuple)


class Store:
    def __init__(self, engine: Engine, owner: str = "local") -> None:
        self.engine = engine
        self.owner = owner  # the replica's name in leases and logs

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _write(self, doing: str) -> Iterator[Connection]:
        with wrap_errors(StorageError, f"database error while {doing}", SQLAlchemyError):
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn

    @contextmanager
    def _read(self, doing: str) -> Iterator[Connection]:
        with wrap_errors(StorageError, f"database error while {doing}", SQLAlchemyError):
            with self.engine.connect() as conn:
                yield conn

    def _insert(self, conn: Connection, table: Any) -> Any:
        return _dialect_insert(conn.dialect.name)(table)

    def _skip_locked(self, conn: Connection, query: Any) -> Any:
        if conn.dialect.name == "postgresql":
            return query.with_for_update(skip_locked=True)
        return query

    def ping(self) -> bool:
        with self._read("checking health") as conn:
            return conn.execute(select(1)).scalar() == 1

    # -- feeds ------------------------------------------------------------------------------

    def sync_config_feeds(self, specs: Sequence[types.FeedSpec], now: datetime) -> None:
        """Config feeds become rows; a feed dropped from the config stops being polled."""
        urls = {spec.url for spec in specs}
        with self._write("syncing configured feeds") as conn:
            existing = {
                row.url: row
                for row in conn.execute(
                    select(s.Feed.url, s.Feed.name, s.Feed.active, s.Feed.origin)
                )
            }
            for spec in specs:
                row = existing.get(spec.url)
                if row is None:
                    conn.execute(
                        self._insert(conn, s.Feed)
                        .values(
                            url=spec.url,
                            name=spec.name,
                            origin="config",
                            active=True,
                            next_poll_at=now,
                            created_at=now,
                            consecutive_failures=0,
                        )
                        .on_conflict_do_nothing(index_elements=["url"])
                    )
                elif row.name != spec.name or not row.active or row.origin != "config":
                    conn.execute(
                        update(s.Feed)
                        .where(s.Feed.url == spec.url)
                        .values(name=spec.name, active=True, origin="config")
                    )
            stale = [
                u
                for u, r in existing.items()
                if r.origin == "config" and r.active and u not in urls
            ]
            if stale:
                conn.execute(update(s.Feed).where(s.Feed.url.in_(stale)).values(active=False))

    def add_feed(self, url: str, name: str | None, now: datetime) -> bool:
        """Add a user feed; False if it was already there (it is re-activated)."""
        with self._write("adding a feed") as conn:
            found = conn.execute(select(s.Feed.id, s.Feed.active).where(s.Feed.url == url)).first()
            if found:
                conn.execute(
                    update(s.Feed)
                    .where(s.Feed.id == found.id)
                    .values(active=True, retired_at=None, next_poll_at=now)
                )
                return not found.active
            conn.execute(
                self._insert(conn, s.Feed).values(
                    url=url,
                    name=name,
                    origin="user",
                    active=True,
                    next_poll_at=now,
                    created_at=now,
                    consecutive_failures=0,
                )
            )
            return True

    def remove_feed(self, url: str) -> bool:
        """Stop polling a feed; its items and matches stay."""
        with self._write("removing a feed") as conn:
            done = conn.execute(
                update(s.Feed)
                .where(s.Feed.url == url, s.Feed.active.is_(True))
                .values(active=False)
            )
            return done.rowcount > 0

    def claim_due_feeds(
        self, now: datetime, limit: int, lease_seconds: int, *, force: bool = False
    ) -> list[FeedState]:
        """Lease up to ``limit`` due feeds to this replica (all active ones when ``force``)."""
        due = and_(s.Feed.active.is_(True), s.Feed.retired_at.is_(None))
        if not force:
            due = and_(due, s.Feed.next_poll_at <= now)
        order = (s.Feed.next_poll_at, s.Feed.id)
        with self._write("claiming due feeds") as conn:
            rows = self._lease(conn, s.Feed, due, order, limit, now, lease_seconds)
            return [_feed_state(row) for row in rows]

    def _lease(
        self,
        conn: Connection,
        model: Any,
        wanted: Any,
        order: tuple[Any, ...],
        limit: int,
        now: datetime,
        lease_seconds: int,
    ) -> list[Any]:
        """Lease the first ``limit`` rows of ``model`` that are ``wanted`` and not leased.

        PostgreSQL locks the candidates with ``FOR UPDATE SKIP LOCKED``, so concurrent
        replicas pick disjoint rows; the conditional UPDATE keeps any row leased since.
        """
        free = or_(model.lease_until.is_(None), model.lease_until <= now)
        query = select(model.__table__).where(wanted, free).order_by(*order).limit(limit)
        rows = conn.execute(self._skip_locked(conn, query)).all()
        taken: set[Any] = set()
        for start in range(0, len(rows), 5000):
            ids = [row.id for row in rows[start : start + 5000]]
            taken.update(
                conn.execute(
                    update(model)
                    .where(model.id.in_(ids), free)
                    .values(
                        lease_until=now + timedelta(seconds=lease_seconds), lease_owner=self.owner
                    )
                    .returning(model.id)
                ).scalars()
            )
        return [row for row in rows if row.id in taken]

    def known_items(self, feed_id: int, guids: Sequence[str]) -> dict[str, str]:
        """guid → content hash of this feed's items already stored among ``guids``."""
        found: dict[str, str] = {}
        with self._read("reading known items") as conn:
            for start in range(0, len(guids), 500):
                chunk = list(guids[start : start + 500])
                rows = conn.execute(
                    select(s.Item.guid, s.Item.content_hash).where(
                        s.Item.feed_id == feed_id, s.Item.guid.in_(chunk)
                    )
                )
                found.update({row.guid: row.content_hash for row in rows})
        return found

    def known_items_many(self, wanted: Mapping[int, Sequence[str]]) -> dict[int, dict[str, str]]:
        """``known_items`` for several feeds at once: feed id → guid → content hash."""
        found: dict[int, dict[str, str]] = {feed_id: {} for feed_id in wanted}
        pairs = {(feed_id, guid) for feed_id, guids in wanted.items() for guid in guids}
        guids = sorted({guid for _, guid in pairs})
        with self._read("reading known items") as conn:
            for start in range(0, len(guids), 500):
                rows = conn.execute(
                    select(s.Item.feed_id, s.Item.guid, s.Item.content_hash).where(
                        s.Item.feed_id.in_(list(wanted)),
                        s.Item.guid.in_(guids[start : start + 500]),
                    )
                )
                for row in rows:  # a guid another feed of the batch also has is no match
                    if (row.feed_id, row.guid) in pairs:
                        found[row.feed_id][row.guid] = row.content_hash
        return found

    def save_poll(self, feed_id: int, record: PollRecord) -> SavedPoll:
        """Items, matches, the feed's new state and the poll log, all or nothing."""
        return self.save_polls([(feed_id, record)])[0]

    def save_polls(self, records: Sequence[tuple[int, PollRecord]]) -> list[SavedPoll]:
        """``save_poll`` for many feeds in one transaction: SQLite pays for each commit."""
        saved, log = [], []
        plain: list[tuple[int, PollRecord]] = []  # no SQL expressions: one statement per shape
        with self._write("saving polls") as conn:
            item_ids = [self._upsert_items(conn, feed_id, record) for feed_id, record in records]
            polls = [(ids, record) for ids, (_, record) in zip(item_ids, records, strict=True)]
            match_ids = self._insert_matches(conn, polls)
            for (feed_id, record), ids, new in zip(records, item_ids, match_ids, strict=True):
                if record.outcome == "failed" or record.new_url:
                    self._update_feed(conn, feed_id, record)
                else:
                    plain.append((feed_id, record))
                log.append(
                    {
                        "feed_id": feed_id,
                        "started_at": record.started_at,
                        "duration": record.duration,
                        "outcome": record.outcome,
                        "new_items": len(ids),
                        "owner": self.owner,
                    }
                )
                saved.append(SavedPoll(new_items=len(ids), new_match_ids=new))
            self._update_plain_feeds(conn, plain)
            if log:
                conn.execute(self._insert(conn, s.Poll), log)
        return saved

    def _upsert_items(
        self, conn: Connection, feed_id: int, record: PollRecord
    ) -> dict[str, tuple[int, str]]:
        """guid → (row id, dedupe key) of the items inserted or changed."""
        if not record.items:
            return {}
        rows = [_item_row(feed_id, stored, record.started_at) for stored in record.items]
        if conn.dialect.name == "sqlite":
            return self._upsert_items_sqlite(conn, feed_id, rows)
        stmt = _item_upsert(conn.dialect.name)
        result = conn.execute(stmt, rows) if len(rows) > 1 else conn.execute(stmt.values(rows[0]))
        return {row.guid: (row.id, row.dedupe_key) for row in result}

    def _upsert_items_sqlite(
        self, conn: Connection, feed_id: int, rows: list[dict[str, Any]]
    ) -> dict[str, tuple[int, str]]:
        """The same upsert as one multi-row statement per feed, straight to the driver.

        SQLAlchemy builds and processes such statements in Python, for each batch of rows;
        that was most of the CPU of saving a poll, in the process that also fetches.
        """
        upsert = _sqlite_item_upsert(conn.dialect)
        for key, convert in zip(upsert.keys, upsert.convert, strict=True):
            if convert is not None:
                done: dict[Any, Any] = {}  # fetched_at and matched are the same in every row
                for row in rows:
                    value = row[key]
                    row[key] = (
                        done[value] if value in done else done.setdefault(value, convert(value))
                    )
        values = operator.itemgetter(*upsert.keys)
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(rows), upsert.max_rows):
            chunk = rows[start : start + upsert.max_rows]
            params = tuple(itertools.chain.from_iterable(map(values, chunk)))
            result = conn.exec_driver_sql(upsert.sql(len(chunk)), params)
            found.update({guid: (item_id, key) for item_id, guid, key in result})
        return found

    def _insert_matches(
        self,
        conn: Connection,
        polls: Sequence[tuple[dict[str, tuple[int, str]], PollRecord]],
    ) -> list[tuple[int, ...]]:
        """Insert the matches of several polls; the new match ids of each poll, in order."""
        rows, poll_of_item = [], {}
        for index, (ids, record) in enumerate(polls):
            for match in record.matches:
                if match.item_guid not in ids:
                    continue
                item_id, dedupe_key = ids[match.item_guid]
                poll_of_item[item_id] = index
                rows.append(_match_row(match, item_id, dedupe_key, record.started_at))
        new_ids: list[list[int]] = [[] for _ in polls]
        if rows:
            # Key order: replicas saving polls that share stories (syndicated items) take the
            # unique index's locks in one order, so they wait for each other instead of
            # deadlocking (PostgreSQL aborts one transaction of a cycle).
            rows.sort(key=lambda row: (row["seed_id"], row["dedupe_key"]))
            stmt = (
                self._insert(conn, s.Match)
                .on_conflict_do_nothing(index_elements=["seed_id", "dedupe_key"])
                .returning(s.Match.id, s.Match.item_id)
            )
            # One statement for all of them; a story already matched for the seed returns no id.
            for match_id, item_id in conn.execute(stmt, rows).all():
                new_ids[poll_of_item[item_id]].append(match_id)
            conn.execute(
                update(s.Item).where(s.Item.id.in_(list(poll_of_item))).values(matched=True)
            )
        return [tuple(sorted(ids)) for ids in new_ids]

    def _update_feed(self, conn: Connection, feed_id: int, record: PollRecord) -> None:
        values = _feed_values(record)
        if record.new_url:
            taken = conn.execute(select(s.Feed.id).where(s.Feed.url == record.new_url)).first()
            if taken is None:
                values["url"] = record.new_url
        conn.execute(update(s.Feed).where(s.Feed.id == feed_id).values(**values))

    def _update_plain_feeds(
        self, conn: Connection, records: Sequence[tuple[int, PollRecord]]
    ) -> None:
        """``_update_feed`` for polls that set plain values: an executemany per set of columns."""
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for feed_id, record in records:
            values = _feed_values(record)
            params = {f"v_{k}": v for k, v in values.items()}
            params["feed_id_"] = feed_id
            shapes.setdefault(tuple(sorted(values)), []).append(params)
        table = s.Feed.__table__
        for columns, rows in shapes.items():
            stmt = (
                update(table)
                .where(table.c.id == bindparam("feed_id_"))
                .values({column: bindparam(f"v_{column}") for column in columns})
            )
            conn.execute(stmt, rows)

    def release_feed(self, feed_id: int) -> None:
        self._release(s.Feed, feed_id, "releasing a feed")

    def _release(self, model: Any, row_id: object, doing: str) -> None:
        """Give back this replica's lease on one row, so any replica may take it at once."""
        with self._write(doing) as conn:
            conn.execute(
                update(model)
                .where(model.id == row_id, model.lease_owner == self.owner)
                .values(lease_until=None, lease_owner=None)
            )

    def release_leases(self) -> int:
        """Give back every feed and batch this replica still holds (at shutdown)."""
        with self._write("releasing leases") as conn:
            released = 0
            for table in (s.Feed, s.Batch):
                done = conn.execute(
                    update(table)
                    .where(table.lease_owner == self.owner)
                    .values(lease_until=None, lease_owner=None)
                )
                released += done.rowcount or 0
            return released

    def feed_health(
        self, now: datetime, *, include_inactive: bool = False
    ) -> list[types.FeedHealth]:
        with self._read("reading feed health") as conn:
            per_day: dict[int, int] = dict(
                conn.execute(
                    select(s.Item.feed_id, func.count())
                    .where(s.Item.fetched_at >= now - timedelta(days=7))
                    .group_by(s.Item.feed_id)
                ).all()
            )
            query = select(s.Feed.__table__).order_by(s.Feed.url)
            if not include_inactive:
                query = query.where(s.Feed.active.is_(True))
            feeds = conn.execute(query).all()
        return [
            types.FeedHealth(
                url=f.url,
                name=f.name or f.title,
                last_success_at=f.last_success_at,
                last_error=f.last_error,
                consecutive_failures=f.consecutive_failures,
                failing_since=f.failing_since,
                next_poll_at=f.next_poll_at,
                items_per_day=round(per_day.get(f.id, 0) / 7, 2),
                retired=f.retired_at is not None,
            )
            for f in feeds
        ]

    def feed_urls(self, *, origin: str | None = None) -> list[tuple[str, str | None]]:
        with self._read("listing feeds") as conn:
            query = (
                select(s.Feed.url, s.Feed.name).where(s.Feed.active.is_(True)).order_by(s.Feed.id)
            )
            if origin:
                query = query.where(s.Feed.origin == origin)
            return [(row.url, row.name) for row in conn.execute(query)]

    # -- seeds ------------------------------------------------------------------------------

    def sync_seeds(self, seeds: dict[str, str], now: datetime) -> None:
        """seed id → profile hash; seeds gone from the config stay (with their matches)."""
        with self._write("syncing seeds") as conn:
            existing = dict(conn.execute(select(s.Seed.id, s.Seed.profile_hash)).all())
            for seed_id, digest in seeds.items():
                if seed_id not in existing:
                    conn.execute(
                        self._insert(conn, s.Seed)
                        .values(
                            id=seed_id,
                            profile_hash=digest,
                            active=True,
                            created_at=now,
                            updated_at=now,
                        )
                        .on_conflict_do_nothing(index_elements=["id"])
                    )
                elif existing[seed_id] != digest:
                    conn.execute(
                        update(s.Seed)
                        .where(s.Seed.id == seed_id)
                        .values(profile_hash=digest, updated_at=now, active=True)
                    )
            conn.execute(
                update(s.Seed).where(s.Seed.id.not_in(list(seeds) or [""])).values(active=False)
            )
            conn.execute(
                update(s.Seed).where(s.Seed.id.in_(list(seeds) or [""])).values(active=True)
            )

    # -- matches ----------------------------------------------------------------------------

    def list_matches(self, filters: MatchFilter = EVERYTHING) -> list[types.Match]:
        """Matches newest first, one page (``limit``, ``offset``) of the filter."""
        with self._read("listing matches") as conn:
            return q.page(conn, filters, filters.limit, filters.offset)

    def count_matches(self, filters: MatchFilter = EVERYTHING) -> int:
        whole = replace(filters, limit=None, offset=0)
        with self._read("counting matches") as conn:
            query = q.narrow_query(whole, conn.dialect.name, func.count())
            return int(conn.execute(query).scalar() or 0)

    def get_matches(self, ids: Sequence[int]) -> list[types.Match]:
        with self._read("reading matches") as conn:
            query = q.match_query(MatchFilter(), conn.dialect.name)
            rows = conn.execute(query.where(s.Match.id.in_(list(ids) or [-1])))
            found = {row.id: q.to_match(row) for row in rows}
        return [found[i] for i in ids if i in found]

    def label_match(self, match_id: int, label: str, now: datetime) -> bool:
        with self._write("labelling a match") as conn:
            if conn.execute(select(s.Match.id).where(s.Match.id == match_id)).first() is None:
                return False
            conn.execute(
                self._insert(conn, s.Label).values(match_id=match_id, label=label, created_at=now)
            )
            return True

    def seen_entities(self, seed: str | None, before: datetime) -> set[str]:
        """Entity names in the reasons of matches made before ``before``."""
        query = select(s.Match.reasons).where(s.Match.matched_at < before)
        if seed:
            query = query.where(s.Match.seed_id == seed)
        names: set[str] = set()
        with self._read("reading seen entities") as conn:
            for (raw,) in conn.execute(query.order_by(s.Match.matched_at.desc()).limit(5000)):
                names.update(
                    r.get("name", "") for r in json.loads(raw) if r.get("kind") == "entity"
                )
        return names

    # -- deliveries -------------------------------------------------------------------------

    def ensure_channels(self, channels: Sequence[str], now: datetime) -> dict[str, datetime]:
        """channel → when first seen (a new channel is recorded now)."""
        with self._write("registering channels") as conn:
            for name in channels:
                conn.execute(
                    self._insert(conn, s.Channel)
                    .values(name=name, first_seen_at=now)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
            rows = conn.execute(
                select(s.Channel.name, s.Channel.first_seen_at).where(
                    s.Channel.name.in_(list(channels) or [""])
                )
            )
            return {row.name: row.first_seen_at for row in rows}

    def channel_first_seen(self, channels: Sequence[str]) -> dict[str, datetime]:
        with self._read("reading channels") as conn:
            rows = conn.execute(
                select(s.Channel.name, s.Channel.first_seen_at).where(
                    s.Channel.name.in_(list(channels) or [""])
                )
            )
            return {row.name: row.first_seen_at for row in rows}

    def release_batch(self, batch_id: str) -> None:
        self._release(s.Batch, batch_id, "releasing a delivery")

    def undelivered(
        self, channel: str, since: datetime, min_score: float | None = None
    ) -> list[types.Match]:
        """Matches since ``since`` that no batch for ``channel`` holds yet, oldest first."""
        taken = select(s.Delivery.match_id).where(
            s.Delivery.channel == channel, s.Delivery.match_id == s.Match.id
        )
        chosen = MatchFilter(since=since, min_score=min_score)
        with self._read("reading undelivered matches") as conn:
            query = q.match_query(chosen, conn.dialect.name).where(~taken.exists())
            rows = conn.execute(query.order_by(s.Match.matched_at, s.Match.id))
            return [q.to_match(row) for row in rows]

    def create_batch(
        self,
        batch_id: str,
        channel: str,
        kind: str,
        match_ids: Sequence[int],
        payload: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Freeze a batch: False when another replica took one of these matches first."""
        try:
            with self._write("creating a delivery batch") as conn:
                conn.execute(
                    self._insert(conn, s.Batch).values(
                        id=batch_id,
                        channel=channel,
                        kind=kind,
                        status="pending",
                        payload=json.dumps(payload, ensure_ascii=False),
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                if match_ids:
                    conn.execute(
                        self._insert(conn, s.Delivery),
                        [
                            {
                                "match_id": m,
                                "channel": channel,
                                "batch_id": batch_id,
                                "created_at": now,
                            }
                            for m in match_ids
                        ],
                    )
            return True
        except StorageError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                return False
            raise

    def claim_batches(
        self,
        now: datetime,
        lease_seconds: int,
        *,
        channel: str | None = None,
        force: bool = False,
        limit: int = 50,
    ) -> list[BatchRecord]:
        """Lease pending batches that are due (all pending ones when ``force``)."""
        wanted = s.Batch.status == "pending"
        if not force:
            wanted = and_(wanted, s.Batch.next_attempt_at <= now)
        if channel:
            wanted = and_(wanted, s.Batch.channel == channel)
        order = (s.Batch.created_at, s.Batch.id)
        with self._write("claiming deliveries") as conn:
            rows = self._lease(conn, s.Batch, wanted, order, limit, now, lease_seconds)
            members: dict[str, list[int]] = {row.id: [] for row in rows}
            if members:
                query = (
                    select(s.Delivery.batch_id, s.Delivery.match_id)
                    .where(s.Delivery.batch_id.in_(list(members)))
                    .order_by(s.Delivery.match_id)
                )
                for batch_id, match_id in conn.execute(query):
                    members[batch_id].append(match_id)
            return [_to_batch(row, tuple(members[row.id])) for row in rows]

    def finish_batch(
        self, batch_id: str, now: datetime, *, error: str | None, retry_at: datetime | None = None
    ) -> None:
        """Record an attempt: sent, or failed and due again at ``retry_at``."""
        with self._write("recording a delivery") as conn:
            values: dict[str, Any] = {
                "attempts": s.Batch.attempts + 1,
                "lease_until": None,
                "lease_owner": None,
            }
            if error is None:
                values.update(status="sent", sent_at=now, last_error=None)
            else:
                values.update(last_error=error, next_attempt_at=retry_at or now)
            conn.execute(update(s.Batch).where(s.Batch.id == batch_id).values(**values))
            conn.execute(
                self._insert(conn, s.Attempt).values(
                    batch_id=batch_id, at=now, ok=error is None, error=error, owner=self.owner
                )
            )

    def list_batches(self, limit: int = 100, status: str | None = None) -> list[BatchRecord]:
        query = select(s.Batch.__table__).order_by(s.Batch.created_at.desc()).limit(limit)
        if status:
            query = query.where(s.Batch.status == status)
        with self._read("listing deliveries") as conn:
            rows = conn.execute(query).all()
            counts: dict[str, int] = dict(
                conn.execute(
                    select(s.Delivery.batch_id, func.count())
                    .group_by(s.Delivery.batch_id)
                    .where(s.Delivery.batch_id.in_([r.id for r in rows] or [""]))
                ).all()
            )
        return [_to_batch(r, tuple(range(counts.get(r.id, 0)))) for r in rows]

    def attempts(self, batch_id: str) -> list[tuple[datetime, bool, str | None]]:
        with self._read("listing attempts") as conn:
            rows = conn.execute(
                select(s.Attempt.__table__)
                .where(s.Attempt.batch_id == batch_id)
                .order_by(s.Attempt.id)
            )
            return [(a.at, a.ok, a.error) for a in rows]

    # -- schedules --------------------------------------------------------------------------

    def fire_schedule(self, name: str, due: datetime) -> bool:
        """Claim the firing of ``name`` at ``due``: True for exactly one caller per ``due``."""
        with self._write("claiming a scheduled job") as conn:
            conn.execute(
                self._insert(conn, s.Schedule)
                .values(name=name, last_fired_at=None)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            done = conn.execute(
                update(s.Schedule)
                .where(
                    s.Schedule.name == name,
                    or_(s.Schedule.last_fired_at.is_(None), s.Schedule.last_fired_at < due),
                )
                .values(last_fired_at=due)
            )
            return done.rowcount == 1

    def last_fired(self, name: str) -> datetime | None:
        with self._read("reading a schedule") as conn:
            return conn.execute(
                select(s.Schedule.last_fired_at).where(s.Schedule.name == name)
            ).scalar()

    # -- upkeep and metrics -----------------------------------------------------------------

    def prune(self, now: datetime, unmatched_days: int, poll_log_days: int = 30) -> int:
        """Delete unmatched items and old poll logs; matches and labels stay."""
        with self._write("pruning old rows") as conn:
            gone = conn.execute(
                delete(s.Item).where(
                    s.Item.matched.is_(False),
                    s.Item.fetched_at < now - timedelta(days=unmatched_days),
                )
            )
            conn.execute(
                delete(s.Poll).where(s.Poll.started_at < now - timedelta(days=poll_log_days))
            )
            return gone.rowcount or 0

    def stats(self, now: datetime) -> dict[str, Any]:
        """Whole-system figures for /metrics, from what every replica recorded."""
        with self._read("reading metrics") as conn:

            def scalar(query: Any) -> Any:
                return conn.execute(query).scalar() or 0

            active = and_(s.Feed.active.is_(True), s.Feed.retired_at.is_(None))
            return {
                "feeds_ok": scalar(
                    select(func.count()).where(active, s.Feed.consecutive_failures == 0)
                ),
                "feeds_failing": scalar(
                    select(func.count()).where(active, s.Feed.consecutive_failures > 0)
                ),
                "feeds_retired": scalar(select(func.count()).where(s.Feed.retired_at.is_not(None))),
                "items": scalar(select(func.count()).select_from(s.Item)),
                "matches": dict(
                    conn.execute(
                        select(s.Match.seed_id, func.count()).group_by(s.Match.seed_id)
                    ).all()
                ),
                "deliveries_pending": scalar(
                    select(func.count()).where(s.Batch.status == "pending", s.Batch.attempts == 0)
                ),
                "deliveries_failed": scalar(
                    select(func.count()).where(s.Batch.status == "pending", s.Batch.attempts > 0)
                ),
                "deliveries_sent": scalar(select(func.count()).where(s.Batch.status == "sent")),
                "last_success": conn.execute(select(func.max(s.Feed.last_success_at))).scalar(),
                "polls": dict(
                    conn.execute(
                        select(s.Poll.outcome, func.count()).group_by(s.Poll.outcome)
                    ).all()
                ),
                "poll_durations": [
                    d
                    for (d,) in conn.execute(
                        select(s.Poll.duration).where(s.Poll.started_at >= now - timedelta(days=1))
                    )
                ],
            }


def _feed_state(row: Any) -> FeedState:
    return FeedState(
        id=row.id,
        url=row.url,
        name=row.name,
        origin=row.origin,
        etag=row.etag,
        last_modified=row.last_modified,
        content_hash=row.content_hash,
        interval_seconds=row.interval_seconds,
        consecutive_failures=row.consecutive_failures,
        failing_since=row.failing_since,
        last_changed_at=row.last_changed_at,
        last_success_at=row.last_success_at,
    )


def _feed_values(record: PollRecord) -> dict[str, Any]:
    """The feed row's new values after a poll (a new URL is checked apart)."""
    values: dict[str, Any] = {
        "next_poll_at": record.next_poll_at,
        "lease_until": None,
        "lease_owner": None,
        "last_polled_at": record.started_at,
        "last_status": record.status,
        "interval_seconds": record.interval_seconds,
    }
    if record.outcome == "failed":
        values.update(
            last_error=record.error,
            consecutive_failures=s.Feed.consecutive_failures + 1,
            failing_since=func.coalesce(s.Feed.failing_since, record.started_at),
        )
    else:
        values.update(
            last_error=None,
            consecutive_failures=0,
            failing_since=None,
            last_success_at=record.started_at,
        )
        if record.outcome == "ok":
            values.update(
                etag=record.etag,
                last_modified=record.last_modified,
                content_hash=record.content_hash,
            )
        elif record.etag or record.last_modified:
            values.update(etag=record.etag, last_modified=record.last_modified)
    if record.changed:
        values["last_changed_at"] = record.started_at
    if record.title:
        values["title"] = record.title[:500]
    if record.retire:
        values["retired_at"] = record.started_at
    return values


@functools.cache
def _dialect_insert(dialect_name: str) -> Any:
    """The dialect's INSERT (with ON CONFLICT); its module is imported when first used, as
    PostgreSQL's costs a SQLite user's start-up 40 ms."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


@functools.cache
def _item_upsert(dialect_name: str) -> Any:
    """Built once per dialect: building it costs more than running it for a small feed."""
    stmt = _dialect_insert(dialect_name)(s.Item)
    changing = ("title", "summary", "content", "url", "published", "lang", "content_hash", "source")
    return stmt.on_conflict_do_update(
        index_elements=["feed_id", "guid"],
        set_={k: getattr(stmt.excluded, k) for k in changing},
    ).returning(s.Item.id, s.Item.guid, s.Item.dedupe_key)


@dataclass(frozen=True)
class _RawUpsert:
    """An upsert compiled once, as SQL text around a repeatable VALUES row."""

    head: str
    row: str
    tail: str
    keys: tuple[str, ...]
    convert: tuple[Any, ...]  # per key: the column type's bind processor, or None
    max_rows: int

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a handful of instances, never freed
    def sql(self, rows: int) -> str:
        return self.head + ", ".join([self.row] * rows) + self.tail


@functools.cache
def _sqlite_item_upsert(dialect: Any) -> _RawUpsert:
    """``_item_upsert`` compiled for SQLite, split around its VALUES row."""
    columns = [c.name for c in s.Item.__table__.columns if c.name != "id"]
    compiled = _item_upsert("sqlite").compile(dialect=dialect, column_keys=columns)
    head, rest = compiled.string.split(" VALUES ", 1)
    row, tail = rest.split(") ON CONFLICT", 1)
    keys = tuple(compiled.positiontup or ())
    types = {c.name: c.type for c in s.Item.__table__.columns}
    return _RawUpsert(
        head=head + " VALUES ",
        row=row + ")",
        tail=" ON CONFLICT" + tail,
        keys=keys,
        convert=tuple(types[key].dialect_impl(dialect).bind_processor(dialect) for key in keys),
        max_rows=max(1, 30_000 // len(keys)),  # under SQLite's 32,766 parameters
    )


def _match_row(match: NewMatch, item_id: int, dedupe_key: str, now: datetime) -> dict[str, Any]:
    return {
        "seed_id": match.seed,
        "item_id": item_id,
        "dedupe_key": dedupe_key,
        "story_key": match.story_key,
        "score": match.result.score,
        "kind": match.result.kind,
        "matched_at": now,
        "reasons": json.dumps([r.to_json() for r in match.result.reasons], ensure_ascii=False),
    }


def _item_row(feed_id: int, stored: StoredItem, now: datetime) -> dict[str, Any]:
    item = stored.item
    return {
        "feed_id": feed_id,
        "guid": item.id[:1024],
        "url": item.url[:2048] if item.url else None,
        "dedupe_key": stored.dedupe_key,
        "title": item.title,
        "summary": item.summary,
        "content": item.content,
        "published": item.published,
        "lang": (item.lang or None) and item.lang[:16],
        "source": item.source[:500] if item.source else None,
        "content_hash": stored.content_hash,
        "fetched_at": now,
        "matched": False,
    }


def _to_batch(row: Any, match_ids: tuple[int, ...]) -> BatchRecord:
    return BatchRecord(
        id=row.id,
        channel=row.channel,
        kind=row.kind,
        status=row.status,
        payload=json.loads(row.payload),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        match_ids=match_ids,
    )
