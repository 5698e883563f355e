"""`followup run`: APScheduler 3.11 ticks; the database decides what is due and who does it.

Each replica has its own in-memory job store (APScheduler 3 cannot share one between
processes). A tick asks the database for due feeds, due digests and due retries; leases
and unique rows make sure each piece of work is done by one replica.

SIGTERM/SIGINT: no new tick starts, running ticks finish (their transactions commit or
roll back whole), then the process exits 0.
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
SHUTDOWN_GRACE_SECONDS = 60


def poll_tick_seconds(interval_seconds: int) -> float:
    """Look for due feeds often enough that none waits long past its time."""
    return max(0.5, min(15.0, interval_seconds / 4))


class Runner:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.running: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()

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

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        scheduler = AsyncIOScheduler(timezone=UTC)
        settings = self.service.settings
        first = datetime.now(UTC)
        jobs: list[tuple[str, Callable[[], Awaitable[object]], float]] = [
            ("poll", self._poll, poll_tick_seconds(settings.polling.interval_seconds)),
            ("digest", self.service.run_due_digests, DIGEST_TICK_SECONDS),
            ("prune", self._prune, PRUNE_HOURS * 3600),
        ]
        for name, job, seconds in jobs:
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
        log.info("service started: %d feeds, %d seeds", len(settings.feeds), len(settings.seeds))
        await self.stopping.wait()
        scheduler.shutdown(wait=False)
        await self._drain()
        log.info("service stopped")

    def stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stopping: letting running work finish")
            self.stopping.set()

    async def _drain(self) -> None:
        pending = set(self.running)
        if not pending:
            return
        done, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=5)

    async def _poll(self) -> None:
        await self.service.poll(force=False)

    async def _prune(self) -> None:
        gone = await asyncio.to_thread(self.service.prune)
        if gone:
            log.info("pruned %d unmatched items", gone)
