"""Use cases: what followup does, in order, with the adapters it is given.

``Service`` never builds an adapter (``bootstrap`` does); entrypoints (CLI, scheduler, web)
only call it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.config import Settings
from pipeline.service.delivery import Dispatcher
from pipeline.service.polling import Poller
from pipeline.storage.store import Store
from pipeline.types import ChannelOutcome, FeedHealth, Match, MatchFilter, PollReport


@dataclass
class Service:
    settings: Settings
    store: Store
    poller: Poller
    dispatcher: Dispatcher
    clock: Callable[[], datetime]
    _new_matches: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.poller.on_new_matches = self._new_matches.extend

    def prepare(self) -> None:
        """Make the database agree with the config: feeds to poll, seeds to match."""
        now = self.clock()
        self.store.sync_config_feeds(self.settings.feeds, now)
        self.store.sync_seeds(
            {
                seed.id: hashlib.sha256(
                    (seed.profile_text or seed.article_text).encode("utf-8", "replace")
                ).hexdigest()
                for seed in self.settings.seeds
            },
            now,
        )

    async def poll(
        self, *, force: bool, stopping: Callable[[], bool] = lambda: False
    ) -> PollReport:
        """Poll feeds (all of them when ``force``), then alert on hot new matches."""
        report = await self.poller.poll(force=force, stopping=stopping)
        new, self._new_matches[:] = list(self._new_matches), []
        if new:
            await self.dispatcher.alert(new)
        return report

    async def send_digests(self) -> list[ChannelOutcome]:
        return await self.dispatcher.send_digests()

    async def run_due_digests(self) -> list[ChannelOutcome]:
        return await self.dispatcher.run_due_digests()

    def dry_run_digest(self) -> str:
        return self.dispatcher.dry_run_html()

    def matches(self, filters: MatchFilter) -> list[Match]:
        return self.store.list_matches(filters)

    def label(self, match_id: int, label: str) -> bool:
        return self.store.label_match(match_id, label, self.clock())

    def feed_health(self) -> list[FeedHealth]:
        return self.store.feed_health(self.clock())

    def prune(self) -> int:
        return self.store.prune(self.clock(), self.settings.retention_days)
