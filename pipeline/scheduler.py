"""`followup run`: APScheduler 3.11 ticks; the database decides what is due and who does it.

Each replica has its own in-memory job store (APScheduler 3 cannot share one between
processes). A tick asks the database for due feeds, due digests and due retries; leases
and unique rows make sure each piece of work is done by one replica.

SIGTERM/SIGINT: the scheduler is paused (no new tick starts), running ticks finish within
a grace period (each feed's poll and each delivery is one transaction: it commits or rolls
back whole), the leases this replica still holds are given back, and the process exits 0.
A second signal cancels what still runs instead of waiting for it.
A replica that dies without this (SIGKILL, power cut) loses nothing either: its leases
expire and another replica, or the restarted one, takes the work.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from pipeline.errors import PipelineError
from pipeline.service import Service

log = logging.getLogger("followup.run")
DIGEST_TICK_SECONDS = 20
PRUNE_HOURS = 6
SHUTDOWN_GRACE_SECONDS = 60  # the unit's TimeoutStopSec and compose's stop_grace_period exceed it


def poll_tick_seconds(interval_seconds: int) -> float:
    """Look for due feeds often enough that none waits long past its time."""
    return max(0.5, min(15.0, interval_seconds / 4))


class Runner:
    def __init__(
        self,
        service: Service,
        grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
        stop_requested: Callable[[], bool] = lambda: False,
    ) -> None:
        self.service = service
        self.grace_seconds = grace_seconds
        self.running: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        # A stop signalled before the loop took the signals over (its exception can be lost).
        self.stop_requested = stop_requested

    def guarded(
        self, name: str, job: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[None]]:
        """A job that never kills the service: failures are logged, the next tick retries."""

        async def run() -> None:
            if self.stopping.is_set():
                return
            task = asyncio.current_task()
            assert task is not None
            self.running.add(task)
            try:
                await job()
            except PipelineError as exc:
                log.error("%s failed: %s", name, exc)
            except Exception:
                log.exception("%s failed unexpectedly", name)
            finally:
                self.running.discard(task)

        return run

    def jobs(self) -> list[tuple[str, Callable[[], Awaitable[object]], float]]:
        """(name, job, seconds between ticks)."""
        interval = self.service.settings.polling.interval_seconds
        return [
            ("poll", self._poll, poll_tick_seconds(interval)),
            ("digest", self.service.run_due_digests, DIGEST_TICK_SECONDS),
            ("prune", self._prune, PRUNE_HOURS * 3600),
        ]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig)
        if self.stop_requested():
            self.stop(signal.SIGTERM)
        scheduler = AsyncIOScheduler(timezone=UTC)
        first = datetime.now(UTC)
        for name, job, seconds in self.jobs():
            scheduler.add_job(
                self.guarded(name, job),
                "interval",
                seconds=seconds,
                id=name,
                coalesce=True,
                max_instances=1,
                next_run_time=first,
                misfire_grace_time=None,
            )
        scheduler.start()
        settings = self.service.settings
        log.info("service started: %d feeds, %d seeds", len(settings.feeds), len(settings.seeds))
        try:
            await self.stopping.wait()
            # Pause first: shutting APScheduler's asyncio executor down cancels running jobs,
            # and they must be allowed to finish.
            scheduler.pause()
            await self._drain()
        finally:
            scheduler.shutdown(wait=False)
            await self._release()
        log.info("service stopped")

    def stop(self, sig: int | None = None) -> None:
        """First call: stop gracefully. A second signal: cancel what still runs (its open
        transactions roll back; its leases are given back or expire)."""
        name = signal.Signals(sig).name if sig else "request"
        if not self.stopping.is_set():
            log.info("stopping on %s: letting running work finish", name)
            self.stopping.set()
            return
        log.warning("second %s: cancelling %d running jobs", name, len(self.running))
        for task in self.running:
            task.cancel()

    async def _drain(self) -> None:
        pending = set(self.running)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=self.grace_seconds)
        if late:
            log.warning("%d jobs still running after the grace period: cancelled", len(late))
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=5)

    async def _release(self) -> None:
        """Give back leases of work claimed but not done, so another replica need not wait."""
        try:
            released = await asyncio.to_thread(self.service.store.release_leases)
        except PipelineError as exc:
            log.error("could not release leases (they expire by themselves): %s", exc)
            return
        if released:
            log.info("released %d leases", released)

    async def _poll(self) -> None:
        await self.service.poll(force=False, stopping=self.stopping.is_set)

    async def _prune(self) -> None:
        gone = await asyncio.to_thread(self.service.prune)
        if gone:
            log.info("pruned %d unmatched items", gone)
