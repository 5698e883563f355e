"""Read queries of the review page and of `followup tune`: listing with full-text search,
facets, a story's other outlets, the coverage timeline and the labelled items.

Full-text search uses what migration 0002 built: an FTS5 trigram table on SQLite (substring
search in any script) and a GIN index over ``to_tsvector('simple', …)`` on PostgreSQL. Words
the index cannot serve (under three characters on SQLite; CJK or punctuation on PostgreSQL,
whose parser does not split CJK into words) fall back to a substring test. Every query takes
the same ``MatchFilter`` as ``Store.list_matches``, so the page, the CLI and exports agree.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    func,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from pipeline import types
from pipeline.errors import StorageError, wrap_errors
from pipeline.storage import queries as q
from pipeline.storage import schema as s
from pipeline.types import MatchFilter

_ITEM_COLUMNS = (
    s.Item.id.label("item_id"),
    s.Item.guid,
    s.Item.title,
    s.Item.summary,
    s.Item.content,
    s.Item.url,
    s.Item.published,
    s.Item.source,
    s.Item.lang,
)
TIMELINE_MAX_ROWS = 200_000  # a chart needs counts, not every row of a huge database
SIBLINGS_MAX = 500
NEARBY_MAX = 2000  # candidates for a page's language versions: days of matches, not all


@dataclass(frozen=True)
class Facets:
    """The values the filter form offers."""

    seeds: tuple[str, ...]
    feeds: tuple[tuple[str, str | None], ...]  # (url, name)
    langs: tuple[str, ...]


@dataclass(frozen=True)
class Timeline:
    """Matches per day, one series per entity or language (the biggest first)."""

    days: tuple[date, ...]
    series: tuple[tuple[str, tuple[int, ...]], ...]
    total: int


@dataclass(frozen=True)
class StoredCase:
    """A stored item as the matcher sees it, with what the database knows of it for a seed."""

    item_id: int
    item: types.Item
    match_id: int | None  # the seed's match of this item, if it matched
    score: float | None
    label: str | None  # latest label of that match


class ReviewQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _read(self, doing: str) -> Iterator[Connection]:
        with wrap_errors(StorageError, f"database error while {doing}", SQLAlchemyError):
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    # These reads look costly to the planner, so PostgreSQL would JIT-compile
                    # them: 150-500 ms of compiling for queries that run in tens of ms.
                    conn.exec_driver_sql("SET LOCAL jit = off")
                yield conn

    # -- the match list ------------------------------------------------------------------

    def matches(self, f: MatchFilter) -> list[types.Match]:
        """A page of matches, newest first (``f.limit`` and ``f.offset``)."""
        with self._read("listing matches") as conn:
            return q.page(conn, f, f.limit, f.offset)

    def iter_matches(self, f: MatchFilter, chunk: int = 2000) -> Iterator[list[types.Match]]:
        """Every match of ``f`` (at most ``f.limit``), newest first, ``chunk`` at a time.

        Each chunk is its own short read that resumes after the last row of the previous
        one (keyset paging), so an export of the whole table never holds a connection, or
        the whole result, for long.
        """
        left, after = f.limit, None
        while left is None or left > 0:
            size = chunk if left is None else min(chunk, left)
            with self._read("exporting matches") as conn:
                rows = q.page(conn, f, size, 0, after)
            if rows:
                yield rows
            if len(rows) < size:
                return
            after = (rows[-1].matched_at, rows[-1].id)
            left = None if left is None else left - len(rows)

    def count(self, f: MatchFilter) -> int:
        with self._read("counting matches") as conn:
            query = q.narrow_query(
                replace(f, limit=None, offset=0), conn.dialect.name, func.count()
            )
            return int(conn.execute(query).scalar() or 0)

    def siblings(self, page: Sequence[types.Match]) -> dict[int, list[types.Match]]:
        """match id → the other matches of its story (same seed and story key), newest first."""
        keys = {(m.seed, m.story) for m in page if m.story}
        if not keys:
            return {}
        stories = [k for _, k in keys]
        with self._read("reading stories") as conn:
            query = (
                q.match_query(MatchFilter(), conn.dialect.name)
                .where(s.Match.story_key.in_(stories))
                .order_by(s.Match.matched_at.desc(), s.Match.id.desc())
                .limit(SIBLINGS_MAX)
            )
            found = [q.to_match(row) for row in conn.execute(query)]
        by_story: dict[tuple[str, str | None], list[types.Match]] = defaultdict(list)
        for match in found:
            by_story[(match.seed, match.story)].append(match)
        return {
            m.id: [o for o in by_story.get((m.seed, m.story), []) if o.id != m.id] for m in page
        }

    def nearby(self, page: Sequence[types.Match], apart: timedelta) -> list[types.Match]:
        """Matches of the page's seeds matched at most ``apart`` from the page's time span,
        newest first (at most NEARBY_MAX): where its matches' language versions are."""
        if not page:
            return []
        seeds = sorted({m.seed for m in page})
        since = min(m.matched_at for m in page) - apart
        until = max(m.matched_at for m in page) + apart
        with self._read("reading nearby matches") as conn:
            query = (
                q.match_query(MatchFilter(), conn.dialect.name)
                .where(
                    s.Match.seed_id.in_(seeds),
                    s.Match.matched_at >= since,
                    s.Match.matched_at <= until,
                )
                .order_by(s.Match.matched_at.desc(), s.Match.id.desc())
                .limit(NEARBY_MAX)
            )
            return [q.to_match(row) for row in conn.execute(query)]

    def facets(self) -> Facets:
        with self._read("reading filter values") as conn:
            seeds = conn.execute(select(s.Match.seed_id).distinct().order_by(s.Match.seed_id))
            langs = conn.execute(
                select(s.Item.lang)
                .where(s.Item.matched.is_(True), s.Item.lang.is_not(None))
                .distinct()
                .order_by(s.Item.lang)
            )
            feeds = conn.execute(select(s.Feed.url, s.Feed.name).order_by(s.Feed.url))
            return Facets(
                seeds=tuple(seeds.scalars()),
                langs=tuple(lang for lang in langs.scalars() if lang),
                feeds=tuple((row.url, row.name) for row in feeds),
            )

    # -- the timeline --------------------------------------------------------------------

    def timeline(self, f: MatchFilter, by: str, now: datetime, top: int = 8) -> Timeline:
        """Matches per UTC day by ``by`` ("entity" or "lang"); 30 days unless ``f`` says."""
        since = f.since or (now - timedelta(days=29)).replace(hour=0, minute=0, second=0)
        until = f.until or now
        chosen = replace(f, since=since, limit=None, offset=0)
        with self._read("reading the timeline") as conn:
            if by == "lang":
                counts, total = _per_day_by_lang(conn, chosen)
            else:
                counts, total = _per_day_by_entity(conn, chosen)
        last = (until - timedelta(microseconds=1)).date() if f.until else until.date()
        days = _days(since.date(), last)
        ranked = sorted(counts, key=lambda n: (-sum(counts[n].values()), n))[:top]
        series = tuple((n, tuple(counts[n][d] for d in days)) for n in ranked)
        return Timeline(days=days, series=series, total=total)

    # -- labels, for tuning --------------------------------------------------------------

    def labelled(self, seed: str | None = None) -> list[tuple[str, StoredCase]]:
        """(seed, case) for every match with a label: its item in full and latest label."""
        with self._read("reading labelled matches") as conn:
            latest = q.latest_label()
            query = (
                select(
                    *_ITEM_COLUMNS,
                    s.Match.seed_id,
                    s.Match.id.label("match_id"),
                    s.Match.score,
                    latest.label("label"),
                )
                .join(s.Item, s.Item.id == s.Match.item_id)
                .where(latest.is_not(None))
                .order_by(s.Match.id)
            )
            if seed:
                query = query.where(s.Match.seed_id == seed)
            return [(row.seed_id, _case(row)) for row in conn.execute(query)]

    def recent_cases(self, seed: str, since: datetime, limit: int) -> list[StoredCase]:
        """Stored items fetched since ``since`` (newest first), each with the seed's match."""
        with self._read("reading stored items") as conn:
            latest = q.latest_label()
            query = (
                select(
                    *_ITEM_COLUMNS,
                    s.Match.id.label("match_id"),
                    s.Match.score,
                    latest.label("label"),
                )
                .outerjoin(s.Match, and_(s.Match.item_id == s.Item.id, s.Match.seed_id == seed))
                .where(s.Item.fetched_at >= since)
                .order_by(s.Item.fetched_at.desc(), s.Item.id.desc())
                .limit(limit)
            )
            return [_case(row) for row in conn.execute(query)]


# -- query building --------------------------------------------------------------------


# -- rows to values --------------------------------------------------------------------


Counts = dict[str, Counter[date]]


def _per_day_by_lang(conn: Connection, f: MatchFilter) -> tuple[Counts, int]:
    """Counted by the database: one row per day and language, whatever the number of matches."""
    if conn.dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", s.Match.matched_at))
    else:  # SQLite holds UTC as text: date() reads its first ten characters
        day = func.date(s.Match.matched_at)
    query = (
        q.match_query(f, conn.dialect.name, lean=True)
        .with_only_columns(day.label("day"), s.Item.lang, func.count())
        .group_by(day, s.Item.lang)
    )
    counts: Counts = defaultdict(Counter)
    total = 0
    for when, lang, count in conn.execute(query):
        counts[lang or "unknown"][date.fromisoformat(str(when))] += count
        total += count
    return counts, total


def _per_day_by_entity(conn: Connection, f: MatchFilter) -> tuple[Counts, int]:
    """Reasons are JSON text: read them (matches only, no join unless a filter needs one)."""
    query = q.narrow_query(f, conn.dialect.name, s.Match.matched_at).add_columns(s.Match.reasons)
    counts: Counts = defaultdict(Counter)
    total = 0
    for matched_at, reasons in conn.execute(query.limit(TIMELINE_MAX_ROWS)):
        names = {r.get("name", "") for r in json.loads(reasons) if r.get("kind") == "entity"}
        for name in sorted(n for n in names if n) or ["(topics only)"]:
            counts[name][matched_at.date()] += 1
        total += 1
    return counts, total


def _days(first: date, last: date) -> tuple[date, ...]:
    span = max(0, min((last - first).days, 366))
    return tuple(first + timedelta(days=n) for n in range(span + 1))


def _case(row: Any) -> StoredCase:
    return StoredCase(
        item_id=row.item_id,
        item=types.Item(
            id=row.guid,
            title=row.title,
            summary=row.summary or "",
            content=row.content or "",
            url=row.url,
            published=row.published,
            source=row.source,
            lang=row.lang,
        ),
        match_id=row.match_id,
        score=row.score,
        label=row.label,
    )
