"""``/healthz`` and ``/metrics``: figures from the database, so any replica shows them all."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.config import load_settings
from pipeline.storage.engine import make_engine
from pipeline.storage.store import Store
from pipeline.web import create_app
from pipeline.web.metrics import poll_histogram
from tests.fixtures_web import NOW, SEED, Entry, TestClient, review_app_fixture, store_matches  # noqa: F401

DEAD_URL = "postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def dead_app(write_config):
    settings = load_settings(str(write_config()), {})
    store = Store(make_engine(DEAD_URL))
    with TestClient(create_app(store, settings, {})) as client:
        yield client
    store.engine.dispose()


def test_healthz_is_200_with_json_when_the_database_answers(review_app):
    answer = review_app().client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_with_json_when_the_database_does_not_answer(dead_app):
    answer = dead_app.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert "nobody" not in answer.text  # no connection details leak


def test_metrics_are_503_when_the_database_does_not_answer(dead_app):
    assert dead_app.get("/metrics").status_code == 503


def test_metrics_show_the_work_every_replica_recorded(review_app, store_for):
    app = review_app()
    other = store_for(str(app.store.engine.url.render_as_string(hide_password=False)), "replica-b")
    store_matches(app.store, "http://127.0.0.1:9/a.xml", [Entry("a1", "Alibaba")], duration=0.07)
    store_matches(
        other,
        "http://127.0.0.1:9/b.xml",
        [Entry("b1", "Daraz", seed="other-seed"), Entry("b2", "Unmatched", score=None)],
        NOW - timedelta(minutes=1),
        duration=3.0,
    )
    store_matches(
        other,
        "http://127.0.0.1:9/c.xml",
        [],
        NOW - timedelta(minutes=2),
        outcome="failed",
        error="timeout",
        duration=60.0,
    )
    answer = app.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    got = samples(answer.text)
    assert got[("followup_feeds_ok", ())] == 2
    assert got[("followup_feeds_failing", ())] == 1
    assert got[("followup_items", ())] == 3
    assert got[("followup_matches", (("seed", SEED),))] == 1
    assert got[("followup_matches", (("seed", "other-seed"),))] == 1
    assert got[("followup_polls", (("outcome", "failed"),))] == 1
    assert got[("followup_poll_duration_seconds_count", ())] == 3
    assert got[("followup_poll_duration_seconds_bucket", (("le", "0.1"),))] == 1
    assert got[("followup_poll_duration_seconds_bucket", (("le", "5.0"),))] == 2
    assert got[("followup_poll_duration_seconds_sum", ())] == pytest.approx(63.07)
    assert got[("followup_last_successful_poll_timestamp_seconds", ())] == NOW.timestamp()


def test_metrics_count_deliveries_pending_failed_and_sent(review_app):
    app = review_app()
    [match] = store_matches(app.store, "http://127.0.0.1:9/a.xml", [Entry("a1", "Alibaba")])
    for batch in ("new", "failing", "done"):
        app.store.create_batch(batch, f"webhook:{batch}", "digest", [match], {"body": ""}, NOW)
    app.store.finish_batch("failing", NOW, error="HTTP 503", retry_at=NOW + timedelta(minutes=1))
    app.store.finish_batch("done", NOW, error=None)
    got = samples(app.client.get("/metrics").text)
    assert got[("followup_deliveries_pending", ())] == 1
    assert got[("followup_deliveries_failed", ())] == 1
    assert got[("followup_deliveries_sent", ())] == 1


def test_an_empty_database_has_metrics_without_a_last_poll(review_app):
    got = samples(review_app().client.get("/metrics").text)
    assert got[("followup_items", ())] == 0
    assert got[("followup_poll_duration_seconds_count", ())] == 0
    assert ("followup_last_successful_poll_timestamp_seconds", ()) not in got


def test_the_poll_histogram_is_cumulative():
    family = poll_histogram([0.01, 0.3, 0.3, 7.0, 100.0])
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert buckets["0.05"] == 1 and buckets["0.5"] == 3 and buckets["10.0"] == 4
    assert buckets["60.0"] == 4 and buckets["+Inf"] == 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_followup_serve_answers_on_loopback_and_stops_on_sigterm(write_config, tmp_path):
    config = write_config()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "serve", "--port", str(port), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        health = None
        for _ in range(200):  # bounded: up to 20 s for the server to start
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)  # ok: waiting for another process to bind its port
        assert health is not None and health.status_code == 200
        assert health.json()["status"] == "ok"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert "followup_feeds_ok" in metrics.text
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "content-security-policy" in page.headers
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err.decode()
