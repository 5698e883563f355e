"""The match query shared by the store, the review page, the CLI and exports.

One ``MatchFilter`` means the same thing everywhere. Full-text search uses what migration
0002 built: an FTS5 trigram table on SQLite (substring search in any script; since 0004 it
holds only items with a match, the only ones searched) and a GIN index over
``to_tsvector('simple', …)`` on PostgreSQL; words the index cannot serve fall back to a
substring test.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, literal_column, or_, select, text, tuple_

from pipeline import types
from pipeline.storage import schema as s
from pipeline.types import MatchFilter

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# The PostgreSQL expression the GIN index of migration 0002 was built on, column for column.
_PG_VECTOR = (
    "to_tsvector('simple', coalesce(items.title, '') || ' ' || coalesce(items.summary, ''))"
)


def latest_label() -> Any:
    return (
        select(s.Label.label)
        .where(s.Label.match_id == s.Match.id)
        .order_by(s.Label.created_at.desc(), s.Label.id.desc())
        .limit(1)
        .correlate(s.Match)
        .scalar_subquery()
    )


def match_query(f: MatchFilter, dialect: str, *, lean: bool = False) -> Any:
    """Matches joined with their item and feed, filtered. ``lean``: no label column."""
    latest = latest_label()
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
    return query.where(*conditions(f, dialect, latest))


def page(
    conn: Connection,
    f: MatchFilter,
    limit: int | None,
    offset: int,
    after: tuple[datetime, int] | None = None,
) -> list[types.Match]:
    """A deferred join: the page's ids first, from narrow rows (a deep page skips ids, not
    whole items with their labels), then the full rows of only those ids."""
    newest_first = (s.Match.matched_at.desc(), s.Match.id.desc())
    ids = narrow_query(f, conn.dialect.name, s.Match.id.label("page_id"))
    if after is not None:
        at, last = after
        # The first condition is a range on ix_matches_matched_at; the second breaks ties.
        ids = ids.where(
            s.Match.matched_at <= at, tuple_(s.Match.matched_at, s.Match.id) < tuple_(at, last)
        )
    page = ids.order_by(*newest_first).limit(limit).offset(offset or None).subquery()
    full = (
        match_query(MatchFilter(), conn.dialect.name)
        .join(page, page.c.page_id == s.Match.id)
        .order_by(*newest_first)
    )
    return [to_match(row) for row in conn.execute(full)]


def narrow_query(f: MatchFilter, dialect: str, column: Any) -> Any:
    """``column`` over the filtered matches, joining items and feeds only when a filter
    needs them (every match has both: the foreign keys say so), so that counting and
    paging walk the matches' own indexes."""
    query = select(column).select_from(s.Match)
    if f.lang or f.feed or (f.query and f.query.strip()):
        query = query.join(s.Item, s.Item.id == s.Match.item_id).join(
            s.Feed, s.Feed.id == s.Item.feed_id
        )
    return query.where(*conditions(f, dialect, latest_label()))


def conditions(f: MatchFilter, dialect: str, latest: Any) -> list[Any]:
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
    conditions = [substring_condition(word) for word in rest]
    if indexed and dialect == "sqlite":
        fts = text("SELECT rowid FROM items_fts WHERE items_fts MATCH :fts").bindparams(
            fts=" AND ".join(indexed)
        )
        conditions.append(s.Item.id.in_(fts.columns(literal_column("rowid"))))
    elif indexed:
        tsquery = func.to_tsquery(literal_column("'simple'"), " & ".join(indexed))
        conditions.append(literal_column(_PG_VECTOR).op("@@")(tsquery))
    return conditions


def substring_condition(word: str) -> Any:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    return or_(
        func.lower(s.Item.title).like(like, escape="\\"),
        func.lower(s.Item.summary).like(like, escape="\\"),
    )


def to_match(row: Any) -> types.Match:
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
