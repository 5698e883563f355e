"""`followup feeds …`, `label`, `deliveries list` and `db upgrade` from the command line."""

from __future__ import annotations

import json

from tests.fixtures_feeds import rss

ITEM = {
    "guid": "1",
    "title": "Daraz opens a new fulfilment centre in Lahore",
    "link": "https://example.org/daraz-lahore",
}
SITE = b"""<html><head><title>Outlet</title>
<link rel="alternate" type="application/rss+xml" title="Business" href="/business.xml">
</head><body>news</body></html>"""


def test_feeds_add_discovers_the_feed_a_page_advertises(followup, write_config, feed_server):
    feed_server.add("/", SITE, content_type="text/html")
    feed_server.add("/business.xml", rss([ITEM]))
    config = write_config(polling={"allow_private": True})
    added = followup("feeds", "add", feed_server.url("/"), "--config", str(config))
    assert added.code == 0, added.err
    assert feed_server.url("/business.xml") in added.out
    report = json.loads(followup("poll", "--once", "--json", "--config", str(config)).out)
    assert (report["feeds"], report["new_matches"]) == (1, 1)


def test_feeds_add_refuses_loopback_targets_unless_the_config_allows_them(
    followup, write_config, feed_server
):
    feed_server.add("/business.xml", rss([ITEM]))
    config = write_config()
    refused = followup("feeds", "add", feed_server.url("/business.xml"), "--config", str(config))
    assert refused.code == 1
    assert "127.0.0.1" in refused.err and refused.err.count("\n") == 1


def test_config_feeds_and_added_feeds_live_side_by_side(followup, write_config, feed_server):
    feed_server.add("/a.xml", rss([ITEM]))
    feed_server.add("/b.xml", rss([ITEM]))
    config = write_config(feeds=[feed_server.url("/a.xml")], polling={"allow_private": True})
    followup("feeds", "add", "--no-discover", feed_server.url("/b.xml"), "--config", str(config))
    listing = followup("feeds", "list", "--format", "json", "--config", str(config))
    assert listing.code == 0
    assert {f["url"] for f in json.loads(listing.out)} == {
        feed_server.url("/a.xml"),
        feed_server.url("/b.xml"),
    }
    assert followup("feeds", "list", "--config", str(config)).code == 0
    removed = followup("feeds", "remove", feed_server.url("/b.xml"), "--config", str(config))
    assert removed.code == 0
    assert "/b.xml" not in followup("feeds", "export", "--config", str(config)).out
    in_config = followup("feeds", "remove", feed_server.url("/a.xml"), "--config", str(config))
    assert in_config.code == 1 and "remove it there" in in_config.err


def test_feeds_list_shows_health_after_failures(followup, write_config, closed_port_url):
    config = write_config(feeds=[closed_port_url])
    followup("poll", "--once", "--config", str(config))
    followup("poll", "--once", "--config", str(config))
    [feed] = json.loads(
        followup("feeds", "list", "--format", "json", "--failing", "--config", str(config)).out
    )
    assert feed["consecutive_failures"] == 2 and feed["last_error"] and feed["next_poll"]
    assert feed["last_success"] is None


def test_feeds_export_then_import_round_trips_opml(followup, write_config, feed_server, tmp_path):
    first = write_config(feeds=[{"url": "https://example.org/a.xml", "name": "A & B"}])
    exported = followup("feeds", "export", "--config", str(first))
    assert exported.code == 0 and '<opml version="2.0">' in exported.out
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported.out, encoding="utf-8")
    second = write_config(name="other.toml", db_url=f"sqlite:///{tmp_path / 'other.db'}")
    imported = followup("feeds", "import", str(opml), "--config", str(second))
    assert imported.code == 0 and "1 feeds added" in imported.out
    assert "https://example.org/a.xml" in followup("feeds", "export", "--config", str(second)).out


def test_feeds_import_names_a_file_it_cannot_read(followup, write_config, tmp_path):
    result = followup(
        "feeds", "import", str(tmp_path / "none.opml"), "--config", str(write_config())
    )
    assert result.code == 2 and "none.opml" in result.err


def test_feeds_suggest_builds_news_search_feeds_per_language(followup, write_config):
    result = followup(
        "feeds", "suggest", "--seed", "pk-alibaba-2026", "--config", str(write_config())
    )
    assert result.code == 0, result.err
    urls = [line.split("\t")[0] for line in result.out.splitlines()]
    assert any(u.startswith("https://news.google.com/rss/search?") and "hl=ur" in u for u in urls)
    assert any(
        u.startswith("https://news.google.com/rss/search?") and "hl=zh-CN" in u for u in urls
    )
    assert any(
        u.startswith("https://api.gdeltproject.org/api/v2/doc/doc?") and "format=rss" in u
        for u in urls
    )


def test_feeds_suggest_names_an_unknown_seed(followup, write_config):
    result = followup("feeds", "suggest", "--seed", "nope", "--config", str(write_config()))
    assert result.code == 2 and "nope" in result.err


def test_label_stores_a_verdict_and_matches_filters_by_it(followup, write_config, feed_server):
    feed_server.add("/a.xml", rss([ITEM]))
    config = write_config(feeds=[feed_server.url("/a.xml")])
    followup("poll", "--once", "--config", str(config))
    [match] = json.loads(followup("matches", "--format", "json", "--config", str(config)).out)
    assert followup("label", str(match["id"]), "irrelevant", "--config", str(config)).code == 0
    labelled = followup(
        "matches", "--format", "json", "--label", "irrelevant", "--config", str(config)
    )
    assert [m["label"] for m in json.loads(labelled.out)] == ["irrelevant"]
    missing = followup("label", "999", "relevant", "--config", str(config))
    assert missing.code == 1 and "999" in missing.err


def test_deliveries_list_shows_every_attempt(followup, write_config, feed_server, webhook_receiver):
    feed_server.add("/a.xml", rss([ITEM]))
    config = write_config(
        feeds=[feed_server.url("/a.xml")],
        webhooks=[{"url": webhook_receiver.url, "secret_env": "HOOK"}],
    )
    followup("poll", "--once", "--config", str(config))
    webhook_receiver.respond_with(500)
    followup("digest", "--send", "--config", str(config), env={"HOOK": "plain secret"})
    followup("digest", "--send", "--config", str(config), env={"HOOK": "plain secret"})
    listing = followup("deliveries", "list", "--config", str(config))
    assert listing.code == 0
    assert "2 attempts" in listing.out and "failed: " in listing.out and " ok" in listing.out


def test_db_upgrade_reports_the_schema_revision(followup, write_config):
    result = followup("db", "upgrade", "--config", str(write_config()))
    assert result.code == 0 and "database at revision" in result.out
