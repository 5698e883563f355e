"""parse_feed on golden files, and the pure helpers around it (URLs, autodiscovery, text)."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from feedparser.urls import _urljoin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import fastrss
from pipeline.errors import ParseError
from pipeline.parsing import (
    _PLAIN_HTTP_URL,
    ParsedFeed,
    _canonical_url,
    _joined_url,
    _safe_url,
    canonical_url,
    discover_feeds,
    discover_links,
    parse_feed,
)
from tests.fixtures_feeds import atom, json_feed, rss

DATA = Path(__file__).parent / "data"
CASES = sorted(p for p in DATA.iterdir() if p.is_file() and not p.name.endswith(".expected.json"))


def as_json(parsed: ParsedFeed) -> dict[str, Any]:
    items = [
        {**vars(item), "published": item.published.isoformat() if item.published else None}
        for item in parsed.items
    ]
    return {
        "title": parsed.title,
        "link": parsed.link,
        "language": parsed.language,
        "version": parsed.version,
        "items": items,
    }


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_feed_parses_to_its_expected_json(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
    parsed = parse_feed(path.read_bytes(), f"https://feeds.example/{path.name}")
    assert as_json(parsed) == expected


def test_every_golden_case_has_an_expected_file() -> None:
    assert len(CASES) >= 5
    for path in CASES:
        assert path.with_name(path.stem + ".expected.json").exists(), path.name


@pytest.mark.parametrize("build", [rss, atom, json_feed], ids=["rss", "atom", "json"])
def test_the_three_formats_give_the_same_items(build: Any) -> None:
    source = [
        {"guid": "a1", "title": "First", "link": "https://x.example/1", "summary": "One"},
        {"guid": "a2", "title": "Second", "link": "https://x.example/2", "summary": "Two"},
    ]
    parsed = parse_feed(build(source, title="Wire"), "https://x.example/feed")
    assert [(i.id, i.title, i.url, i.summary, i.source) for i in parsed.items] == [
        ("a1", "First", "https://x.example/1", "One", "Wire"),
        ("a2", "Second", "https://x.example/2", "Two", "Wire"),
    ]


def test_an_item_without_guid_gets_the_same_hash_id_every_time() -> None:
    body = rss([{"title": "No id", "link": "https://x.example/n"}])
    first = parse_feed(body, "https://x.example/feed").items[0].id
    again = parse_feed(body.replace(b"Test feed", b"Renamed"), "https://x.example/feed").items[0].id
    assert first == again and first.startswith("sha256:")


def test_an_overlong_guid_is_replaced_by_its_hash() -> None:
    parsed = parse_feed(rss([{"guid": "g" * 5000, "title": "t"}]), "https://x.example/feed")
    assert parsed.items[0].id.startswith("sha256:") and len(parsed.items[0].id) < 64


def test_max_items_keeps_the_first_entries() -> None:
    body = rss([{"guid": str(n), "title": f"t{n}"} for n in range(50)])
    parsed = parse_feed(body, "https://x.example/feed", max_items=3)
    assert [item.id for item in parsed.items] == ["0", "1", "2"]


def test_html_becomes_text_without_scripts_handlers_or_styles() -> None:
    summary = (
        '<p onmouseover="evil()">Hello<br>world</p><script>steal()</script>'
        "<style>p{}</style><img src=x onerror=alert(1)>&amp; more"
    )
    item = parse_feed(rss([{"guid": "1", "title": "t", "summary": summary}]), "https://x/f").items[
        0
    ]
    assert item.summary == "Hello\nworld\n& more"


def test_an_unclosed_script_drops_the_rest_of_the_field() -> None:
    item = parse_feed(rss([{"guid": "1", "title": "t", "summary": "ok <script>x"}]), "https://x/f")
    assert item.items[0].summary == "ok"


def test_a_run_of_unclosed_angle_brackets_is_handled_in_linear_time() -> None:
    body = rss([{"guid": "1", "title": "t", "summary": "<" * 200_000}])
    item = parse_feed(body, "https://x/f", max_field_chars=100_000).items[0]
    assert set(item.summary) <= {"<"}


def test_a_parse_error_names_the_feed_and_crosses_a_process_pool() -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        good = pool.submit(parse_feed, rss([{"guid": "1", "title": "t"}]), "https://x/ok").result()
        bad = pool.submit(parse_feed, b"<html><body>no</body></html>", "https://x/bad")
        with pytest.raises(ParseError, match=r"^feed https://x/bad: not a feed"):
            bad.result()
    assert good.items[0].title == "t"


CANONICAL = {
    "lowercase scheme and host": ("HTTPS://News.Example.COM/Path", "https://news.example.com/Path"),
    "default port dropped": ("http://example.com:80/a", "http://example.com/a"),
    "other port kept": ("https://example.com:8443/a", "https://example.com:8443/a"),
    "fragment dropped": ("https://example.com/a#top", "https://example.com/a"),
    "tracking dropped": (
        "https://example.com/a?utm_source=x&id=7&fbclid=y&gclid=z&UTM_medium=m",
        "https://example.com/a?id=7",
    ),
    "empty path": ("https://example.com", "https://example.com/"),
    "ipv6": ("http://[::1]:80/x", "http://[::1]/x"),
}


@pytest.mark.parametrize("raw, expected", CANONICAL.values(), ids=CANONICAL.keys())
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_discover_links_finds_alternate_feeds_in_page_order() -> None:
    page = b"""<html><head>
      <link rel="stylesheet" href="/s.css">
      <link rel="alternate" type="application/atom+xml" href="/atom.xml">
      <link rel="Alternate" type="application/rss+xml; charset=utf-8" href="https://cdn.example/rss">
      <link rel="alternate" type="application/feed+json" href="feed.json">
      <link rel="alternate" type="text/html" href="/other-language">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    </head></html>"""
    assert discover_links(page, "https://site.example/news/") == [
        "https://site.example/atom.xml",
        "https://cdn.example/rss",
        "https://site.example/news/feed.json",
    ]


def test_discover_feeds_returns_the_url_itself_when_it_is_a_feed() -> None:
    assert discover_feeds(atom([{"id": "1", "title": "t"}]), "https://x/atom") == ["https://x/atom"]
    assert discover_feeds(b"<html><body>nothing</body></html>", "https://x/") == []


def test_a_guid_that_is_not_a_url_never_becomes_the_link() -> None:
    body = b'<rss version="2.0"><channel><title>t</title><item><guid>abc-123</guid><title>x</title></item><item><guid>https://x.example/p</guid><title>y</title></item></channel></rss>'
    items = parse_feed(body, "https://x.example/feed").items
    assert [(item.id, item.url) for item in items] == [
        ("abc-123", None),
        ("https://x.example/p", "https://x.example/p"),
    ]


# Property tests: whatever the bytes or text, parse_feed returns clean items or a ParseError.

TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=400)
    | st.sampled_from([b"<rss", b"<feed", b"{", b"<?xml"]).flatmap(
        lambda head: st.binary(max_size=300).map(lambda tail: head + tail)
    )
)
def test_any_bytes_give_a_feed_or_a_parse_error(body: bytes) -> None:
    try:
        parse_feed(body, "https://x/f")
    except ParseError as error:
        assert str(error).startswith("feed https://x/f: ") and "\n" not in str(error)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXT, summary=TEXT, guid=TEXT, build=st.sampled_from([rss, atom, json_feed]))
def test_any_unicode_in_a_feed_comes_out_as_clean_text(
    title: str, summary: str, guid: str, build: Any
) -> None:
    # XML cannot carry some characters at all; the builders escape the rest.
    safe = {
        name: "".join(c for c in value if c.isprintable() or c in "\n\t")
        for name, value in (("title", title), ("summary", summary), ("guid", guid))
    }
    safe = {name: value.encode("utf-8", "replace").decode("utf-8") for name, value in safe.items()}
    parsed = parse_feed(build([safe]), "https://x/f")
    for item in parsed.items:
        for value in (item.id, item.title, item.summary, item.content):
            assert "\x00" not in value
            value.encode("utf-8")
        assert "\n" not in item.title and len(item.title) <= 1000


def test_the_body_decides_between_xml_and_json_whatever_the_label() -> None:
    as_json = parse_feed(
        json_feed([{"id": "1", "title": "j"}]), "https://x/f", "application/rss+xml"
    )
    as_xml = parse_feed(rss([{"guid": "1", "title": "r"}]), "https://x/f", "application/json")
    assert (as_json.version, as_xml.version) == ("json1", "rss20")


# The fast RSS reader must give exactly what the feedparser path gives.


def both_paths(body: bytes, content_type: str | None = None) -> tuple[ParsedFeed, ParsedFeed]:
    fast = parse_feed(body, "https://x.example/feed", content_type)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastrss, "read", lambda *_args: None)
        slow = parse_feed(body, "https://x.example/feed", content_type)
    return fast, slow


@pytest.mark.parametrize("name", ["rss20_full.xml", "rss20_wordpress.xml"])
def test_the_fast_reader_takes_plain_rss_and_agrees_on_the_golden_files(name: str) -> None:
    body = (DATA / name).read_bytes()
    assert fastrss.read(body, None) is not None
    fast, slow = both_paths(body)
    assert fast == slow


SHAPES = {
    "atom": (atom([{"id": "1", "title": "t"}]), None),
    "windows-1252 label": (rss([{"guid": "1", "title": "t"}]), "text/xml; charset=windows-1252"),
    "xml:lang": (
        rss([{"guid": "1", "title": "t"}]).replace(b"<rss ", b'<rss xml:lang="en" '),
        None,
    ),
    "unknown element": (
        rss([{"guid": "1", "title": "t"}]).replace(b"<item>", b"<item><itunes>x</itunes>"),
        None,
    ),
    "markup in a title": (
        rss([]).replace(b"</channel>", b"<item><title>a<b>c</b></title></item></channel>"),
        None,
    ),
    "media:title": (
        rss([]).replace(
            b"</channel>",
            b'<item xmlns:m="http://search.yahoo.com/mrss/"><m:title>x</m:title></item></channel>',
        ),
        None,
    ),
    "two titles": (
        rss([]).replace(b"</channel>", b"<item><title>a</title><title>b</title></item></channel>"),
        None,
    ),
    "rss 0.92": (
        rss([{"guid": "1", "title": "t"}]).replace(b'version="2.0"', b'version="0.92"'),
        None,
    ),
}


@pytest.mark.parametrize("body, content_type", SHAPES.values(), ids=SHAPES.keys())
def test_the_fast_reader_leaves_other_shapes_to_feedparser(
    body: bytes, content_type: str | None
) -> None:
    assert fastrss.read(body, content_type) is None


FIELD_TEXT = st.sampled_from(
    [
        "plain",
        "a &amp; b",
        "caf\u00e9",
        "Ã©t\u00e9",
        "x\u0093q\u0094",
        "&lt;b&gt;bold&lt;/b&gt; text",
        "a &lt; b",
        "&lt;p&gt;para&lt;/p&gt;",
        "  spaced  \n out ",
        "",
        "日本語",
        "&#8217;quote&#8217;",
        "AT&amp;amp;T",
    ]
)
LINKS = st.sampled_from(
    [
        "https://x.example/a",
        "/relative/path",
        "https://x.example/q?a=1&amp;b=2",
        "http:///triple.example/x",
        "javascript:alert(1)",
        "",
        "  https://x.example/s  ",
    ]
)
DATES = st.sampled_from(
    ["Mon, 02 Mar 2026 10:00:00 GMT", "2026-03-02T10:00:00Z", "yesterday", "12:00", ""]
)


@st.composite
def rss_items(draw: st.DrawFn) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(f"<title>{draw(FIELD_TEXT)}</title>")
    if draw(st.booleans()):
        parts.append(f"<link>{draw(LINKS)}</link>")
    if draw(st.booleans()):
        flag = draw(st.sampled_from(["", ' isPermaLink="true"', ' isPermaLink="false"']))
        parts.append(f"<guid{flag}>{draw(LINKS | FIELD_TEXT)}</guid>")
    if draw(st.booleans()):
        parts.append(f"<description>{draw(FIELD_TEXT)}</description>")
    if draw(st.booleans()):
        parts.append(f"<content:encoded><![CDATA[<p>{draw(FIELD_TEXT)}</p>]]></content:encoded>")
    if draw(st.booleans()):
        parts.append(f"<pubDate>{draw(DATES)}</pubDate>")
    if draw(st.booleans()):
        parts.append(f"<dc:date>{draw(DATES)}</dc:date>")
    parts += ["<category>a</category>", '<media:content url="https://x.example/i.jpg"/>'][
        : draw(st.integers(0, 2))
    ]
    return "<item>" + "".join(draw(st.permutations(parts))) + "</item>"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(rss_items(), max_size=4),
    title=FIELD_TEXT,
    link=LINKS,
    language=st.sampled_from(["", "<language>en-US</language>", "<language>ur_PK</language>"]),
    language_last=st.booleans(),
)
def test_the_fast_reader_agrees_with_feedparser(
    items: list[str], title: str, link: str, language: str, language_last: bool
) -> None:
    head = f'<title>{title}</title><link>{link}</link><atom:link rel="self" href="{link}"/>'
    channel = head + ("".join(items) + language if language_last else language + "".join(items))
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
        f'xmlns:media="http://search.yahoo.com/mrss/"><channel>{channel}</channel></rss>'
    ).encode()
    try:
        fast, slow = both_paths(body)
    except ParseError:
        return  # e.g. an undefined entity: both paths then use feedparser
    assert fastrss.read(body, None) is not None
    assert fast == slow


def test_content_without_a_summary_stays_content() -> None:
    rss_body = rss([{"guid": "1", "title": "t"}]).replace(
        b"</item>",
        b"<content:encoded xmlns:content='http://purl.org/rss/1.0/modules/content/'>&lt;p&gt;Body&lt;/p&gt;</content:encoded></item>",
    )
    atom_body = atom([{"id": "1", "title": "t", "content": "<p>Body</p>"}])
    for body in (rss_body, atom_body):
        [item] = parse_feed(body, "https://x/f").items
        assert (item.summary, item.content) == ("", "Body")


def test_discover_feeds_recognises_a_big_feed() -> None:
    body = rss([{"guid": str(n), "title": f"t{n}", "link": f"https://x/{n}"} for n in range(2000)])
    assert discover_feeds(body, "https://x/big.xml") == ["https://x/big.xml"]


def test_max_items_truncates_a_long_feed_instead_of_refusing_it() -> None:
    body = rss([{"guid": str(n), "title": f"t{n}"} for n in range(3000)])
    assert len(parse_feed(body, "https://x/f", max_items=100).items) == 100
    with pytest.raises(ParseError, match="refused: 18009 XML tags"):
        parse_feed(body, "https://x/f", max_elements=5000)


# Links as feeds write them, and the near misses the plain-URL shortcut must leave to urljoin:
# upper-case schemes, empty queries, fragments, params, user info, IPv6 hosts, dot segments.
LINKS_AND_NEAR_MISSES = st.tuples(
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "//"]),
    st.sampled_from(["a.example", "x-y.org", "[::1]", "u@a", "é.org"]),
    st.sampled_from(["", ":8080", ":"]),
    st.lists(st.sampled_from(["/", "/a", "/b/", "..", ".", ";p", "%20", "é", "@", "~", "'"])),
    st.sampled_from(["", "?", "?q=1", "?a;b?c", "?&amp;", '?"']),
    st.sampled_from(["", "#", "#f"]),
).map(lambda parts: "".join(parts[:3]) + "".join(parts[3]) + "".join(parts[4:]))
NEAR_MISSES = ["http://a.example/a?", "http://a.example/a#", "http://a.example/a;p", "HTTP://a/",
               "http://u@a/", "http://[::1]/", "http://a.example/?#f", "http://é.org/"]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    link=st.one_of(LINKS_AND_NEAR_MISSES, st.sampled_from(NEAR_MISSES)),
    base=st.sampled_from(["http://example.org/feed/", "https://example.org/a/b?x#y", ""]),
)
def test_a_link_taken_as_it_is_is_what_urljoin_would_make_of_it(link: str, base: str) -> None:
    if _PLAIN_HTTP_URL.fullmatch(link):
        assert _joined_url(base, link) == link
    assert _safe_url(link, base) == (_joined_url(base, link) if link else None)


def test_plain_links_are_recognised_and_near_misses_are_not() -> None:
    plain = ["http://a.example", "https://a.example:8080/x/y.html?id=3&b=c;d"]
    near = ["http://a.example/x?", "http://a.example/x#", "HTTP://a.example/", "http://u@a/x"]
    assert all(_PLAIN_HTTP_URL.fullmatch(u) for u in plain)
    assert not any(_PLAIN_HTTP_URL.fullmatch(u) for u in near)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["http", "h", "é", "+", ":", "/", "//", "://", "a", " "])))
def test_the_fast_reader_reads_a_uri_as_feedparser_does(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert fastrss._uri(text) == _urljoin("", text)


@settings(max_examples=300, deadline=None)
@given(link=st.one_of(LINKS_AND_NEAR_MISSES, st.sampled_from(NEAR_MISSES)), pad=st.booleans())
def test_a_canonical_link_is_returned_as_it_is_and_others_are_rebuilt(link: str, pad: bool) -> None:
    link = f" {link}\n" if pad else link
    assert canonical_url(link) == _canonical_url(link.strip())
