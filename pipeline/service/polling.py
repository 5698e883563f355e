"""Polling use case: claim due feeds, fetch them, analyse changed bodies, store the outcome.

claim due feeds (leases)           store      one replica per feed and interval
fetch concurrently                 fetcher    conditional GET; errors are values
unchanged body? → not modified                content hash, nothing parsed
parse + match in worker processes  analysis   both cores
keep new or changed items only     store      known guids and content hashes
save items, matches, feed state    store      one transaction per feed
schedule the next poll             cadence    interval, backoff, Retry-After
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pipeline.cadence import Cadence, next_poll
from pipeline.errors import FeedError, FetchError
from pipeline.fetching import Fetched, FetchRequest, NotModified
from pipeline.service.analysis import AnalysedItem, Analysis, analyse_in_worker
from pipeline.storage.store import FeedState, NewMatch, PollRecord, SavedPoll, Store, StoredItem
from pipeline.types import FeedOutcome, PollReport

log = logging.getLogger("followup.poll")
GONE = 410  # the feed is gone for good: retire it instead of backing off


class FetcherLike(Protocol):
    def fetch_many(
        self, requests: Sequence[FetchRequest]
    ) -> AsyncIterator[tuple[FetchRequest, Any]]: ...


@dataclass
class Poller:
    store: Store
    open_fetcher: Callable[[], AbstractAsyncContextManager[FetcherLike]]
    executor: Executor
    cadence: Cadence
    batch_size: int
    lease_seconds: int
    clock: Callable[[], datetime]
    on_new_matches: Callable[[tuple[int, ...]], None] | None = None
    rng: random.Random = field(default_factory=random.Random)
    analyse: Callable[[bytes, str, str | None], Analysis] = analyse_in_worker

    async def poll(
        self,
        *,
        force: bool,
        max_batches: int = 1000,
        stopping: Callable[[], bool] = lambda: False,
    ) -> PollReport:
        """Poll due feeds (every active feed when ``force``) until none is left.

        Once ``stopping()`` is true no further batch is claimed; the current one finishes.
        """
        outcomes: list[FeedOutcome] = []
        async with self.open_fetcher() as fetcher:
            for _ in range(max_batches):
                if stopping():
                    break
                limit = 1_000_000 if force else self.batch_size
                feeds = await asyncio.to_thread(
                    self.store.claim_due_feeds, self.clock(), limit, self.lease_seconds, force=force
                )
                if not feeds:
                    break
                outcomes += await self._poll_batch(fetcher, feeds)
                if force or len(feeds) < limit:
                    break
        return PollReport(tuple(outcomes))

    async def _poll_batch(self, fetcher: FetcherLike, feeds: list[FeedState]) -> list[FeedOutcome]:
        by_url = {feed.url: feed for feed in feeds}
        started = {feed.url: time.monotonic() for feed in feeds}
        requests = [
            FetchRequest(
                url=f.url,
                etag=f.etag,
                last_modified=f.last_modified,
                content_hash=f.content_hash,
                check_ssrf=f.origin == "user",
            )
            for f in feeds
        ]
        tasks = []
        try:
            async for request, result in fetcher.fetch_many(requests):
                feed = by_url[request.url]
                tasks.append(asyncio.create_task(self._finish(feed, result, started[feed.url])))
        finally:
            # Whatever happened to the batch, every fetched feed is recorded or released.
            done = await asyncio.gather(*tasks, return_exceptions=True)
        outcomes = []
        for result in done:
            if isinstance(result, BaseException):
                raise result
            outcomes.append(result)
        return outcomes

    async def _finish(self, feed: FeedState, result: Any, started: float) -> FeedOutcome:
        wall = self.clock()
        try:
            record, outcome = await self._record_for(feed, result, wall, started)
        except FeedError as exc:
            record, outcome = self._failed(feed, exc, wall, started), None
        except BaseException:
            await asyncio.to_thread(self.store.release_feed, feed.id)
            raise
        saved = await asyncio.to_thread(self.store.save_poll, feed.id, record)
        if saved.new_match_ids and self.on_new_matches:
            self.on_new_matches(saved.new_match_ids)
        self._log(feed, record, saved)
        if outcome is None:
            return FeedOutcome(feed.url, "failed", error=record.error)
        return FeedOutcome(feed.url, outcome, saved.new_items, len(saved.new_match_ids))

    async def _record_for(
        self, feed: FeedState, result: Any, wall: datetime, started: float
    ) -> tuple[PollRecord, str]:
        if isinstance(result, FetchError):
            raise result
        if isinstance(result, NotModified) or (isinstance(result, Fetched) and result.unchanged):
            return self._unchanged(feed, result, wall, started), "not_modified"
        if not isinstance(result, Fetched):
            raise FetchError(feed.url, f"unexpected fetch result {type(result).__name__}")
        loop = asyncio.get_running_loop()
        analysis = await loop.run_in_executor(
            self.executor,
            self.analyse,
            result.body,
            result.final_url or feed.url,
            result.content_type,
        )
        fresh = await self._new_or_changed(feed, analysis.items)
        next_at, interval = self._schedule(
            feed, failed=False, changed=bool(fresh), retry_after=None
        )
        record = PollRecord(
            outcome="ok",
            started_at=wall,
            duration=time.monotonic() - started,
            next_poll_at=next_at,
            interval_seconds=interval,
            status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            content_hash=result.content_hash,
            changed=bool(fresh),
            new_url=result.permanent_redirect,
            title=analysis.title,
            items=[StoredItem(a.item, a.dedupe_key, a.content_hash) for a in fresh],
            matches=[
                NewMatch(a.item.id, seed, match, a.story_key)
                for a in fresh
                for seed, match in a.results
            ],
        )
        return record, "ok"

    async def _new_or_changed(
        self, feed: FeedState, items: Sequence[AnalysedItem]
    ) -> list[AnalysedItem]:
        known = await asyncio.to_thread(self.store.known_items, feed.id, [a.item.id for a in items])
        return [a for a in items if known.get(a.item.id) != a.content_hash]

    def _unchanged(
        self, feed: FeedState, result: Any, wall: datetime, started: float
    ) -> PollRecord:
        next_at, interval = self._schedule(feed, failed=False, changed=False, retry_after=None)
        return PollRecord(
            outcome="not_modified",
            started_at=wall,
            duration=time.monotonic() - started,
            next_poll_at=next_at,
            interval_seconds=interval,
            status=getattr(result, "status", 304),
            etag=result.etag or feed.etag,
            last_modified=result.last_modified or feed.last_modified,
            new_url=result.permanent_redirect,
        )

    def _failed(
        self, feed: FeedState, exc: FeedError, wall: datetime, started: float
    ) -> PollRecord:
        retry_after = exc.retry_after
        next_at, interval = self._schedule(
            feed, failed=True, changed=False, retry_after=retry_after
        )
        return PollRecord(
            outcome="failed",
            started_at=wall,
            duration=time.monotonic() - started,
            next_poll_at=next_at,
            interval_seconds=interval,
            status=exc.status,
            error=exc.reason[:1000],
            retire=exc.status == GONE,
        )

    def _schedule(
        self, feed: FeedState, *, failed: bool, changed: bool, retry_after: float | None
    ) -> tuple[datetime, int | None]:
        return next_poll(
            self.cadence,
            self.clock(),
            failed=failed,
            failures=feed.consecutive_failures + 1 if failed else 0,
            retry_after=retry_after,
            current_interval=feed.interval_seconds,
            changed=changed,
            jitter=self.rng.random(),
        )

    def _log(self, feed: FeedState, record: PollRecord, saved: SavedPoll) -> None:
        extra = {"feed": feed.url, "outcome": record.outcome}
        if record.outcome == "failed":
            log.warning("poll failed: %s", record.error, extra=extra)
        else:
            log.info(
                "polled: %d new items, %d new matches",
                saved.new_items,
                len(saved.new_match_ids),
                extra=extra,
            )
