"""Who gets what: new channels, empty digests, immediate alerts, per-channel schedules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from pipeline.config import load_settings
from pipeline.storage.engine import make_engine
from tests.fixtures_feeds import rss

OLD = {
    "guid": "old",
    "title": "Alibaba Cloud opens a Karachi data centre",
    "link": "https://e.org/old",
}
NEW = {
    "guid": "new",
    "title": "Daraz adds Easypaisa wallet payments in Pakistan",
    "link": "https://e.org/new",
}
SECRET = {"HOOK": "plain secret"}


def execute(config, sql: str, **params) -> None:
    engine = make_engine(load_settings(str(config), {}).database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def titles(post) -> list[str]:
    return [m["title"] for m in json.loads(post.body)["matches"]]


def test_a_channel_added_later_starts_with_the_last_seven_days(
    followup, write_config, feed_server, webhook_receiver
):
    feed_server.add("/a.xml", rss([OLD, NEW]))
    config = write_config(feeds=[feed_server.url("/a.xml")])
    followup("poll", "--once", "--config", str(config))
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    execute(
        config,
        "UPDATE matches SET matched_at = :t WHERE dedupe_key IN "
        "(SELECT dedupe_key FROM items WHERE guid = 'old')",
        t=ten_days_ago,
    )
    with_hook = write_config(
        feeds=[feed_server.url("/a.xml")],
        webhooks=[{"url": webhook_receiver.url, "secret_env": "HOOK"}],
    )
    assert followup("digest", "--send", "--config", str(with_hook), env=SECRET).code == 0
    [post] = webhook_receiver.posts
    assert titles(post) == [NEW["title"]]


def test_an_empty_digest_is_not_sent_unless_configured(followup, write_config, webhook_receiver):
    hook = [{"url": webhook_receiver.url, "secret_env": "HOOK"}]
    quiet = write_config(webhooks=hook)
    assert followup("digest", "--send", "--config", str(quiet), env=SECRET).code == 0
    assert webhook_receiver.posts == []
    chatty = write_config(webhooks=hook, digest={"send_empty": True}, name="chatty.toml")
    assert followup("digest", "--send", "--config", str(chatty), env=SECRET).code == 0
    [post] = webhook_receiver.posts
    assert json.loads(post.body)["matches"] == []


def test_hot_matches_go_out_at_once_and_are_not_repeated_in_the_digest(
    followup, write_config, feed_server, webhook_receiver, smtp_server
):
    feed_server.add("/a.xml", rss([NEW]))
    config = write_config(
        feeds=[feed_server.url("/a.xml")],
        digest={"alert_score": 0.5},
        webhooks=[{"url": webhook_receiver.url, "secret_env": "HOOK", "alerts": True}],
        email={
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "sender": "f@example.org",
            "to": ["a@example.org"],
        },
    )
    polled = followup("poll", "--once", "--json", "--config", str(config), env=SECRET)
    assert json.loads(polled.out)["new_matches"] == 1
    [alert] = webhook_receiver.posts
    assert titles(alert) == [NEW["title"]]
    assert smtp_server.messages == []  # email did not ask for alerts
    assert followup("digest", "--send", "--config", str(config), env=SECRET).code == 0
    assert len(webhook_receiver.posts) == 1  # nothing new for the webhook
    [digest] = smtp_server.messages
    assert "Daraz adds Easypaisa" in digest.get_body(("plain",)).get_content()


def test_a_webhook_in_slack_format_posts_escaped_blocks(
    followup, write_config, feed_server, webhook_receiver
):
    hostile = {
        "guid": "h",
        "title": "Daraz <!channel> & *bold* in Pakistan",
        "link": "https://e.org/h",
    }
    feed_server.add("/a.xml", rss([hostile]))
    config = write_config(
        feeds=[feed_server.url("/a.xml")],
        webhooks=[{"url": webhook_receiver.url, "secret_env": "HOOK", "format": "slack"}],
    )
    followup("poll", "--once", "--config", str(config))
    assert followup("digest", "--send", "--config", str(config), env=SECRET).code == 0
    [post] = webhook_receiver.posts
    body = post.body.decode()
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body
