"""A poll among hostile feeds: each fails alone, with one line naming it, in bounded time,
and the good feed's items are stored once."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from tests.fixtures_feeds import redirect, rss

GOOD = [
    {
        "guid": "g1",
        "title": "Alibaba Cloud signs data centre deal with Pakistan",
        "link": "https://e.org/1",
    },
    {
        "guid": "g2",
        "title": "<script>alert(1)</script>Daraz\r\nBcc: victim@example.org",
        "link": "javascript:alert(1)",
    },
]
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">]>
<rss version="2.0"><channel><title>&lol6;</title><item><title>&lol6;</title><guid>x</guid></item></channel></rss>"""


@pytest.fixture
def hostile_feeds(feed_server, closed_port_url):
    bomb = gzip.compress(b"<rss>" + b" " * 50_000_000 + b"</rss>")
    feed_server.add("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    feed_server.add(
        "/double.xml",
        gzip.compress(gzip.compress(b" " * 20_000_000)),
        headers={"Content-Encoding": "gzip, gzip"},
    )
    feed_server.add("/laughs.xml", BILLION_LAUGHS)
    feed_server.add("/huge.xml", b"<rss>" + b"x" * 3_000_000)
    feed_server.add("/trickle.xml", handler=feed_server.trickle(b"<", 0.2))
    feed_server.add("/hang.xml", handler=feed_server.hang())
    feed_server.add("/loop.xml", handler=redirect("/loop.xml", 302))
    feed_server.add("/file.xml", handler=redirect("file:///etc/passwd", 301))
    feed_server.add("/random.xml", bytes(range(256)) * 40)
    feed_server.add("/empty.xml", b"")
    feed_server.add("/gone.xml", b"", status=410)
    feed_server.add("/limited.xml", b"", status=429, headers={"Retry-After": "3600"})
    paths = [
        "/bomb.xml",
        "/double.xml",
        "/laughs.xml",
        "/huge.xml",
        "/trickle.xml",
        "/hang.xml",
        "/loop.xml",
        "/file.xml",
        "/random.xml",
        "/empty.xml",
        "/gone.xml",
        "/limited.xml",
    ]
    return [feed_server.url(p) for p in paths] + [closed_port_url]


def test_hostile_feeds_fail_alone_and_the_good_feed_is_stored_once(
    followup, write_config, feed_server, hostile_feeds, db_url
):
    feed_server.add("/good.xml", rss(GOOD))
    config = write_config(
        db_url=db_url,
        feeds=[feed_server.url("/good.xml"), *hostile_feeds],
        polling={
            "max_bytes": 1_000_000,
            "total_timeout": 3.0,
            "read_timeout": 2.0,
            "connect_timeout": 2.0,
        },
    )
    started = time.monotonic()
    result = followup("poll", "--once", "--json", "--config", str(config))
    elapsed = time.monotonic() - started
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["ok"], report["failed"]) == (1, len(hostile_feeds))
    assert report["new_items"] == 2
    assert {e["feed"] for e in report["errors"]} == set(hostile_feeds)
    assert all(
        e["error"] and "\n" not in e["error"] and len(e["error"]) < 600 for e in report["errors"]
    )
    assert elapsed < 30  # deadlines hold: nothing waits for the trickle or the hang

    again = json.loads(followup("poll", "--once", "--json", "--config", str(config)).out)
    assert again["new_items"] == 0 and again["feeds"] == len(hostile_feeds)  # 410 retired one
    stored = json.loads(followup("matches", "--format", "json", "--config", str(config)).out)
    assert len({m["url"] for m in stored}) == len(stored)


def test_hostile_text_is_escaped_in_the_digest_and_kept_out_of_mail_headers(
    followup, write_config, feed_server, smtp_server, tmp_path
):
    feed_server.add("/good.xml", rss(GOOD))
    config = write_config(
        feeds=[feed_server.url("/good.xml")],
        email={
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "sender": "f@example.org",
            "to": ["a@example.org"],
        },
    )
    followup("poll", "--once", "--config", str(config))
    out = tmp_path / "d.html"
    assert followup("digest", "--dry-run", "--out", str(out), "--config", str(config)).code == 0
    html = out.read_text()
    assert "<script>" not in html and "javascript:" not in html
    assert followup("digest", "--send", "--config", str(config)).code == 0
    [message] = smtp_server.messages
    assert message["Bcc"] is None and "victim" not in str(message["Subject"])
    assert smtp_server.envelopes[0][1] == ["a@example.org"]
