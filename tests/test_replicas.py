"""Three `followup run` replicas on one PostgreSQL share 200 feeds; one is SIGKILLed mid-poll.

(And, at the store level, two replicas saving polls of syndicated stories at once.)

What must hold: each feed is polled at most once per interval (leases), the killed replica's
claimed work is taken over once its leases expire, no item, match or delivery is stored or
sent twice, and the survivors stop cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipeline.storage.store import NewMatch, PollRecord, Store, StoredItem
from pipeline.types import FeedSpec, Item, MatchResult, Reason
from tests.fixtures_delivery import WebhookReceiver
from tests.fixtures_feeds import FeedServer, rss
from tests.service_process import ServiceProcess, wait_for

pytestmark = pytest.mark.slow

FEEDS = 200
REPLICAS = 3
INTERVAL = 3  # seconds between two polls of one feed
# A lease must outlast the longest poll (a fetch gives up after TOTAL_TIMEOUT, then parsing):
# a lease that expires mid-poll lets a second replica poll the same feed.
LEASE = 10  # seconds a dead replica's claims block their feeds
TOTAL_TIMEOUT = 4.0
EPOCH = 2.0  # the feeds publish a new story this often
RUN = ("run",)  # the command under test: `followup run`
SECRET_ENV = {"FOLLOWUP_TEST_HOOK_SECRET": "replica-test-signing-secret"}


def story(n: int, epoch: int, part: str) -> dict[str, str]:
    """The same story (same link) in every feed that carries it: it must match once."""
    return {
        "guid": f"{n}-{epoch}-{part}",
        "title": f"Alibaba Cloud expands Karachi data centre, phase {epoch}{part}",
        "link": f"https://news.example.org/story-{epoch}-{part}",
    }


def feed_body(n: int) -> bytes:
    """Feed ``n`` now: two unmatched items, and every tenth feed two shared stories (in
    opposite orders in alternate feeds, so replicas save them in different orders)."""
    epoch = int(time.time() / EPOCH)
    items = [
        {"guid": f"{n}-{epoch}", "title": f"Rain expected in Lahore ({n}, {epoch})"},
        {"guid": f"{n}-static", "title": f"Cricket scores, feed {n}"},
    ]
    if n % 10 == 0:
        pair = [story(n, epoch, "a"), story(n, epoch, "b")]
        items += pair if n % 20 == 0 else pair[::-1]
    return rss(items)


def serve_feed(n: int) -> Callable[[BaseHTTPRequestHandler], None]:
    def handler(request: BaseHTTPRequestHandler) -> None:
        time.sleep(0.2)  # ok: a slow origin, so polls hold their leases for a while
        body = feed_body(n)
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


class Db:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def __call__(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def scalar(self, sql: str, **params: Any) -> Any:
        return self(sql, **params)[0][0]


@pytest.fixture
def db(pg_url: str) -> Iterator[Db]:
    database = Db(pg_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Callable[[Path, int], list[ServiceProcess]]]:
    started: list[ServiceProcess] = []

    def start(config: Path, count: int) -> list[ServiceProcess]:
        procs = [
            ServiceProcess(RUN, config, tmp_path / f"replica-{i}.log", SECRET_ENV).start()
            for i in range(count)
        ]
        started.extend(procs)
        return [proc.wait_started(60) for proc in procs]

    yield start
    for proc in started:
        proc.kill()


def test_three_replicas_share_the_feeds_and_survive_one_being_killed_mid_poll(
    pg_url: str,
    db: Db,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    write_config: Callable[..., Path],
    replicas: Callable[[Path, int], list[ServiceProcess]],
) -> None:
    urls = [feed_server.add(f"/{n}.xml", handler=serve_feed(n)) for n in range(FEEDS)]
    config = write_config(
        db_url=pg_url,
        feeds=urls,
        polling={
            "interval_seconds": INTERVAL,
            "lease_seconds": LEASE,
            "batch_size": 40,
            "per_origin": 32,
            "concurrency": 32,
            "connect_timeout": 2.0,
            "read_timeout": 3.0,
            "total_timeout": TOTAL_TIMEOUT,
            "workers": 1,
        },
        digest={"cron": "* * * * *", "timezone": "UTC", "alert_score": 0.0},
        webhooks=[
            {
                "url": webhook_receiver.url,
                "secret_env": "FOLLOWUP_TEST_HOOK_SECRET",
                "alerts": True,
            }
        ],
        extra='\n[logging]\njson = true\nlevel = "INFO"\n',
    )
    victim, *survivors = replicas(config, REPLICAS)

    # Kill the victim while it holds leases: it has claimed feeds and not saved them yet.
    wait_for(lambda: db.scalar("SELECT count(*) FROM polls") >= FEEDS, 30, "a first round")
    owner = f"%:{victim.pid}"
    wait_for(
        lambda: db.scalar("SELECT count(*) FROM feeds WHERE lease_owner LIKE :o", o=owner),
        30,
        "the victim to hold leases",
        step=0.02,
    )
    victim.kill()
    killed_at = db.scalar("SELECT now()")
    held = db.scalar("SELECT count(*) FROM feeds WHERE lease_owner LIKE :o", o=owner)

    # Its feeds come back after the lease, and every feed is polled again after that.
    wait_for(
        lambda: (
            db.scalar("SELECT count(*) FROM feeds WHERE last_polled_at > :t", t=killed_at + lease())
            == FEEDS
        ),
        30,
        "every feed to be polled after the victim's leases expired",
    )
    wait_for(lambda: not pending_batches(db), 20, "pending deliveries to go out")
    for proc in survivors:
        assert proc.stop(signal.SIGTERM) == 0, proc.text()
        errors = [r for r in proc.records() if r["level"] in ("ERROR", "CRITICAL")]
        assert errors == [], errors[:3]

    assert held > 0
    assert_each_feed_polled_at_most_once_per_interval(db)
    assert_polls_within_one_replicas_schedule(db)
    assert len({owner for (owner,) in db("SELECT DISTINCT owner FROM polls")}) >= 2
    assert_nothing_stored_twice(db)
    assert_each_match_delivered_once(db, webhook_receiver)
    assert db.scalar("SELECT count(*) FROM feeds WHERE lease_owner NOT LIKE :o", o=owner) == 0


def lease() -> timedelta:
    return timedelta(seconds=LEASE)


def pending_batches(db: Db) -> int:
    return int(db.scalar("SELECT count(*) FROM batches WHERE status = 'pending'"))


def poll_times(db: Db) -> dict[int, list[datetime]]:
    times: dict[int, list[datetime]] = defaultdict(list)
    for feed_id, started in db("SELECT feed_id, started_at FROM polls ORDER BY started_at"):
        times[feed_id].append(started)
    return times


def assert_each_feed_polled_at_most_once_per_interval(db: Db) -> None:
    times = poll_times(db)
    assert len(times) == FEEDS
    for feed_id, started in times.items():
        gaps = [(b - a).total_seconds() for a, b in zip(started, started[1:], strict=False)]
        assert min(gaps) >= INTERVAL * 0.95, f"feed {feed_id} polled twice in an interval: {gaps}"


def assert_polls_within_one_replicas_schedule(db: Db) -> None:
    first, last, total = db("SELECT min(started_at), max(started_at), count(*) FROM polls")[0]
    span = (last - first).total_seconds()
    one_replica = FEEDS * (span // INTERVAL + 1)  # a single replica polling every interval
    assert total <= 1.5 * one_replica, (total, one_replica)
    assert total >= FEEDS * 2  # and the work did go on


def assert_nothing_stored_twice(db: Db) -> None:
    assert (
        db.scalar(
            "SELECT count(*) FROM (SELECT feed_id, guid FROM items "
            "GROUP BY feed_id, guid HAVING count(*) > 1) AS twice"
        )
        == 0
    )
    matches = db("SELECT seed_id, dedupe_key FROM matches")
    assert matches and len(matches) == len(set(matches))
    stories = db.scalar("SELECT count(DISTINCT url) FROM items WHERE url LIKE '%/story-%'")
    assert len(matches) == stories  # one match per story, however many feeds carried it


def assert_each_match_delivered_once(db: Db, receiver: WebhookReceiver) -> None:
    bodies: dict[str, bytes] = {}
    for post in receiver.posts:
        webhook_id = post.headers["webhook-id"]
        # A repeat may only be a retry of the same frozen batch (the crash-after-send window).
        assert bodies.setdefault(webhook_id, post.body) == post.body
    sent = {batch_id for (batch_id,) in db("SELECT id FROM batches WHERE status = 'sent'")}
    assert sent == set(bodies)
    delivered = [m["id"] for body in bodies.values() for m in json.loads(body)["matches"]]
    assert delivered and len(delivered) == len(set(delivered))
    rows = db("SELECT match_id, channel FROM deliveries")
    assert len(rows) == len(set(rows)) == len(delivered)


def test_replicas_saving_polls_that_share_stories_in_opposite_orders_never_deadlock(
    pg_url: str, store_for: Callable[..., Any]
) -> None:
    """Syndicated stories reach many feeds; two replicas' save transactions then insert the
    same match keys. In opposite orders that used to be a lock cycle PostgreSQL broke by
    aborting one transaction (a lost poll)."""
    first, second = store_for(pg_url, "replica-1"), store_for(pg_url, "replica-2")
    now = datetime.now(UTC)
    first.sync_config_feeds([FeedSpec(f"http://127.0.0.1:9/{n}.xml") for n in range(4)], now)
    feeds = [f.id for f in first.claim_due_feeds(now, 10, 60, force=True)]
    keys = [f"story-{n}" for n in range(400)]
    errors: list[BaseException] = []

    def save(store: Store, polls: list[tuple[int, PollRecord]], start: threading.Barrier) -> None:
        start.wait()
        try:
            store.save_polls(polls)
        except BaseException as exc:  # collected: the assertion below reports it
            errors.append(exc)

    for round_ in range(10):
        start = threading.Barrier(2)
        polls_a = [
            (feeds[0], shared(0, keys[:200], round_)),
            (feeds[1], shared(1, keys[200:], round_)),
        ]
        polls_b = [
            (feeds[2], shared(2, keys[200:], round_)),
            (feeds[3], shared(3, keys[:200], round_)),
        ]
        threads = [
            threading.Thread(target=save, args=(first, polls_a, start)),
            threading.Thread(target=save, args=(second, polls_b, start)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert errors == []
    assert first.count_matches() == 10 * len(keys)


def shared(feed: int, keys: list[str], round_: int) -> PollRecord:
    """A poll of ``feed`` whose items are the stories ``keys`` (same keys in every feed)."""
    hit = MatchResult(0.9, True, "direct", (Reason("Alibaba Cloud", "Alibaba Cloud"),))
    items = [
        StoredItem(
            Item(id=f"{feed}-{key}-{round_}", title=key, url=f"https://n.example.org/{key}"),
            dedupe_key=f"{key}-{round_}",
            content_hash="h",
        )
        for key in keys
    ]
    now = datetime.now(UTC)
    return PollRecord(
        outcome="ok",
        started_at=now,
        duration=0.1,
        next_poll_at=now + timedelta(minutes=15),
        items=items,
        matches=[NewMatch(s.item.id, "pk-alibaba-2026", hit) for s in items],
    )
