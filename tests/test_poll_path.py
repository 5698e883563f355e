"""The poll path's throughput machinery: batched saves, origin interleaving, bounded backlog."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from pipeline.analysis import AnalysedItem, Analysis
from pipeline.cadence import Cadence
from pipeline.fetching import Fetched, FetchRequest
from pipeline.service import polling
from pipeline.service.polling import Poller
from pipeline.storage import schema as s
from pipeline.storage.store import FeedState, PollRecord, StoredItem
from pipeline.types import FeedSpec, Item

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _record(*items: tuple[str, str, datetime | None]) -> PollRecord:
    stored = [
        StoredItem(Item(guid, f"title {guid}", "summary", "", None, published), key, "h-" + guid)
        for guid, key, published in items
    ]
    return PollRecord(
        outcome="ok", started_at=NOW, duration=0.1, next_poll_at=NOW, changed=True, items=stored
    )


def test_polls_saved_in_one_batch_keep_each_feeds_items_and_an_items_first_story_key(
    db_url, store_for
):
    store = store_for(db_url)
    store.sync_config_feeds([FeedSpec("http://a.test/1"), FeedSpec("http://b.test/2")], NOW)
    first, second = store.claim_due_feeds(NOW, 10, 300, force=True)
    karachi = timezone(timedelta(hours=5))
    saved = store.save_polls(
        [
            (first.id, _record(("g1", "k1", datetime(2026, 3, 1, 10, tzinfo=karachi)))),
            (second.id, _record(("g1", "k2", None), ("g2", "k3", None))),
        ]
    )
    assert [p.new_items for p in saved] == [1, 2]
    again = store.save_polls([(first.id, _record(("g1", "k-new", None)))])
    assert again[0].new_items == 1  # a changed item counts as new, as before
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(s.Item.feed_id, s.Item.guid, s.Item.dedupe_key, s.Item.published).order_by(
                s.Item.feed_id, s.Item.guid
            )
        ).all()
    assert [(r.guid, r.dedupe_key) for r in rows] == [("g1", "k1"), ("g1", "k2"), ("g2", "k3")]
    assert rows[0].published is None  # the second poll's item had no date


def test_items_dates_are_stored_in_utc(db_url, store_for):
    store = store_for(db_url)
    store.sync_config_feeds([FeedSpec("http://a.test/1")], NOW)
    [feed] = store.claim_due_feeds(NOW, 10, 300, force=True)
    karachi = timezone(timedelta(hours=5))
    store.save_polls([(feed.id, _record(("g1", "k1", datetime(2026, 3, 1, 10, tzinfo=karachi))))])
    with store.engine.connect() as conn:
        published = conn.execute(sa.select(s.Item.published)).scalar_one()
    assert published == datetime(2026, 3, 1, 5, tzinfo=UTC)


def _feed(feed_id: int, url: str) -> FeedState:
    return FeedState(feed_id, url, None, "config", None, None, None, None, 0, None, None, None)


def test_feeds_are_fetched_one_origin_at_a_time_in_turn():
    feeds = [_feed(1, "http://a.test/1"), _feed(2, "http://a.test/2"), _feed(3, "http://a.test/3")]
    feeds += [_feed(4, "https://b.test/1"), _feed(5, "http://A.test:80/x"), _feed(6, "http://c/1")]
    order = [f.id for f in polling._interleave_origins(feeds)]
    assert order == [1, 4, 5, 6, 2, 3]


class _InstantFetcher:
    """Every feed changed; counts bodies handed out."""

    def __init__(self) -> None:
        self.fetched = 0

    async def fetch_many(
        self, requests: Sequence[FetchRequest]
    ) -> AsyncIterator[tuple[FetchRequest, Any]]:
        for request in requests:
            await asyncio.sleep(0)
            self.fetched += 1
            body = request.url.encode()
            digest = hashlib.sha256(body).hexdigest()
            yield request, Fetched(request.url, request.url, None, 200, body, None, None, None,
                                   digest, False)  # fmt: skip


def test_a_large_poll_keeps_only_a_bounded_number_of_fetched_feeds_waiting(store_for, tmp_path):
    store = store_for(f"sqlite:///{tmp_path / 'f.db'}")
    urls = [f"http://o{n % 7}.test/{n}.xml" for n in range(600)]
    store.sync_config_feeds([FeedSpec(url) for url in urls], NOW)
    fetcher, analysed, waiting = _InstantFetcher(), [0], [0]

    def analyse(body: bytes, url: str, content_type: str | None) -> Analysis:
        analysed[0] += 1
        waiting[0] = max(waiting[0], fetcher.fetched - analysed[0])
        item = Item("guid", "title", "", "", None, None)
        return Analysis(None, (AnalysedItem(item, "c", "d", "s", ()),))

    @asynccontextmanager
    async def open_fetcher() -> AsyncIterator[_InstantFetcher]:
        yield fetcher

    with ThreadPoolExecutor(1) as executor:
        poller = Poller(
            store, open_fetcher, executor, Cadence(900), 1000, 300, lambda: NOW, analyse=analyse
        )
        report = asyncio.run(poller.poll(force=True))
    assert report.to_json()["ok"] == 600
    assert waiting[0] <= polling.ANALYSIS_BACKLOG + 2 * polling.FETCH_WINDOW


def test_a_body_that_fails_to_parse_fails_alone_in_its_batch_of_parse_work():
    from pipeline.parsing import FeedParseError

    def analyse(body: bytes, url: str, content_type: str | None) -> Analysis:
        if body == b"bad":
            raise FeedParseError(url, "not a feed")
        return Analysis(url, ())

    async def parse_all() -> list[Any]:
        parser = polling._Parser(executor, analyse, slots=1)  # one slot: the rest pile up
        bodies = [b"good", b"bad", b"good", b"good"]
        jobs = [parser.parse(body, f"http://a.test/{n}", None) for n, body in enumerate(bodies)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    with ThreadPoolExecutor(1) as executor:
        results = asyncio.run(parse_all())
    assert [type(r).__name__ for r in results] == [
        "Analysis",
        "FeedParseError",
        "Analysis",
        "Analysis",
    ]
    assert results[3].title == "http://a.test/3"


def test_parse_workers_start_ahead_only_when_a_feed_was_never_fetched(store_for, tmp_path):
    store = store_for(f"sqlite:///{tmp_path / 'f.db'}")
    store.sync_config_feeds([FeedSpec(f"http://o.test/{n}.xml") for n in range(3)], NOW)
    fetcher, warmed = _InstantFetcher(), []

    @asynccontextmanager
    async def open_fetcher() -> AsyncIterator[_InstantFetcher]:
        yield fetcher

    def analyse(body: bytes, url: str, content_type: str | None) -> Analysis:
        return Analysis(None, ())

    with ThreadPoolExecutor(1) as executor:
        poller = Poller(store, open_fetcher, executor, Cadence(900), 1000, 300, lambda: NOW,
                        analyse=analyse, warm_up=lambda: warmed.append(1))  # fmt: skip
        asyncio.run(poller.poll(force=True))  # new feeds: bodies to parse ahead
        asyncio.run(poller.poll(force=True))  # each one has a content hash now
    assert warmed == [1]


def test_a_changed_feed_starts_the_workers_in_a_thread_while_the_others_are_fetched(
    store_for, tmp_path
):
    store = store_for(f"sqlite:///{tmp_path / 'f.db'}")
    store.sync_config_feeds([FeedSpec(f"http://o.test/{n}.xml") for n in range(3)], NOW)
    everything_fetched, order = threading.Event(), []

    class Fetcher(_InstantFetcher):
        async def fetch_many(self, requests):
            async for pair in super().fetch_many(requests):
                yield pair
            everything_fetched.set()

    @asynccontextmanager
    async def open_fetcher() -> AsyncIterator[_InstantFetcher]:
        yield Fetcher()

    def warm_up() -> None:  # blocks until the event loop has fetched every feed meanwhile
        order.append("starting")
        if everything_fetched.wait(10):
            order.append("started")

    def analyse(body: bytes, url: str, content_type: str | None) -> Analysis:
        order.append("parse")
        return Analysis(None, ())

    with ThreadPoolExecutor(1) as executor:
        first = Poller(store, open_fetcher, executor, Cadence(900), 1000, 300, lambda: NOW,
                       analyse=analyse)  # fmt: skip
        asyncio.run(first.poll(force=True))  # every feed now has a content hash
        order.clear()
        everything_fetched.clear()
        later = Poller(store, open_fetcher, executor, Cadence(900), 1000, 300, lambda: NOW,
                       analyse=analyse, warm_up=warm_up)  # fmt: skip
        asyncio.run(later.poll(force=True))  # no feed is new, every body changed
    assert order == ["starting", "started", "parse", "parse", "parse"]
