"""Storage benchmark: ingest rate, and the digest and review queries over a million items.

    .venv/bin/python bench/storage_bench.py                   # SQLite and PostgreSQL, 1M items
    .venv/bin/python bench/storage_bench.py --items 100000    # smaller, quicker
    .venv/bin/python bench/storage_bench.py --backend sqlite

Per backend, on a fresh database (a temp SQLite file; a schema of its own on PostgreSQL,
dropped afterwards; ``FOLLOWUP_BENCH_PG_URL`` or the tests' default URL):

1. Ingest through the real write path, ``Store.save_poll``: 400 polls of 50 items, one item
   in five matching a seed (one match row each), one transaction per poll; then 400 more
   through ``Store.save_polls``, 20 polls per transaction (what the poller's writer does).
   Items and matches stored per second.
2. Fill up to ``--items`` items (bulk inserts: this step is set-up, not measured), with
   ``--match-percent`` of them matched, spread over 90 days; every match but those of the
   last day is already delivered to the benchmark's channel, and one in 20 is labelled.
3. Time (median of 5) the queries the product runs, captured as they run, and print each
   one's plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL): the digest query
   (``Store.undelivered`` for the last 7 days), the review page's list query (``Store.
   list_matches`` with a limit of 50, and ``ReviewQueries.matches`` that the page calls)
   and its count (``Store.count_matches``, ``ReviewQueries.count``).

A plan line that scans a big table whole (``SCAN items`` / ``Seq Scan on matches``) is
flagged: that is where an index is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pipeline.storage import schema as s
from pipeline.storage.engine import make_engine
from pipeline.storage.migrate import upgrade
from pipeline.storage.store import (
    MatchFilter,
    NewMatch,
    PollRecord,
    Store,
    StoredItem,
)
from pipeline.types import FeedSpec, Item, MatchResult, Reason

PG_URL = os.environ.get(
    "FOLLOWUP_BENCH_PG_URL",
    os.environ.get("FOLLOWUP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
NOW = datetime.now(UTC).replace(microsecond=0)
FEEDS = 200
SEEDS = ("pk-alibaba-2026", "pk-ant-2026")
CHANNEL = "webhook:bench"
HIT = MatchResult(
    0.87,
    True,
    "direct",
    (
        Reason("Alibaba Cloud", "Alibaba Cloud", alias="alibaba cloud", weight=0.6),
        Reason("Karachi", "Karachi", kind="topic", weight=0.2),
    ),
)
REASONS_JSON = json.dumps([r.to_json() for r in HIT.reasons])
BIG_TABLES = ("items", "matches", "deliveries", "labels")


# -- databases ----------------------------------------------------------------------------


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A fresh, empty database URL of ``backend``; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="followup-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- 1. ingest ----------------------------------------------------------------------------


def poll_record(feed: int, poll: int, items: int, at: datetime) -> PollRecord:
    stored, matches = [], []
    for n in range(items):
        guid = f"f{feed}-p{poll}-i{n}"
        item = Item(
            id=guid,
            title=f"Story {guid}: Alibaba Cloud expands in Karachi, officials say",
            summary="The company said the new region would serve banks and start-ups. " * 3,
            url=f"https://news{feed}.example.org/{guid}",
            published=at - timedelta(minutes=n),
            lang="en",
        )
        stored.append(StoredItem(item, uuid.uuid4().hex, uuid.uuid4().hex))
        if n % 5 == 0:
            matches.append(NewMatch(guid, SEEDS[n % 2], HIT, f"story-{feed}-{poll}"))
    return PollRecord(
        outcome="ok",
        started_at=at,
        duration=0.2,
        next_poll_at=at + timedelta(minutes=15),
        status=200,
        changed=True,
        items=stored,
        matches=matches,
    )


def bench_ingest(
    store: Store, polls: int = 400, items: int = 50, per_transaction: int = 1, first: int = 0
) -> dict[str, float]:
    """Save ``polls`` polls: one per transaction (``Store.save_poll``), or ``per_transaction``
    at a time (``Store.save_polls``, as the poller's writer does)."""
    feeds = [f.id for f in store.claim_due_feeds(NOW, FEEDS, 60, force=True)]
    records = [
        (feeds[p % len(feeds)], poll_record(p % len(feeds), p, items, NOW))
        for p in range(first, first + polls)
    ]
    started = time.perf_counter()
    if per_transaction == 1:
        saved = [store.save_poll(feed_id, record) for feed_id, record in records]
    else:
        saved = []
        for start in range(0, polls, per_transaction):
            saved += store.save_polls(records[start : start + per_transaction])
    elapsed = time.perf_counter() - started
    stored = sum(x.new_items for x in saved)
    matched = sum(len(x.new_match_ids) for x in saved)
    return {
        "polls": polls,
        "per_transaction": per_transaction,
        "items": stored,
        "matches": matched,
        "seconds": round(elapsed, 2),
        "items_per_s": round(stored / elapsed),
        "matches_per_s": round(matched / elapsed),
    }


# -- 2. fill ------------------------------------------------------------------------------


def fill(store: Store, total: int, match_percent: float, chunk: int = 50_000) -> dict[str, int]:
    """Bulk-load items (and their matches, deliveries, labels) up to ``total`` items.

    Ids are assigned here, so one pass writes every table without reading anything back;
    PostgreSQL loads with COPY, SQLite with executemany (its FTS triggers still run).
    """
    engine = store.engine
    with engine.connect() as conn:
        have = conn.execute(sa.select(sa.func.count()).select_from(s.Item)).scalar() or 0
        next_item = (conn.execute(sa.select(sa.func.max(s.Item.id))).scalar() or 0) + 1
        next_match = (conn.execute(sa.select(sa.func.max(s.Match.id))).scalar() or 0) + 1
        feed_ids = list(conn.execute(sa.select(s.Feed.id)).scalars())
    every = max(1, round(100 / match_percent)) if match_percent > 0 else 0
    rng = random.Random(7)
    batch_id = f"msg_{uuid.uuid4().hex}"
    _insert_rows(
        engine,
        "batches",
        (
            "id",
            "channel",
            "kind",
            "status",
            "payload",
            "attempts",
            "next_attempt_at",
            "created_at",
            "sent_at",
        ),
        [(batch_id, CHANNEL, "digest", "sent", "{}", 1, NOW, NOW, NOW)],
    )
    made = {"items": 0, "matches": 0, "deliveries": 0, "labels": 0}
    for start in range(0, total - have, chunk):
        items, matches, deliveries, labels = [], [], [], []
        for n in range(start, min(total - have, start + chunk)):
            item_id, at = next_item + n, NOW - timedelta(seconds=rng.randrange(90 * 86400))
            matched = bool(every) and n % every == 0
            items.append(_item_row(item_id, at, feed_ids, matched))
            if not matched:
                continue
            match_id = next_match + len(matches) + made["matches"]
            matches.append(_match_row(match_id, item_id, at, len(matches) + made["matches"]))
            if at < NOW - timedelta(days=1):  # older ones went out in an earlier digest
                deliveries.append((match_id, CHANNEL, batch_id, NOW))
            if match_id % 20 == 0:
                labels.append((match_id, "relevant", NOW))
        _insert_rows(engine, "items", ITEM_COLUMNS, items)
        _insert_rows(engine, "matches", MATCH_COLUMNS, matches)
        _insert_rows(
            engine, "deliveries", ("match_id", "channel", "batch_id", "created_at"), deliveries
        )
        _insert_rows(engine, "labels", ("match_id", "label", "created_at"), labels)
        for key, rows in zip(made, (items, matches, deliveries, labels), strict=True):
            made[key] += len(rows)
    _fix_sequences(engine)
    return made


ITEM_COLUMNS = (
    "id",
    "feed_id",
    "guid",
    "url",
    "dedupe_key",
    "title",
    "summary",
    "content",
    "published",
    "lang",
    "source",
    "content_hash",
    "fetched_at",
    "matched",
)
MATCH_COLUMNS = (
    "id",
    "seed_id",
    "item_id",
    "dedupe_key",
    "story_key",
    "score",
    "kind",
    "reasons",
    "matched_at",
)


def _insert_rows(
    engine: sa.Engine, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    with engine.begin() as conn:
        raw: Any = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        raw.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in rows])


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy's DateTime stores on SQLite: naive UTC text with microseconds."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _fix_sequences(engine: sa.Engine) -> None:
    """Ids were given explicitly: move PostgreSQL's sequences past them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in ("items", "matches", "deliveries", "labels"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 1))"
            )


def _item_row(item_id: int, at: datetime, feed_ids: list[int], matched: bool) -> tuple[Any, ...]:
    key = f"{item_id:064x}"
    return (
        item_id,
        feed_ids[item_id % len(feed_ids)],
        f"fill-{item_id}",
        f"https://news.example.org/fill/{item_id}",
        key,
        f"Fill item {item_id}: markets, weather and sport in Pakistan",
        "A day of news across the region. " * 4,
        "",
        at,
        "en",
        None,
        key,
        at,
        matched,
    )


def _match_row(match_id: int, item_id: int, at: datetime, n: int) -> tuple[Any, ...]:
    return (
        match_id,
        SEEDS[n % 2],
        item_id,
        f"{item_id:064x}",
        f"fill-story-{n // 3}",
        0.6 + (n % 40) / 100,
        "direct" if n % 3 else "thread",
        REASONS_JSON,
        at,
    )


# -- 3. queries and plans -----------------------------------------------------------------


@dataclass
class Timed:
    name: str
    median_ms: float
    rows: int
    plans: list[list[str]]


class Capture:
    """Records the SQL statements an engine runs, to EXPLAIN exactly those."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, Any]] = []
        self.on = False
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        # Queries only: not the SET LOCAL and such that a query may be wrapped in.
        if self.on and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.statements.append((statement, params))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements, self.on = [], True
        try:
            yield self.statements
        finally:
            self.on = False

    def explain(self, statement: str, params: Any) -> list[str]:
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                return [f"{'  ' * _depth(rows, r)}{r[-1]}" for r in rows]
            rows = conn.exec_driver_sql("EXPLAIN (COSTS OFF) " + statement, params).all()
            return [r[0] for r in rows]


def _depth(rows: list[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


def timed(name: str, capture: Capture, call: Callable[[], Any], runs: int = 5) -> Timed:
    call()  # warm the caches and the statement cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    with capture.recording() as statements:
        call()
    plans = [capture.explain(sql, params) for sql, params in statements]
    rows = result if isinstance(result, int) else len(result)
    return Timed(name, round(statistics.median(times), 2), rows, plans)


def bench_queries(store: Store) -> list[Timed]:
    capture = Capture(store.engine)
    since = NOW - timedelta(days=7)
    queries: list[tuple[str, Callable[[], Any]]] = [
        (
            "digest: Store.undelivered(channel, last 7 days)",
            lambda: store.undelivered(CHANNEL, since),
        ),
        ("list: Store.list_matches(limit=50)", lambda: store.list_matches(MatchFilter(limit=50))),
        (
            "list: Store.list_matches(seed, limit=50)",
            lambda: store.list_matches(MatchFilter(seed=SEEDS[0], limit=50)),
        ),
        ("count: Store.count_matches()", lambda: store.count_matches(MatchFilter())),
    ]
    review = _review_queries(store.engine)
    if review is not None:
        queries += [
            (
                "page: ReviewQueries.matches(limit=50)",
                lambda: review.matches(MatchFilter(limit=50)),
            ),
            ("page: ReviewQueries.count()", lambda: review.count(MatchFilter())),
        ]
    return [timed(name, capture, call) for name, call in queries]


def _review_queries(engine: sa.Engine) -> Any:
    try:
        from pipeline.storage.review import ReviewQueries
    except ImportError:  # the review page's queries are optional here
        return None
    return ReviewQueries(engine)


def full_scans(plan: list[str]) -> list[str]:
    """Plan lines that read a big table whole."""
    flagged = []
    for line in plan:
        text = line.strip()
        for table in BIG_TABLES:
            # SQLite's "SCAN t USING INDEX i" walks an index in order (stopping at a LIMIT);
            # a bare "SCAN t" reads the table.
            sqlite_scan = text == f"SCAN {table}"
            if sqlite_scan or f"Seq Scan on {table}" in text:
                flagged.append(text)
    return flagged


# -- main ---------------------------------------------------------------------------------


def run_backend(backend: str, items: int, match_percent: float) -> dict[str, Any]:
    with database(backend) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            store = Store(engine, owner="bench")
            store.sync_config_feeds(
                [FeedSpec(f"https://news{n}.example.org/feed.xml") for n in range(FEEDS)], NOW
            )
            print(f"\n== {backend} ==", flush=True)
            ingest = bench_ingest(store)
            print(f"ingest via Store.save_poll: {ingest}", flush=True)
            batched = bench_ingest(store, per_transaction=20, first=400)
            print(f"ingest via Store.save_polls, 20 polls a transaction: {batched}", flush=True)
            started = time.perf_counter()
            made = fill(store, items, match_percent)
            _analyze(engine)
            fill_s = round(time.perf_counter() - started, 1)
            print(f"filled to {items:,} items in {fill_s} s: {made}", flush=True)
            results = bench_queries(store)
            for result in results:
                _print(result)
            return {
                "ingest": ingest,
                "ingest_batched": batched,
                "fill_seconds": fill_s,
                "queries": {r.name: {"ms": r.median_ms, "rows": r.rows} for r in results},
                "full_scans": {r.name: sum((full_scans(p) for p in r.plans), []) for r in results},
            }
        finally:
            engine.dispose()


def _analyze(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _print(result: Timed) -> None:
    print(f"\n{result.name}: {result.median_ms} ms (median of 5), {result.rows} rows")
    for plan in result.plans:
        for line in plan:
            mark = "   <-- full scan" if full_scans([line]) else ""
            print(f"    {line}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="items stored (default 1M)")
    parser.add_argument("--match-percent", type=float, default=5.0, help="items that matched")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    started = time.perf_counter()
    report = {b: run_backend(b, args.items, args.match_percent) for b in backends}
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    print(f"\nsummary: {json.dumps(report, indent=2)}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
