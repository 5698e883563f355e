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
import re
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
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.exc import SQLAlchemyError

from pipeline import types
from pipeline.errors import StorageError, wrap_errors
from pipeline.storage import schema as s
from pipeline.storage.store import MatchFilter

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# The PostgreSQL expression the GIN index of migration 0002 was built on, column for column.
_PG_VECTOR = (
    "to_tsvector('simple', coalesce(items.title, '') || ' ' || coalesce(items.summary, ''))"
)
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
            return _page(conn, f, f.limit, f.offset)

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
                rows = _page(conn, f, size, 0, after)
            if rows:
                yield rows
            if len(rows) < size:
                return
            after = (rows[-1].matched_at, rows[-1].id)
            left = None if left is None else left - len(rows)

    def count(self, f: MatchFilter) -> int:
        with self._read("counting matches") as conn:
            query = _narrow_query(replace(f, limit=None, offset=0), conn.dialect.name, func.count())
            return int(conn.execute(query).scalar() or 0)

    def siblings(self, page: Sequence[types.Match]) -> dict[int, list[types.Match]]:
        """match id → the other matches of its story (same seed and story key), newest first."""
        keys = {(m.seed, m.story) for m in page if m.story}
        if not keys:
            return {}
        stories = [k for _, k in keys]
        with self._read("reading stories") as conn:
            query = (
                _match_query(MatchFilter(), conn.dialect.name)
                .where(s.Match.story_key.in_(stories))
                .order_by(s.Match.matched_at.desc(), s.Match.id.desc())
                .limit(SIBLINGS_MAX)
            )
            found = [_to_match(row) for row in conn.execute(query)]
        by_story: dict[tuple[str, str | None], list[types.Match]] = defaultdict(list)
        for match in found:
            by_story[(match.seed, match.story)].append(match)
        return {
            m.id: [o for o in by_story.get((m.seed, m.story), []) if o.id != m.id] for m in page
        }

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
            latest = _latest_label()
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
            latest = _latest_label()
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


def _latest_label() -> Any:
    return (
        select(s.Label.label)
        .where(s.Label.match_id == s.Match.id)
        .order_by(s.Label.created_at.desc(), s.Label.id.desc())
        .limit(1)
        .correlate(s.Match)
        .scalar_subquery()
    )


def _match_query(f: MatchFilter, dialect: str, *, lean: bool = False) -> Any:
    """Matches joined with their item and feed, filtered. ``lean``: no label column."""
    latest = _latest_label()
    columns: list[Any] = [
        s.Match.id,
        s.Match.seed_id,
        s.Match.score,
        s.Match.kind,
        s.Match.reasons,
        s.Match.matched_at,
        s.Match.story_key,
        s.Item.title,
        s.Item.url,
        s.Item.summary,
        s.Item.published,
        s.Item.lang,
        s.Item.source,
        s.Feed.url.label("feed_url"),
        s.Feed.name.label("feed_name"),
    ]
    if not lean:
        columns.append(latest.label("label"))
    query = (
        select(*columns)
        .join(s.Item, s.Item.id == s.Match.item_id)
        .join(s.Feed, s.Feed.id == s.Item.feed_id)
    )
    return query.where(*_conditions(f, dialect, latest))


def _page(
    conn: Connection,
    f: MatchFilter,
    limit: int | None,
    offset: int,
    after: tuple[datetime, int] | None = None,
) -> list[types.Match]:
    """A deferred join: the page's ids first, from narrow rows (a deep page skips ids, not
    whole items with their labels), then the full rows of only those ids."""
    newest_first = (s.Match.matched_at.desc(), s.Match.id.desc())
    ids = _narrow_query(f, conn.dialect.name, s.Match.id.label("page_id"))
    if after is not None:
        at, last = after
        # The first condition is a range on ix_matches_matched_at; the second breaks ties.
        ids = ids.where(
            s.Match.matched_at <= at, tuple_(s.Match.matched_at, s.Match.id) < tuple_(at, last)
        )
    page = ids.order_by(*newest_first).limit(limit).offset(offset or None).subquery()
    full = (
        _match_query(MatchFilter(), conn.dialect.name)
        .join(page, page.c.page_id == s.Match.id)
        .order_by(*newest_first)
    )
    return [_to_match(row) for row in conn.execute(full)]


def _narrow_query(f: MatchFilter, dialect: str, column: Any) -> Any:
    """``column`` over the filtered matches, joining items and feeds only when a filter
    needs them (every match has both: the foreign keys say so), so that counting and
    paging walk the matches' own indexes."""
    query = select(column).select_from(s.Match)
    if f.lang or f.feed or (f.query and f.query.strip()):
        query = query.join(s.Item, s.Item.id == s.Match.item_id).join(
            s.Feed, s.Feed.id == s.Item.feed_id
        )
    return query.where(*_conditions(f, dialect, _latest_label()))


def _conditions(f: MatchFilter, dialect: str, latest: Any) -> list[Any]:
    simple = (
        (f.seed, lambda v: s.Match.seed_id == v),
        (f.since, lambda v: s.Match.matched_at >= v),
        (f.until, lambda v: s.Match.matched_at < v),
        (f.kind, lambda v: s.Match.kind == v),
        (f.feed, lambda v: or_(s.Feed.url == v, s.Feed.name == v)),
        (f.lang, lambda v: s.Item.lang == v),
        (f.entity, lambda v: s.Match.reasons.contains(json.dumps(v, ensure_ascii=False))),
    )
    conditions = [make(value) for value, make in simple if value]
    if f.min_score is not None:
        conditions.append(s.Match.score >= f.min_score)
    if f.query and f.query.strip():
        conditions.extend(search_conditions(f.query, dialect))
    if f.label == "unlabeled":  # no label at all: an anti-join, not a lookup per row
        conditions.append(~select(s.Label.id).where(s.Label.match_id == s.Match.id).exists())
    elif f.label:  # ever given this label (a semi-join narrows), and it is still the latest
        given = select(s.Label.match_id).where(s.Label.label == f.label)
        conditions.extend((s.Match.id.in_(given), latest == f.label))
    return conditions


def search_conditions(query: str, dialect: str) -> list[Any]:
    """Every word of ``query`` must occur in the item's title or summary."""
    indexed, rest = [], []
    for word in query.split()[:20]:
        if dialect == "sqlite" and len(word) >= 3:
            indexed.append('"' + word.replace('"', '""') + '"')
        elif dialect == "postgresql" and _WORD.fullmatch(word) and not _CJK.search(word):
            indexed.append(word + ":*")
        else:
            rest.append(word)
    conditions = [_substring(word) for word in rest]
    if indexed and dialect == "sqlite":
        fts = text("SELECT rowid FROM items_fts WHERE items_fts MATCH :fts").bindparams(
            fts=" AND ".join(indexed)
        )
        conditions.append(s.Item.id.in_(fts.columns(literal_column("rowid"))))
    elif indexed:
        tsquery = func.to_tsquery(literal_column("'simple'"), " & ".join(indexed))
        conditions.append(literal_column(_PG_VECTOR).op("@@")(tsquery))
    return conditions


def _substring(word: str) -> Any:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    return or_(
        func.lower(s.Item.title).like(like, escape="\\"),
        func.lower(s.Item.summary).like(like, escape="\\"),
    )


# -- rows to values --------------------------------------------------------------------


Counts = dict[str, Counter[date]]


def _per_day_by_lang(conn: Connection, f: MatchFilter) -> tuple[Counts, int]:
    """Counted by the database: one row per day and language, whatever the number of matches."""
    if conn.dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", s.Match.matched_at))
    else:  # SQLite holds UTC as text: date() reads its first ten characters
        day = func.date(s.Match.matched_at)
    query = (
        _match_query(f, conn.dialect.name, lean=True)
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
    query = _narrow_query(f, conn.dialect.name, s.Match.matched_at).add_columns(s.Match.reasons)
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


def _to_match(row: Any) -> types.Match:
    return types.Match(
        id=row.id,
        seed=row.seed_id,
        score=row.score,
        kind=row.kind,
        title=row.title,
        url=row.url,
        feed=row.feed_url,
        feed_name=row.feed_name,
        published=row.published,
        matched_at=row.matched_at,
        summary=row.summary or "",
        lang=row.lang,
        source=row.source,
        label=row.label,
        story=row.story_key,
        reasons=tuple(types.Reason.from_json(r) for r in json.loads(row.reasons)),
    )


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
