"""Delivery use case: freeze batches in the outbox, send them, retry what failed.

    matches a channel has not received    store     since it was first seen, less backfill
    freeze them into a batch              store     rendered payload stored with the batch
    claim due batches (leases)            store     one replica sends each batch
    send                                  notifier  webhook-id / Message-ID = batch id
    record the attempt                    store     sent, or retried later with backoff

A batch is frozen once: a retry sends the very same bytes with the same id, so a receiver
can drop a repeat (the window between sending and recording cannot be closed otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from pipeline.cadence import crontab_trigger, latest_fire_time
from pipeline.errors import DeliveryError
from pipeline.notify.base import Notifier
from pipeline.storage.store import BatchRecord, Store
from pipeline.types import ChannelOutcome, Delivery, DigestMessage, Match, MatchFilter

if TYPE_CHECKING:  # rendering (jinja2) is imported when a digest is made, not at start-up
    from pipeline.digest import DigestContext, WebhookFormat

log = logging.getLogger("followup.deliver")
MAX_RETRY_SECONDS = 6 * 3600
FAILING_FOOTER_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Channel:
    """A configured delivery channel; ``notifier`` is None when only rendering."""

    name: str  # "email" or "webhook:<url>"
    format: str  # "email", "json", "slack" or "discord"
    cron: str
    timezone: str
    alerts: bool = False
    notifier: Notifier | None = None


@dataclass
class Dispatcher:
    store: Store
    channels: Sequence[Channel]
    clock: Callable[[], datetime]
    seed_titles: dict[str, str] = field(default_factory=dict)
    backfill_days: int = 7
    send_empty: bool = False
    alert_score: float | None = None
    retry_seconds: int = 60
    lease_seconds: int = 300
    display_timezone: str = "UTC"

    # -- rendering --------------------------------------------------------------------------

    def dry_run_html(self) -> str:
        """The digest of the matches some channel has not received, marking nothing."""
        now = self.clock()
        if not self.channels:
            matches = self.store.list_matches(
                MatchFilter(since=now - timedelta(days=self.backfill_days))
            )
        else:
            first_seen = self._first_seen(register=False)
            seen: dict[int, Match] = {}
            for channel in self.channels:
                for match in self.store.undelivered(
                    channel.name, self._since(first_seen, channel, now)
                ):
                    seen[match.id] = match
            matches = sorted(seen.values(), key=lambda m: (m.matched_at, m.id))
        from pipeline.digest import render_digest

        return render_digest(matches, self._context(matches, now)).html

    def _context(self, matches: Sequence[Match], now: datetime) -> DigestContext:
        start = min((m.matched_at for m in matches), default=now - timedelta(days=1))
        previous = self.store.count_matches(MatchFilter(since=start - (now - start), until=start))
        seen_before = self.store.seen_entities(None, start)
        entities = {r.name for m in matches for r in m.reasons if r.kind == "entity"}
        failing = [
            f
            for f in self.store.feed_health(now)
            if f.failing_since and now - f.failing_since >= FAILING_FOOTER_AFTER and not f.retired
        ]
        from pipeline.digest import DigestContext

        return DigestContext(
            period_end=now,
            generated_at=now,
            period_start=start,
            seed_titles=self.seed_titles,
            previous_period_count=previous,
            new_entities=frozenset(entities - seen_before) if seen_before else frozenset(),
            failing_feeds=failing,
            timezone=self.display_timezone,
        )

    def _payload(
        self, channel: Channel, matches: Sequence[Match], batch_id: str, kind: str
    ) -> dict[str, Any]:
        from pipeline.digest import render_alert, render_digest, render_webhook_body

        ctx = self._context(matches, self.clock())
        message = (
            render_alert(matches[0], ctx)
            if kind == "alert" and len(matches) == 1
            else render_digest(matches, ctx)
        )
        payload: dict[str, Any] = {
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
        }
        if channel.format != "email":
            event: Literal["digest", "alert"] = "alert" if kind == "alert" else "digest"
            fmt = cast("WebhookFormat", channel.format)
            body = render_webhook_body(matches, ctx, fmt, batch_id, event=event)
            payload.update(body=body.decode("utf-8"), content_type="application/json")
        return payload

    # -- batches ----------------------------------------------------------------------------

    def _first_seen(self, *, register: bool = True) -> dict[str, datetime]:
        names = [c.name for c in self.channels]
        if register:
            return self.store.ensure_channels(names, self.clock())
        return self.store.channel_first_seen(names)

    def _since(self, first_seen: dict[str, datetime], channel: Channel, now: datetime) -> datetime:
        return first_seen.get(channel.name, now) - timedelta(days=self.backfill_days)

    def freeze_digest(self, channel: Channel, first_seen: dict[str, datetime]) -> str | None:
        """Freeze what ``channel`` has not received into a batch; None when nothing is new."""
        now = self.clock()
        matches = self.store.undelivered(channel.name, self._since(first_seen, channel, now))
        if not matches and not self.send_empty:
            return None
        return self._freeze(channel, matches, "digest")

    def _freeze(self, channel: Channel, matches: Sequence[Match], kind: str) -> str | None:
        batch_id = f"msg_{uuid.uuid4().hex}"
        payload = self._payload(channel, matches, batch_id, kind)
        ids = [m.id for m in matches]
        if self.store.create_batch(batch_id, channel.name, kind, ids, payload, self.clock()):
            log.info(
                "froze %s batch of %d matches", kind, len(ids), extra={"channel": channel.name}
            )
            return batch_id
        log.info("another replica took these matches first", extra={"channel": channel.name})
        return None

    # -- sending ----------------------------------------------------------------------------

    async def send_digests(self) -> list[ChannelOutcome]:
        """`digest --send`: freeze what is new for every channel, then send all pending."""
        first_seen = await asyncio.to_thread(self._first_seen)
        for channel in self.channels:
            await asyncio.to_thread(self.freeze_digest, channel, first_seen)
        return await self.send_pending(force=True)

    async def send_pending(
        self, *, force: bool, only: Sequence[str] | None = None
    ) -> list[ChannelOutcome]:
        """Send claimed batches; channels in parallel, each channel's batches in order."""
        claimed = await asyncio.to_thread(
            self.store.claim_batches, self.clock(), self.lease_seconds, force=force, limit=1000
        )
        by_channel: dict[str, list[BatchRecord]] = defaultdict(list)
        for batch in claimed:
            by_channel[batch.channel].append(batch)
        known = {c.name: c for c in self.channels}
        wanted = [c for c in self.channels if only is None or c.name in only]
        results = await asyncio.gather(
            *(self._send_channel(c, by_channel.get(c.name, [])) for c in wanted)
        )
        for name, batches in by_channel.items():  # a channel no longer configured: let go
            if name not in known or (only is not None and name not in only):
                for batch in batches:
                    await asyncio.to_thread(self.store.release_batch, batch.id)
        return list(results)

    async def _send_channel(self, channel: Channel, batches: list[BatchRecord]) -> ChannelOutcome:
        sent, matches, errors = 0, 0, []
        for batch in batches:
            error = await self._send_batch(channel, batch)
            if error is None:
                sent, matches = sent + 1, matches + len(batch.match_ids)
            else:
                errors.append(error)
        return ChannelOutcome(channel.name, sent, matches, tuple(errors))

    async def _send_batch(self, channel: Channel, batch: BatchRecord) -> str | None:
        assert channel.notifier is not None, "channels that send are built with a notifier"
        delivery = _delivery(batch)
        try:
            await channel.notifier.send(delivery)
        except DeliveryError as exc:
            delay = min(self.retry_seconds * 2**batch.attempts, MAX_RETRY_SECONDS)
            asked = getattr(exc, "retry_after", None)  # a receiver's Retry-After, if it sent one
            if asked:
                delay = max(delay, min(float(asked), MAX_RETRY_SECONDS))
            now = self.clock()
            await asyncio.to_thread(
                self.store.finish_batch,
                batch.id,
                now,
                error=exc.reason[:1000],
                retry_at=now + timedelta(seconds=delay),
            )
            log.warning(
                "delivery failed, retry in %ds: %s",
                delay,
                exc.reason,
                extra={"channel": channel.name, "batch": batch.id},
            )
            return str(exc)
        await asyncio.to_thread(self.store.finish_batch, batch.id, self.clock(), error=None)
        log.info(
            "delivered %d matches",
            len(batch.match_ids),
            extra={"channel": channel.name, "batch": batch.id},
        )
        return None

    # -- the service's jobs -----------------------------------------------------------------

    async def run_due_digests(self) -> list[ChannelOutcome]:
        """Freeze a digest for each channel whose cron fired (once, even if ticks were missed)."""
        now = self.clock()
        first_seen = await asyncio.to_thread(self._first_seen)
        for channel in self.channels:
            name = f"digest:{channel.name}"
            last = await asyncio.to_thread(self.store.last_fired, name)
            if last is None:  # first start: the schedule begins now
                await asyncio.to_thread(self.store.fire_schedule, name, now)
                continue
            due = latest_fire_time(crontab_trigger(channel.cron, channel.timezone), last, now)
            if due is None:
                continue
            if await asyncio.to_thread(self.store.fire_schedule, name, due):  # one replica wins
                await asyncio.to_thread(self.freeze_digest, channel, first_seen)
        return await self.send_pending(force=False)

    async def alert(self, match_ids: Sequence[int]) -> list[ChannelOutcome]:
        """Send new matches from ``alert_score`` at once on channels that ask for alerts."""
        wanted = [c for c in self.channels if c.alerts]
        if self.alert_score is None or not wanted or not match_ids:
            return []
        matches = await asyncio.to_thread(self.store.get_matches, match_ids)
        hot = [m for m in matches if m.score >= self.alert_score]
        if not hot:
            return []
        for channel in wanted:
            for match in hot:
                await asyncio.to_thread(self._freeze, channel, [match], "alert")
        return await self.send_pending(force=True, only=[c.name for c in wanted])


def _delivery(batch: BatchRecord) -> Delivery:
    payload = batch.payload
    return Delivery(
        id=batch.id,
        channel=batch.channel,
        match_ids=batch.match_ids,
        message=DigestMessage(payload["subject"], payload["text"], payload["html"]),
        body=payload.get("body", "").encode("utf-8"),
        content_type=payload.get("content_type", "application/json"),
        created_at=batch.created_at,
    )
