"""OPML import and export: nested outlines, bad documents named by line, hostile entities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.opml import parse_opml, render_opml
from pipeline.types import FeedSpec

EXPORTED_BY_ANOTHER_READER = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="News" title="News">
      <outline type="rss" text="Dawn" title="Dawn Business" xmlUrl="https://www.dawn.com/feeds/business" htmlUrl="https://www.dawn.com"/>
      <outline type="rss" text="Geo &amp; More" xmlUrl="http://geo.example/rss"/>
    </outline>
    <outline type="rss" text="Duplicate" xmlUrl="https://www.dawn.com/feeds/business"/>
    <outline text="A folder without feeds"/>
    <outline type="rss" xmlurl="feed://old.example/rss.xml"/>
  </body>
</opml>
"""


def test_nested_outlines_become_feeds_in_order_each_url_once() -> None:
    assert parse_opml(EXPORTED_BY_ANOTHER_READER) == [
        FeedSpec("https://www.dawn.com/feeds/business", "Dawn Business"),
        FeedSpec("http://geo.example/rss", "Geo & More"),
        FeedSpec("http://old.example/rss.xml", None),
    ]


def test_bytes_with_their_own_encoding_are_read() -> None:
    doc = '<?xml version="1.0" encoding="ISO-8859-1"?><opml version="2.0"><body><outline text="Caf\xe9" xmlUrl="http://c.example/f"/></body></opml>'
    assert parse_opml(doc.encode("latin-1")) == [FeedSpec("http://c.example/f", "Café")]


def test_export_then_import_gives_the_same_feeds() -> None:
    feeds = [
        FeedSpec("https://a.example/feed?x=1&y=2", 'Quotes " and <tags> & ampersands'),
        FeedSpec("https://b.example/rss", None),
        FeedSpec("https://c.example/atom", "خبریں\nnew line"),
    ]
    text = render_opml(feeds, title="followup <export>")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">')
    assert "<title>followup &lt;export&gt;</title>" in text
    back = parse_opml(text)
    assert [feed.url for feed in back] == [feed.url for feed in feeds]
    assert [feed.name for feed in back] == [
        'Quotes " and <tags> & ampersands',
        "https://b.example/rss",
        "خبریں new line",
    ]


def test_export_drops_characters_xml_cannot_carry() -> None:
    text = render_opml([FeedSpec("https://a.example/f", "nul\x00 and \ud800 surrogate")])
    assert parse_opml(text) == [FeedSpec("https://a.example/f", "nul and surrogate")]


def test_export_can_stamp_a_creation_date() -> None:
    text = render_opml([], created=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    assert "<dateCreated>Sun, 01 Mar 2026 08:00:00 +0000</dateCreated>" in text


def test_a_malformed_document_names_the_line() -> None:
    doc = '<opml version="2.0">\n<body>\n<outline xmlUrl="http://a.example/f">\n</body></opml>'
    with pytest.raises(InputError, match=r"^subs.opml:4: not valid OPML: mismatched tag$"):
        parse_opml(doc, "subs.opml")


def test_a_non_http_feed_url_names_the_line() -> None:
    doc = '<opml version="2.0"><body>\n\n<outline xmlUrl="file:///etc/passwd"/></body></opml>'
    with pytest.raises(InputError, match=r"^OPML:3: feed URL must be http\(s\)"):
        parse_opml(doc)


def test_a_document_that_is_not_opml_is_refused() -> None:
    with pytest.raises(InputError, match="not an OPML document"):
        parse_opml('<rss version="2.0"><channel/></rss>')


def test_entity_bombs_are_refused_at_their_declaration() -> None:
    doc = (
        '<?xml version="1.0"?>\n<!DOCTYPE opml [\n <!ENTITY a "aaaaaaaaaa">\n'
        ' <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
        '<opml version="2.0"><body><outline text="&b;" xmlUrl="http://x.example/"/></body></opml>'
    )
    with pytest.raises(InputError, match=r"^OPML:3: refused: the document declares XML entities"):
        parse_opml(doc)


def test_an_external_entity_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOP-SECRET")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        '<opml version="2.0"><body><outline text="&x;" xmlUrl="http://x.example/"/></body></opml>'
    )
    with pytest.raises(InputError) as caught:
        parse_opml(doc)
    assert "TOP-SECRET" not in str(caught.value)
