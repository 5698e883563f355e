"""``/metrics`` and ``/healthz``: the whole system as the database records it.

Every scrape reads ``Store.stats`` afresh, so whichever replica serves the page reports the
work of all of them. Nothing is counted in process memory: a restart loses no figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from pipeline.errors import StorageError
from pipeline.storage.store import Store

log = logging.getLogger(__name__)

# Poll durations in seconds: a fast conditional GET is ~0.05 s, the total timeout is 60 s.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class DatabaseCollector:
    """A prometheus-client collector whose every sample comes from ``Store.stats``."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterator[Metric]:
        stats = self.store.stats(self.clock())
        yield from _feeds(stats)
        yield _gauge("followup_items", "Items stored (unmatched ones are pruned).", stats["items"])
        matches = GaugeMetricFamily(
            "followup_matches", "Matches stored, per seed.", labels=["seed"]
        )
        for seed, count in sorted(stats["matches"].items()):
            matches.add_metric([seed], count)
        yield matches
        yield from _deliveries(stats)
        polls = GaugeMetricFamily(
            "followup_polls", "Polls recorded (last 30 days), per outcome.", labels=["outcome"]
        )
        for outcome, count in sorted(stats["polls"].items()):
            polls.add_metric([outcome], count)
        yield polls
        yield poll_histogram(stats["poll_durations"])
        last = stats["last_success"]
        stamp = GaugeMetricFamily(
            "followup_last_successful_poll_timestamp_seconds",
            "Unix time of the latest successful poll of any feed, by any replica.",
        )
        if last is not None:
            stamp.add_metric([], last.timestamp())
        yield stamp


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _feeds(stats: dict[str, Any]) -> Iterator[Metric]:
    yield _gauge("followup_feeds_ok", "Active feeds whose last poll succeeded.", stats["feeds_ok"])
    yield _gauge(
        "followup_feeds_failing", "Active feeds whose last poll failed.", stats["feeds_failing"]
    )
    yield _gauge("followup_feeds_retired", "Feeds retired (410 Gone).", stats["feeds_retired"])


def _deliveries(stats: dict[str, Any]) -> Iterator[Metric]:
    yield _gauge(
        "followup_deliveries_pending",
        "Delivery batches not yet attempted.",
        stats["deliveries_pending"],
    )
    yield _gauge(
        "followup_deliveries_failed",
        "Delivery batches that failed and wait for a retry.",
        stats["deliveries_failed"],
    )
    yield _gauge("followup_deliveries_sent", "Delivery batches sent.", stats["deliveries_sent"])


def poll_histogram(durations: Sequence[float]) -> HistogramMetricFamily:
    """Cumulative buckets over the polls of the last 24 hours, as the polls table has them."""
    buckets = [(str(bound), sum(1 for d in durations if d <= bound)) for bound in DURATION_BUCKETS]
    buckets.append(("+Inf", len(durations)))
    return HistogramMetricFamily(
        "followup_poll_duration_seconds",
        "Duration of feed polls in the last 24 hours, all replicas.",
        buckets=buckets,
        sum_value=float(sum(durations)),
    )


def metrics_page(store: Store, clock: Callable[[], datetime]) -> tuple[int, bytes, str]:
    """(status, body, content type) of one scrape; 503 when the database does not answer."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(store, clock))
    try:
        return 200, generate_latest(registry), CONTENT_TYPE_LATEST
    except StorageError as exc:
        log.warning("metrics: %s", exc)
        return 503, b"# followup: the database did not answer\n", "text/plain; charset=utf-8"


def health(store: Store) -> tuple[int, dict[str, str]]:
    """(status, body) of ``/healthz``: 200 when the database answers a query, 503 if not."""
    try:
        ok = store.ping()
    except StorageError as exc:
        log.warning("healthz: %s", exc)
        ok = False
    if ok:
        return 200, {"status": "ok", "database": "ok"}
    return 503, {"status": "unavailable", "database": "not answering"}
