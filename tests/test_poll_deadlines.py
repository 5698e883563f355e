"""A poll is bounded by its fetch deadlines: feeds that stall, drip or hang each fail with one
line, within the configured limits, and the good feed beside them is stored."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from pipeline.config import PollingSettings
from tests.fixtures_feeds import rss

LIMITS = {"connect_timeout": 1.0, "read_timeout": 1.5, "total_timeout": 2.0}
GOOD = [{"guid": "d1", "title": "Daraz opens a Karachi warehouse", "link": "https://e.org/d1"}]


@pytest.fixture
def stalled_url() -> Iterator[str]:
    """A loopback port that completes TCP handshakes (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/stalled.xml"


def test_a_poll_among_stalled_dripping_and_hanging_feeds_ends_within_its_deadlines(
    followup, write_config, feed_server, stalled_url, db_url
):
    feed_server.add("/good.xml", rss(GOOD))
    # One byte a second never trips the read timeout: only the whole-fetch deadline ends it.
    feed_server.add("/drip.xml", handler=feed_server.trickle(b"<", 1.0))
    feed_server.add("/hang.xml", handler=feed_server.hang())
    bad = [stalled_url, feed_server.url("/drip.xml"), feed_server.url("/hang.xml")]
    config = write_config(db_url=db_url, feeds=[feed_server.url("/good.xml"), *bad], polling=LIMITS)

    started = time.monotonic()
    result = followup("poll", "--once", "--json", "--config", str(config))
    elapsed = time.monotonic() - started

    report = json.loads(result.out)
    assert result.code == 0, result.err
    assert (report["ok"], report["failed"], report["new_items"]) == (1, 3, 1)
    errors = {e["feed"]: e["error"] for e in report["errors"]}
    assert set(errors) == set(bad)
    assert "timed out after 2s (whole request)" in errors[feed_server.url("/drip.xml")]
    assert (
        "timed out" in errors[stalled_url] and "timed out" in errors[feed_server.url("/hang.xml")]
    )
    error_lines = [line for line in result.err.splitlines() if line.strip()]
    assert sorted(error_lines) == sorted(f"followup: feed {url}: {errors[url]}" for url in bad)
    # The three bad feeds are fetched at once, so the poll takes one deadline, not three; the
    # margin is start-up and a loaded machine, far below the 60 s the trickle could hold.
    assert elapsed < LIMITS["total_timeout"] + 10


def test_the_default_deadlines_bound_a_whole_fetch_as_miniflux_and_freshrss_do():
    defaults = PollingSettings()
    # Connecting and each read happen inside the whole-fetch deadline, which bounds a poll of
    # feeds fetched at once; Miniflux allows 20 s, FreshRSS 15 s.
    assert defaults.total_timeout <= 20
    assert defaults.connect_timeout < defaults.total_timeout
    assert defaults.read_timeout < defaults.total_timeout
    assert defaults.lease_seconds >= 2 * defaults.total_timeout
