"""The composition root: ``Settings`` become a ``Service`` wired with real adapters.

The only place that creates the database engine, the HTTP clients, the worker processes and
the notifiers. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline import __version__
from pipeline.cadence import Cadence
from pipeline.config import EmailSettings, Settings, WebhookSettings, resolve_secrets
from pipeline.service import Service
from pipeline.service.delivery import Channel, Dispatcher
from pipeline.service.polling import Poller
from pipeline.storage.engine import make_engine
from pipeline.storage.migrate import upgrade
from pipeline.storage.store import Store

if TYPE_CHECKING:
    # httpx, the fetcher, the notifiers and the analysis code cost a command ~0.3 s to
    # import: each is imported when the command first needs it, not at start-up.
    import httpx

    from pipeline.fetching import Fetcher, FetchLimits
    from pipeline.types import SeedSource

USER_AGENT = f"followup/{__version__} (news follow-up monitor)"


def utcnow() -> datetime:
    return datetime.now(UTC)


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def seed_sources(settings: Settings) -> tuple[SeedSource, ...]:
    from pipeline.types import SeedSource

    return tuple(
        SeedSource(
            id=seed.id,
            article=seed.article_text,
            profile=seed.profile_text,
            source=str(seed.profile_path or seed.article_path),
            threshold=seed.threshold,
        )
        for seed in settings.seeds
    )


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return Store(engine, owner=replica_name())


def fetch_limits(settings: Settings) -> FetchLimits:
    from pipeline.fetching import FetchLimits

    polling = settings.polling
    return FetchLimits(
        max_concurrency=polling.concurrency,
        per_origin=polling.per_origin,
        connect_timeout=polling.connect_timeout,
        read_timeout=polling.read_timeout,
        total_timeout=polling.total_timeout,
        max_bytes=polling.max_bytes,
        user_agent=polling.user_agent or USER_AGENT,
        allow_private=polling.allow_private,
    )


class LazyExecutor(Executor):
    """Makes its executor at the first task: a poll with no body to parse starts no worker."""

    def __init__(self, make: Callable[[], Executor]) -> None:
        self._make = make
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._executor is None:
                self._executor = self._make()
            executor = self._executor
        return executor.submit(fn, *args, **kwargs)

    def start(self) -> None:
        """Start the executor and a first worker now, not at the first task; blocks until the
        worker runs (the fork server imports the parser and matcher first: ~0.1 s)."""
        self.submit(int).result()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=cancel_futures)


def make_executor(settings: Settings, *, in_process: bool) -> Executor:
    """The parse workers, started when the first body is to be parsed."""
    return LazyExecutor(lambda: _start_executor(settings, seed_sources(settings), in_process))


def _start_executor(
    settings: Settings, seeds: tuple[SeedSource, ...], in_process: bool
) -> Executor:
    from pipeline.workers import init_worker

    if in_process:
        # One thread, so tests and tiny installs skip process start-up.
        return ThreadPoolExecutor(1, initializer=init_worker, initargs=(seeds,))
    import multiprocessing  # here: a poll with nothing to parse never needs it (~6 ms)
    from concurrent.futures import ProcessPoolExecutor

    workers = _workers(settings)
    context = multiprocessing.get_context("forkserver")
    # The fork server imports the parsing and matching code (and the main script, which each
    # worker would otherwise import again) once; each worker is forked from it, so it starts
    # in milliseconds and shares those pages instead of importing its own.
    context.set_forkserver_preload(["__main__", "pipeline.analysis"])
    return ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=init_worker,
        initargs=(seeds,),
    )


def _workers(settings: Settings) -> int:
    return settings.polling.workers or os.cpu_count() or 1


def channels(settings: Settings, environ: Mapping[str, str], *, sending: bool) -> list[Channel]:
    """Configured channels; with ``sending``, each with its notifier (secrets resolved)."""
    secrets = resolve_secrets(settings, environ) if sending else {}
    digest = settings.digest
    built = []
    for target in digest.channels:
        notifier: Any = None
        if sending:
            notifier = _notifier(target, secrets, environ)
        built.append(
            Channel(
                name=target.channel,
                format="email" if isinstance(target, EmailSettings) else target.format,
                cron=target.cron or digest.cron,
                timezone=target.timezone or digest.timezone,
                alerts=target.alerts,
                notifier=notifier,
            )
        )
    return built


def _notifier(
    target: EmailSettings | WebhookSettings, secrets: Mapping[str, str], environ: Mapping[str, str]
) -> Any:
    if isinstance(target, EmailSettings):
        from pipeline.notify.email import EmailNotifier, EmailTarget

        return EmailNotifier(
            target.channel,
            EmailTarget(
                host=target.host,
                port=target.port,
                sender=target.sender,
                to=target.to,
                security=target.security,  # type: ignore[arg-type]
                username=environ.get(target.username_env) if target.username_env else None,
                password=environ.get(target.password_env) if target.password_env else None,
            ),
        )
    import httpx

    from pipeline.notify.webhook import WebhookNotifier

    client = httpx.AsyncClient(
        timeout=httpx.Timeout(15.0, connect=10.0),
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
        trust_env=False,
    )
    return WebhookNotifier(target.channel, target.url, secrets[target.channel], client)


@dataclass
class Runtime:
    """What ``build`` made and must close again."""

    service: Service
    executor: Executor | None = None
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.close_sync()

    def close_sync(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        self.service.store.engine.dispose()


def build(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    sending: bool = False,
    polling: bool = False,
    in_process: bool = False,
) -> Runtime:
    """A service for ``settings``. ``sending`` resolves secrets (a missing one: ConfigError)."""
    chans = channels(settings, environ, sending=sending)
    store = open_store(settings)
    executor = make_executor(settings, in_process=in_process) if polling else None

    @asynccontextmanager
    async def open_fetcher() -> AsyncIterator[Fetcher]:
        from pipeline.fetching import Fetcher

        async with Fetcher(fetch_limits(settings)) as fetcher:
            yield fetcher

    poller = Poller(
        store=store,
        open_fetcher=open_fetcher,
        executor=executor or ThreadPoolExecutor(1),
        cadence=Cadence(
            interval=settings.polling.interval_seconds,
            adaptive=settings.polling.adaptive,
            min_interval=settings.polling.min_interval_seconds,
            max_interval=settings.polling.max_interval_seconds,
            max_backoff=settings.polling.max_backoff_seconds,
        ),
        batch_size=settings.polling.batch_size,
        lease_seconds=settings.polling.lease_seconds,
        clock=utcnow,
        analysis_slots=2 * (1 if in_process else _workers(settings)),
        warm_up=executor.start if isinstance(executor, LazyExecutor) else None,
    )
    dispatcher = Dispatcher(
        store=store,
        channels=chans,
        clock=utcnow,
        seed_titles={seed.id: _seed_title(seed.article_text, seed.id) for seed in settings.seeds},
        backfill_days=settings.digest.backfill_days,
        send_empty=settings.digest.send_empty,
        alert_score=settings.digest.alert_score,
        retry_seconds=settings.digest.retry_seconds,
        lease_seconds=settings.polling.lease_seconds,
        display_timezone=settings.digest.timezone,
    )
    service = Service(
        settings=settings, store=store, poller=poller, dispatcher=dispatcher, clock=utcnow
    )
    return Runtime(service=service, executor=executor, clients=_webhook_clients(chans))


def _webhook_clients(chans: list[Channel]) -> list[httpx.AsyncClient]:
    """The webhook notifiers' HTTP clients, closed with the runtime."""
    if all(c.format == "email" for c in chans):
        return []  # and the webhook code is never imported
    from pipeline.notify.webhook import WebhookNotifier

    return [c.notifier.client for c in chans if isinstance(c.notifier, WebhookNotifier)]


def _seed_title(article: str, fallback: str) -> str:
    first = next((line.strip() for line in article.splitlines() if line.strip()), "")
    return first[:120] + ("…" if len(first) > 120 else "") if first else fallback
