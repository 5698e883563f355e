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
import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AsyncExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

from pipeline.cadence import Cadence, next_poll
from pipeline.errors import FeedError, FetchError, StorageError
from pipeline.storage.store import FeedState, NewMatch, PollRecord, SavedPoll, Store, StoredItem
from pipeline.types import FeedOutcome, PollReport

if TYPE_CHECKING:
    # Imported when a poll has feeds to fetch (httpx) or bodies to parse (feedparser and the
    # matcher): a poll with nothing to do, a command's start-up, pays for neither.
    from pipeline.fetching import Fetched, FetchRequest
    from pipeline.types import Analysis

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
    on_progress: Callable[[int, int], None] | None = None  # (feeds done, feeds claimed)
    rng: random.Random = field(default_factory=random.Random)
    analyse: Callable[[bytes, str, str | None], Analysis] | None = None  # analyse_in_worker
    analysis_slots: int = 4  # parse tasks in flight: two per worker keeps each one busy
    warm_up: Callable[[], None] | None = None  # starts the parse workers; blocks meanwhile
    _claimed: int = 0
    _done: int = 0
    _warming: asyncio.Future[None] | None = None  # this poll's start of the parse workers
    _workers_started: bool = False

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
        self._claimed = self._done = 0
        self._warming = None
        fetcher: FetcherLike | None = None
        async with AsyncExitStack() as stack:
            for _ in range(max_batches):
                if stopping():
                    break
                limit = 1_000_000 if force else self.batch_size
                feeds = await asyncio.to_thread(
                    self.store.claim_due_feeds, self.clock(), limit, self.lease_seconds, force=force
                )
                if not feeds:
                    break
                if not self._workers_started and any(f.content_hash is None for f in feeds):
                    self._start_workers()  # ahead: such a feed will send a body to parse
                if fetcher is None:  # opened for the first feed: TLS set-up costs ~40 ms
                    fetcher = await stack.enter_async_context(self.open_fetcher())
                self._claimed += len(feeds)
                outcomes += await self._poll_batch(fetcher, feeds)
                if force or len(feeds) < limit:
                    break
        if self._warming is not None:
            await self._warming
        return PollReport(tuple(outcomes))

    def _start_workers(self) -> asyncio.Future[None]:
        """Start the parse workers in a thread, once: their start-up (a fork server importing
        the parser and matcher, ~0.25 s) then overlaps the fetching instead of stalling the
        event loop, which the first task sent to a pool not yet started would do. A failure
        to start shows again, as each parse's error."""

        def warm_up() -> None:
            if self.warm_up is None:
                return
            try:
                self.warm_up()
            except Exception:  # reported by the parses themselves
                log.debug("parse workers did not start ahead", exc_info=True)
            else:
                self._workers_started = True

        if self._warming is None:
            self._warming = asyncio.get_running_loop().run_in_executor(None, warm_up)
        return self._warming

    async def _poll_batch(self, fetcher: FetcherLike, feeds: list[FeedState]) -> list[FeedOutcome]:
        from pipeline.fetching import FetchRequest

        by_url = {feed.url: feed for feed in feeds}
        requests = [
            FetchRequest(
                url=f.url,
                etag=f.etag,
                last_modified=f.last_modified,
                content_hash=f.content_hash,
                check_ssrf=f.origin == "user",
            )
            for f in _interleave_origins(feeds)
        ]
        tasks = []
        # One thread writes (one malloc arena, no lock waits); it is gone after the batch.
        pool = ThreadPoolExecutor(1, thread_name_prefix="followup-writer")
        writer, backlog = _Writer(self._save_drafts, pool), _Backlog(ANALYSIS_BACKLOG)
        parser = _Parser(self.executor, self.analyse, self.analysis_slots)

        def fetched(request: FetchRequest, result: Any, started: float) -> None:
            finish = self._finish(by_url[request.url], result, started, writer, backlog, parser)
            tasks.append(asyncio.create_task(finish))

        try:
            await _fetch_in_windows(fetcher, requests, fetched, backlog)
        finally:
            # Whatever happened to the batch, every fetched feed is recorded or released.
            done = await asyncio.gather(*tasks, return_exceptions=True)
            pool.shutdown(wait=False)
        outcomes = []
        for result in done:
            if isinstance(result, BaseException):
                raise result
            outcomes.append(result)
        return outcomes

    async def _finish(
        self,
        feed: FeedState,
        result: Any,
        started: float,
        writer: _Writer,
        backlog: _Backlog,
        parser: _Parser,
    ) -> FeedOutcome:
        wall = self.clock()
        with backlog.holding():  # until saved: parsed items waiting for the writer count too
            try:
                draft = await self._draft(feed, result, wall, started, parser)
            except FeedError as exc:
                draft = _Draft(feed, started, "failed", self._failed(feed, exc, wall, started))
            except BaseException:
                await asyncio.to_thread(self.store.release_feed, feed.id)
                raise
            record, saved = await writer.save(draft)
        if saved.new_match_ids and self.on_new_matches:
            self.on_new_matches(saved.new_match_ids)
        if self.on_progress:
            self._done += 1
            self.on_progress(self._done, self._claimed)
        self._log(feed, record, saved)
        if draft.outcome == "failed":
            return FeedOutcome(feed.url, "failed", error=record.error)
        return FeedOutcome(feed.url, draft.outcome, saved.new_items, len(saved.new_match_ids))

    async def _draft(
        self, feed: FeedState, result: Any, wall: datetime, started: float, parser: _Parser
    ) -> _Draft:
        from pipeline.fetching import Fetched, NotModified

        if isinstance(result, FetchError):
            raise result
        if isinstance(result, NotModified) or (isinstance(result, Fetched) and result.unchanged):
            return _Draft(
                feed, started, "not_modified", self._unchanged(feed, result, wall, started)
            )
        if not isinstance(result, Fetched):
            raise FetchError(feed.url, f"unexpected fetch result {type(result).__name__}")
        if self.warm_up is not None and not self._workers_started:
            await asyncio.shield(self._start_workers())
        analysis = await parser.parse(
            result.body, result.final_url or feed.url, result.content_type
        )
        # The body is parsed: drop it rather than keep it until the writer gets to this feed.
        return _Draft(feed, started, "ok", None, replace(result, body=b""), analysis, wall)

    def _save_drafts(self, drafts: Sequence[_Draft]) -> list[_Saved | BaseException]:
        """In the writer's thread: keep new or changed items, then save the batch at once."""
        wanted = {d.feed.id: [a.item.id for a in d.analysis.items] for d in drafts if d.analysis}
        known = self.store.known_items_many(wanted) if wanted else {}
        results: list[_Saved | BaseException | None] = [None] * len(drafts)
        ready: list[tuple[int, PollRecord]] = []
        for index, draft in enumerate(drafts):
            try:
                record = draft.record or self._ok_record(draft, known.get(draft.feed.id, {}))
            except Exception as exc:  # a bug: this feed is released, the others are saved
                self.store.release_feed(draft.feed.id)
                results[index] = exc
                continue
            ready.append((index, record))
        saved = _save_each_on_failure(self.store, [(drafts[i].feed.id, r) for i, r in ready])
        for (index, record), one in zip(ready, saved, strict=True):
            results[index] = one if isinstance(one, BaseException) else (record, one)
        return [r for r in results if r is not None]

    def _ok_record(self, draft: _Draft, known: Mapping[str, str]) -> PollRecord:
        result, analysis = draft.fetched, draft.analysis
        assert result is not None and analysis is not None and draft.wall is not None
        fresh = [a for a in analysis.items if known.get(a.item.id) != a.content_hash]
        next_at, interval = self._schedule(
            draft.feed, failed=False, changed=bool(fresh), retry_after=None
        )
        return PollRecord(
            outcome="ok",
            started_at=draft.wall,
            duration=time.monotonic() - draft.started,
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


@dataclass(frozen=True)
class _Draft:
    """A polled feed on its way to the writer."""

    feed: FeedState
    started: float
    outcome: Literal["ok", "not_modified", "failed"]
    record: PollRecord | None  # None: an ok poll whose new items are not known yet
    fetched: Fetched | None = None
    analysis: Analysis | None = None
    wall: datetime | None = None


_Saved = tuple[PollRecord, SavedPoll]
WRITE_BATCH = 100  # feeds per transaction at most: bounds the rows held in memory


class _Writer:
    """Saves finished feeds from one thread, in batches of whatever has piled up meanwhile.

    SQLite serialises writers and pays for each commit: a transaction per feed, from several
    threads, spent most of a first poll waiting for the write lock. One writer draining a
    queue turns hundreds of small transactions into a few large ones.
    """

    def __init__(
        self,
        save: Callable[[Sequence[_Draft]], list[_Saved | BaseException]],
        pool: Executor,
    ) -> None:
        self._save, self._pool = save, pool
        self._queue: list[tuple[_Draft, asyncio.Future[_Saved]]] = []
        self._task: asyncio.Task[None] | None = None

    async def save(self, draft: _Draft) -> _Saved:
        future: asyncio.Future[_Saved] = asyncio.get_running_loop().create_future()
        self._queue.append((draft, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:WRITE_BATCH], self._queue[WRITE_BATCH:]
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self._pool, self._save, [draft for draft, _ in batch]
                )
            except asyncio.CancelledError:
                for _, future in batch + self._queue:
                    future.cancel()
                raise
            except BaseException as exc:  # handed to every feed of the batch, raised there
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)


def _save_each_on_failure(
    store: Store, records: list[tuple[int, PollRecord]]
) -> list[SavedPoll | BaseException]:
    """All in one transaction; if that fails, each on its own, so only the culprit fails."""
    if not records:
        return []
    try:
        return list(store.save_polls(records))
    except StorageError as exc:
        if len(records) == 1:
            return [exc]
    saved: list[SavedPoll | BaseException] = []
    for feed_id, record in records:
        try:
            saved.append(store.save_poll(feed_id, record))
        except StorageError as exc:
            saved.append(exc)
    return saved


ANALYSIS_BACKLOG = 128  # fetched feeds not saved yet (bodies, parsed items), at most (about)
FETCH_WINDOW = 64  # feeds handed to the fetcher at once; two windows overlap


class _Backlog:
    """Fetched feeds not saved yet. In a first poll fetching outruns parsing and writing many
    times over: unbounded, every body or parsed feed of the batch would wait in memory."""

    def __init__(self, limit: int) -> None:
        self.limit, self.count = limit, 0
        self._changed = asyncio.Event()

    async def room(self) -> None:
        while self.count >= self.limit:
            self._changed.clear()
            await self._changed.wait()

    @contextmanager
    def holding(self) -> Iterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1
            self._changed.set()


async def _fetch_in_windows(
    fetcher: FetcherLike,
    requests: Sequence[FetchRequest],
    fetched: Callable[[FetchRequest, Any, float], None],
    backlog: _Backlog,
) -> None:
    """Fetch ``requests`` a window at a time, two windows in flight, and start the next one
    only while the parse workers have room: memory stays flat however large the batch."""

    async def window(part: Sequence[FetchRequest]) -> None:
        started = time.monotonic()
        async for request, result in fetcher.fetch_many(part):
            fetched(request, result, started)

    running: set[asyncio.Task[None]] = set()
    try:
        for start in range(0, len(requests), FETCH_WINDOW):
            await backlog.room()
            running.add(asyncio.create_task(window(requests[start : start + FETCH_WINDOW])))
            if len(running) >= 2:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a bug in fetching stops the batch
        while running:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


def _interleave_origins(feeds: Sequence[FeedState]) -> list[FeedState]:
    """One feed per origin in turn, so that a window is not all one host (which the
    per-origin limit would then slow to a crawl)."""
    seen: dict[str, int] = {}
    ranked = []
    for index, feed in enumerate(feeds):
        origin = _origin_of(feed.url)
        rank = seen[origin] = seen.get(origin, -1) + 1
        ranked.append((rank, index, feed))
    return [feed for _, _, feed in sorted(ranked, key=lambda r: (r[0], r[1]))]


def _origin_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower()
    except ValueError:  # the fetcher reports a bad URL; here it is just one more origin
        return url


ANALYSIS_BATCH = 8  # bodies per parse task at most


class _Parser:
    """Hands fetched bodies to the parse workers, several per task when they pile up.

    Each task costs the event loop's process pickling, a queue, two helper threads and a
    wake-up; in a first poll, bodies arrive faster than the workers parse them, so sending
    what has piled up as one task costs a fraction of that. When the workers keep up, a
    body goes out alone and at once.
    """

    def __init__(
        self,
        executor: Executor,
        analyse: Callable[[bytes, str, str | None], Analysis] | None,
        slots: int,
    ) -> None:
        self._executor, self._analyse, self._slots = executor, analyse, max(1, slots)
        self._pending: list[tuple[tuple[bytes, str, str | None], asyncio.Future[Analysis]]] = []
        self._running = 0

    async def parse(self, body: bytes, url: str, content_type: str | None) -> Analysis:
        future: asyncio.Future[Analysis] = asyncio.get_running_loop().create_future()
        self._pending.append(((body, url, content_type), future))
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        # The matcher and feedparser are imported at the first body: a poll where nothing
        # changed never needs them.
        from pipeline.workers import analyse_each, analyse_in_worker

        analyse = self._analyse or analyse_in_worker
        loop = asyncio.get_running_loop()
        while self._pending and self._running < self._slots:
            batch = self._pending[:ANALYSIS_BATCH]
            del self._pending[:ANALYSIS_BATCH]
            self._running += 1
            jobs = [job for job, _ in batch]
            task = loop.run_in_executor(self._executor, analyse_each, analyse, jobs)
            task.add_done_callback(functools.partial(self._done, batch))

    def _done(
        self,
        batch: list[tuple[Any, asyncio.Future[Analysis]]],
        task: asyncio.Future[list[Analysis | BaseException]],
    ) -> None:
        self._running -= 1
        if task.cancelled():
            results: list[Any] = [asyncio.CancelledError()] * len(batch)
        elif task.exception() is not None:  # the task itself failed (a broken pool, say)
            results = [task.exception()] * len(batch)
        else:
            results = task.result()
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, asyncio.CancelledError):
                future.cancel()
            elif isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        if self._pending:
            self._dispatch()
