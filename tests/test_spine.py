"""The spine end to end: poll → match → store → digest, through the command line.

Real parts only: the loopback feed server, aiosmtpd, a webhook receiver, SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape

import pytest
from standardwebhooks import Webhook

from pipeline.notify.webhook import signing_secret
from tests.fixtures_feeds import atom, json_feed, rss

FOLLOW_UPS = [
    {
        "guid": "dawn-1",
        "title": "Alibaba Cloud to open its first data centre in Karachi",
        "link": "https://dawn.example/alibaba-cloud-karachi",
        "summary": "The Chinese firm signed an agreement with Pakistan's IT ministry.",
        "published": datetime(2026, 6, 2, 9, 0, tzinfo=UTC),
    },
    {
        "guid": "dawn-2",
        "title": "Daraz widens its seller programme for Pakistani exporters",
        "link": "https://dawn.example/daraz-sellers",
        "summary": "The Alibaba-owned marketplace wants SMEs to sell to China.",
    },
    {
        "guid": "dawn-3",
        "title": "Cricket: Pakistan beat England by five wickets",
        "link": "https://dawn.example/cricket",
        "summary": "A comfortable chase in Lahore.",
    },
]
URDU = [
    {
        "id": "bbc-1",
        "title": "علی بابا کلاؤڈ پاکستان میں ڈیٹا سینٹر قائم کرے گا",
        "url": "https://bbc.example/urdu/1",
        "summary": "چینی کمپنی نے وزارت آئی ٹی کے ساتھ معاہدہ کیا",
    }
]
CHINESE = [
    {
        "guid": "xh-1",
        "title": "阿里云将在巴基斯坦建设数据中心",
        "link": "https://xinhua.example/1",
        "summary": "中巴经济走廊数字合作再进一步。",
    }
]
SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy0xMjM0NTY3ODkw"


@pytest.fixture
def three_feeds(feed_server):
    feed_server.add("/dawn.xml", rss(FOLLOW_UPS, title="Dawn"), etag='"d1"')
    feed_server.add(
        "/bbc.json",
        json_feed(URDU, title="BBC Urdu"),
        last_modified="Mon, 01 Jun 2026 10:00:00 GMT",
        content_type="application/feed+json",
    )
    feed_server.add(
        "/xinhua.atom",
        atom(CHINESE, title="Xinhua"),
        etag='"x1"',
        content_type="application/atom+xml",
    )
    return [feed_server.url(p) for p in ("/dawn.xml", "/bbc.json", "/xinhua.atom")]


def visible_text(html: str) -> str:
    """The text a reader sees: tags (such as highlight marks) removed, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def poll_json(followup, config) -> dict:
    result = followup("poll", "--once", "--json", "--config", str(config))
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_a_poll_stores_items_and_matches_in_every_language(
    followup, write_config, db_url, three_feeds
):
    config = write_config(db_url=db_url, feeds=three_feeds)
    report = poll_json(followup, config)
    assert report == {
        "feeds": 3,
        "ok": 3,
        "not_modified": 0,
        "failed": 0,
        "new_items": 5,
        "new_matches": report["new_matches"],
        "errors": [],
    }
    found = json.loads(followup("matches", "--format", "json", "--config", str(config)).out)
    titles = {m["title"] for m in found}
    assert "Cricket: Pakistan beat England by five wickets" not in titles
    assert {
        FOLLOW_UPS[0]["title"],
        FOLLOW_UPS[1]["title"],
        URDU[0]["title"],
        CHINESE[0]["title"],
    } <= titles
    assert report["new_matches"] == len(found)
    first = next(m for m in found if m["title"] == FOLLOW_UPS[0]["title"])
    assert first["feed"] == three_feeds[0] and first["seed"] == "pk-alibaba-2026"
    assert first["published"] == "2026-06-02T09:00:00+00:00"
    assert 0 <= first["score"] <= 1 and first["reasons"]
    assert all({"name", "matched"} <= set(reason) for reason in first["reasons"])


def test_a_second_poll_sends_conditional_requests_and_stores_nothing_new(
    followup, write_config, feed_server, three_feeds
):
    config = write_config(feeds=three_feeds)
    poll_json(followup, config)
    feed_server.clear_log()
    report = poll_json(followup, config)
    assert (report["not_modified"], report["new_items"], report["new_matches"]) == (3, 0, 0)
    headers = {r.path: r.headers for r in feed_server.requests}
    assert headers["/dawn.xml"]["If-None-Match"] == '"d1"'
    assert headers["/bbc.json"]["If-Modified-Since"] == "Mon, 01 Jun 2026 10:00:00 GMT"


def test_an_unchanged_body_without_validators_is_not_parsed_again(
    followup, write_config, feed_server
):
    feed_server.add("/plain.xml", rss(FOLLOW_UPS))  # no ETag, no Last-Modified
    config = write_config(feeds=[feed_server.url("/plain.xml")])
    assert poll_json(followup, config)["ok"] == 1
    again = poll_json(followup, config)
    assert (again["ok"], again["not_modified"], again["new_items"]) == (0, 1, 0)


def test_one_broken_feed_does_not_stop_the_others(
    followup, write_config, feed_server, three_feeds, closed_port_url
):
    feed_server.add("/html", b"<html><body>not a feed</body></html>", content_type="text/html")
    feed_server.add("/boom", b"oops", status=500)
    broken = [feed_server.url("/html"), feed_server.url("/boom"), closed_port_url]
    config = write_config(feeds=three_feeds + broken)
    result = followup("poll", "--once", "--json", "--config", str(config))
    assert result.code == 0
    report = json.loads(result.out)
    assert (report["feeds"], report["ok"], report["failed"]) == (6, 3, 3)
    assert {e["feed"] for e in report["errors"]} == set(broken)
    assert all(e["error"] and "\n" not in e["error"] for e in report["errors"])
    assert report["new_items"] == 5
    stderr_lines = [line for line in result.err.splitlines() if line]
    assert len(stderr_lines) == 3 and all(
        line.startswith("followup: feed ") for line in stderr_lines
    )


def test_a_feed_that_changes_stores_only_its_new_items(followup, write_config, feed_server):
    feed_server.add("/dawn.xml", rss(FOLLOW_UPS[:1]), etag='"1"')
    config = write_config(feeds=[feed_server.url("/dawn.xml")])
    assert poll_json(followup, config)["new_items"] == 1
    feed_server.add("/dawn.xml", rss(FOLLOW_UPS), etag='"2"')
    report = poll_json(followup, config)
    assert (report["new_items"], report["new_matches"]) == (2, 1)


def test_the_same_story_in_two_feeds_is_matched_once_per_seed(followup, write_config, feed_server):
    feed_server.add("/a.xml", rss(FOLLOW_UPS[:1]))
    feed_server.add("/b.xml", rss(FOLLOW_UPS[:1]))
    config = write_config(feeds=[feed_server.url("/a.xml"), feed_server.url("/b.xml")])
    report = poll_json(followup, config)
    assert (report["new_items"], report["new_matches"]) == (2, 1)


def test_matches_since_compares_with_matched_at(followup, write_config, feed_server, three_feeds):
    config = write_config(feeds=three_feeds)
    poll_json(followup, config)
    future = followup(
        "matches", "--format", "json", "--since", "2999-01-01", "--config", str(config)
    )
    assert json.loads(future.out) == []
    past = followup("matches", "--format", "json", "--since", "2000-01-01", "--config", str(config))
    assert len(json.loads(past.out)) >= 4


def test_matches_prints_csv_and_a_table(followup, write_config, three_feeds):
    config = write_config(feeds=three_feeds)
    poll_json(followup, config)
    csv_out = followup("matches", "--format", "csv", "--config", str(config)).out
    assert csv_out.splitlines()[0].startswith("id,seed,score,kind")
    table = followup("matches", "--config", str(config))
    assert table.code == 0 and "matches" in table.out


# -- digests ------------------------------------------------------------------------------


@pytest.fixture
def channels_config(write_config, smtp_server, webhook_receiver, three_feeds, db_url):
    def make(**digest):
        return write_config(
            db_url=db_url,
            feeds=three_feeds,
            digest=digest,
            email={
                "host": "127.0.0.1",
                "port": smtp_server.port,
                "sender": "followup@example.org",
                "to": ["analyst@example.org"],
            },
            webhooks=[{"url": webhook_receiver.url, "secret_env": "HOOK_SECRET"}],
        )

    return make


def test_a_digest_reaches_smtp_and_the_webhook_once(
    followup, channels_config, smtp_server, webhook_receiver
):
    config = channels_config()
    poll_json(followup, config)
    sent = followup("digest", "--send", "--config", str(config), env={"HOOK_SECRET": SECRET})
    assert sent.code == 0, sent.err
    [message] = smtp_server.messages
    assert message["Subject"] and "\n" not in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert "Alibaba Cloud to open its first data centre in Karachi" in visible_text(html)
    assert (
        "Alibaba Cloud to open its first data centre in Karachi"
        in message.get_body(("plain",)).get_content()
    )
    assert "https://dawn.example/alibaba-cloud-karachi" in html
    assert "Cricket" not in html
    [post] = webhook_receiver.posts
    Webhook(signing_secret(SECRET)).verify(post.body, dict(post.headers))
    body = json.loads(post.body)
    assert len(body["matches"]) >= 4
    assert all(
        {"seed", "score", "title", "url", "feed", "published", "reasons"} <= set(m)
        for m in body["matches"]
    )

    again = followup("digest", "--send", "--config", str(config), env={"HOOK_SECRET": SECRET})
    assert again.code == 0
    assert len(smtp_server.messages) == 1 and len(webhook_receiver.posts) == 1


def test_matches_that_arrive_later_go_out_in_a_new_batch_with_a_new_id(
    followup, channels_config, feed_server, webhook_receiver
):
    config = channels_config()
    poll_json(followup, config)
    followup("digest", "--send", "--config", str(config), env={"HOOK_SECRET": SECRET})
    feed_server.add(
        "/dawn.xml",
        rss(
            FOLLOW_UPS
            + [
                {
                    "guid": "dawn-4",
                    "title": "Ant Group's Easypaisa stake grows as Pakistan digital payments boom",
                    "link": "https://dawn.example/easypaisa",
                }
            ]
        ),
        etag='"d2"',
    )
    poll_json(followup, config)
    followup("digest", "--send", "--config", str(config), env={"HOOK_SECRET": SECRET})
    first, second = webhook_receiver.posts
    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    assert [m["title"] for m in json.loads(second.body)["matches"]] == [
        "Ant Group's Easypaisa stake grows as Pakistan digital payments boom"
    ]


def test_a_webhook_that_fails_twice_gets_the_same_batch_with_the_same_id(
    followup, channels_config, webhook_receiver, smtp_server
):
    config = channels_config()
    poll_json(followup, config)
    webhook_receiver.respond_with(503, 503, 200)
    env = {"HOOK_SECRET": SECRET}
    first = followup("digest", "--send", "--config", str(config), env=env)
    assert first.code == 1 and "webhook:" in first.err and "503" in first.err
    assert len(smtp_server.messages) == 1  # the other channel still got its digest
    assert followup("digest", "--send", "--config", str(config), env=env).code == 1
    assert followup("digest", "--send", "--config", str(config), env=env).code == 0
    assert followup("digest", "--send", "--config", str(config), env=env).code == 0
    ids = [post.headers["webhook-id"] for post in webhook_receiver.posts]
    assert len(ids) == 3 and len(set(ids)) == 1
    assert len({post.body for post in webhook_receiver.posts}) == 1
    assert len(smtp_server.messages) == 1


def test_an_smtp_server_that_is_down_gets_its_one_email_once_it_is_up(
    followup, channels_config, smtp_server
):
    config = channels_config()
    poll_json(followup, config)
    smtp_server.stop()
    env = {"HOOK_SECRET": SECRET}
    down = followup("digest", "--send", "--config", str(config), env=env)
    assert down.code == 1 and "channel email" in down.err
    smtp_server.start()
    assert followup("digest", "--send", "--config", str(config), env=env).code == 0
    assert followup("digest", "--send", "--config", str(config), env=env).code == 0
    assert len(smtp_server.messages) == 1


def test_a_crash_between_sending_and_recording_resends_the_same_batch_id(
    followup, channels_config, webhook_receiver, monkeypatch
):
    from pipeline.errors import StorageError
    from pipeline.storage.store import Store

    config = channels_config()
    poll_json(followup, config)
    real_finish = Store.finish_batch

    def crash(self, batch_id, now, *, error, retry_at=None):
        raise StorageError("database went away while recording a delivery")

    monkeypatch.setattr(Store, "finish_batch", crash)
    crashed = followup("digest", "--send", "--config", str(config), env={"HOOK_SECRET": SECRET})
    assert crashed.code == 1 and "database went away" in crashed.err
    monkeypatch.setattr(Store, "finish_batch", real_finish)
    _expire_leases(config)  # as a crashed replica's lease does, after lease_seconds
    assert (
        followup("digest", "--send", "--config", str(config), env={"HOOK_SECRET": SECRET}).code == 0
    )
    first, second = webhook_receiver.posts
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body


def _expire_leases(config) -> None:
    import sqlalchemy as sa

    from pipeline.config import load_settings
    from pipeline.storage.engine import make_engine

    engine = make_engine(load_settings(str(config), {}).database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE batches SET lease_until = NULL, lease_owner = NULL"))
    engine.dispose()


def test_digest_dry_run_renders_html_and_marks_nothing(
    followup, channels_config, tmp_path, smtp_server, webhook_receiver
):
    config = channels_config()
    poll_json(followup, config)
    out = tmp_path / "digest.html"
    result = followup("digest", "--dry-run", "--out", str(out), "--config", str(config))
    assert result.code == 0, result.err
    assert "Alibaba Cloud to open its first data centre in Karachi" in visible_text(out.read_text())
    assert followup("digest", "--dry-run", "--out", str(out), "--config", str(config)).code == 0
    assert smtp_server.messages == [] and webhook_receiver.posts == []
    assert (
        followup("digest", "--send", "--config", str(config), env={"HOOK_SECRET": SECRET}).code == 0
    )
    assert len(smtp_server.messages) == 1


def test_sending_without_the_webhook_secret_is_a_config_error_naming_the_variable(
    followup, channels_config, monkeypatch
):
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    result = followup("digest", "--send", "--config", str(channels_config()))
    assert result.code == 2
    assert "HOOK_SECRET" in result.err and len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err
