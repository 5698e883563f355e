"""Issue 8, fetch and parse half: every hostile feed gives one line naming the feed, in bounded time.

Each case runs against the loopback feed server with low limits (1 MiB bodies, 1 s deadlines),
through the same path the poller takes: ``Fetcher.fetch`` then ``parse_feed``.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import time
import tracemalloc
import zlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import FeedError, FetchError, ParseError
from pipeline.fetching import Fetched, Fetcher, FetchLimits, FetchRequest, FetchResult, NotModified
from pipeline.parsing import ParsedFeed, parse_feed
from tests.fixtures_feeds import FeedServer, json_feed, redirect, rss

LOW: dict[str, Any] = {
    "max_bytes": 1024 * 1024,
    "total_timeout": 1.0,
    "read_timeout": 5.0,
    "connect_timeout": 1.0,
}
SSRF: dict[str, Any] = {"allow_private": False}


def poll(request: FetchRequest | str, **limits: Any) -> ParsedFeed | NotModified | FeedError:
    """Fetch and parse one feed as the poller does; the error is returned, not raised."""
    request = FetchRequest(request) if isinstance(request, str) else request

    async def run() -> FetchResult:
        async with Fetcher(FetchLimits(**{**LOW, **limits})) as fetcher:
            return await fetcher.fetch(request)

    result = asyncio.run(run())
    if not isinstance(result, Fetched):
        return result
    try:
        return parse_feed(result.body, request.url, result.content_type)
    except ParseError as error:
        return error


def assert_one_line_error(result: object, url: str, kind: type[FeedError], text: str) -> FeedError:
    assert isinstance(result, kind), result
    message = str(result)
    assert message.startswith(f"feed {url}: ") and "\n" not in message and len(message) < 500
    assert text in message, message
    return result


def feed_items(result: object) -> list[Any]:
    assert isinstance(result, ParsedFeed), result
    return list(result.items)


# -- XML entities and DTDs ----------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>
"""


def quadratic_blowup() -> bytes:
    entity = b"A" * 50_000
    refs = b"&a;" * 20_000
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "' + entity + b'">]>\n'
        b'<rss version="2.0"><channel><title>q</title><item><title>'
        + refs
        + b"</title></item></channel></rss>"
    )


@pytest.mark.parametrize("body", [BILLION_LAUGHS, quadratic_blowup()], ids=["billion", "quadratic"])
def test_entity_expansion_is_refused(feed_server: FeedServer, body: bytes) -> None:
    url = feed_server.add("/bomb.xml", body)
    started = time.monotonic()
    assert_one_line_error(poll(url), url, ParseError, "declares XML entities")
    assert time.monotonic() - started < 2


def test_an_external_entity_never_reads_the_local_file(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a")
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<rss version="2.0"><channel><title>&xxe;</title>'
        "<item><title>&xxe;</title><description>&xxe;</description></item></channel></rss>"
    )
    url = feed_server.add("/xxe.xml", body)
    error = assert_one_line_error(poll(url), url, ParseError, "declares XML entities")
    assert "TOP-SECRET" not in str(error)


def test_an_external_dtd_is_never_fetched(feed_server: FeedServer) -> None:
    dtd = feed_server.add("/evil.dtd", b'<!ENTITY % leak SYSTEM "file:///etc/passwd">')
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{dtd}">'.encode()
        + rss([{"guid": "1", "title": "still read"}]).split(b"?>", 1)[1]
    )
    url = feed_server.add("/dtd.xml", body)
    assert [item.title for item in feed_items(poll(url))] == ["still read"]
    assert feed_server.count("/evil.dtd") == 0


# -- compression, size and time -----------------------------------------------------------


def gzip_of_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes, built in chunks so the test never holds ``size`` bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


def test_a_gzip_bomb_stops_at_the_size_limit(feed_server: FeedServer) -> None:
    bomb = gzip_of_zeros(64 * 1024 * 1024)
    assert len(bomb) < LOW["max_bytes"]  # small on the wire: only decoding can catch it
    url = feed_server.add("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    assert_one_line_error(poll(url), url, FetchError, "too large")


def test_stacked_gzip_is_bounded_layer_by_layer(feed_server: FeedServer) -> None:
    bomb = gzip.compress(gzip_of_zeros(64 * 1024 * 1024))
    assert len(bomb) < 50_000
    url = feed_server.add("/bomb.xml", bomb, headers={"Content-Encoding": "gzip, gzip"})
    tracemalloc.start()
    try:
        result = poll(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_one_line_error(result, url, FetchError, "too large")
    assert peak < 16 * 1024 * 1024


def test_three_stacked_encodings_are_refused(feed_server: FeedServer) -> None:
    body = gzip.compress(gzip.compress(gzip.compress(rss([]))))
    url = feed_server.add(
        "/f.xml", body, headers=[("Content-Encoding", "gzip, gzip"), ("Content-Encoding", "gzip")]
    )
    assert_one_line_error(poll(url), url, FetchError, "3 stacked Content-Encodings")


def test_an_unknown_encoding_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.add("/f.xml", rss([]), headers={"Content-Encoding": "zstd"})
    assert_one_line_error(poll(url), url, FetchError, "unsupported Content-Encoding 'zstd'")


def test_a_declared_60_mb_body_is_refused_before_reading(feed_server: FeedServer) -> None:
    def huge(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", str(60 * 1024 * 1024))
        request.end_headers()
        request.wfile.write(b"<rss>" + bytes(1024))

    url = feed_server.add("/huge.xml", handler=huge)
    assert_one_line_error(poll(url), url, FetchError, "Content-Length 62914560")


def test_a_60_mb_body_without_length_stops_at_the_limit(feed_server: FeedServer) -> None:
    def stream(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Connection", "close")  # body ends when the connection does
        request.end_headers()
        block = b"<item>" + bytes(1024 * 1024)
        for _ in range(60):  # bounded: 60 MiB at most
            request.wfile.write(block)

    url = feed_server.add("/stream.xml", handler=stream)
    tracemalloc.start()
    try:
        result = poll(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_one_line_error(result, url, FetchError, "body too large")
    assert peak < 16 * 1024 * 1024


def test_a_body_trickling_one_byte_at_a_time_hits_the_whole_request_deadline(
    feed_server: FeedServer,
) -> None:
    url = feed_server.add("/slow.xml", handler=feed_server.trickle(b"<", 0.1))
    started = time.monotonic()
    assert_one_line_error(poll(url), url, FetchError, "timed out after 1s (whole request)")
    assert time.monotonic() - started < 3


def test_a_server_that_never_answers_hits_the_deadline(feed_server: FeedServer) -> None:
    url = feed_server.add("/silent.xml", handler=feed_server.hang())
    started = time.monotonic()
    assert_one_line_error(poll(url), url, FetchError, "timed out after 1s")
    assert_one_line_error(poll(url, read_timeout=0.2), url, FetchError, "read timed out after 0.2s")
    assert time.monotonic() - started < 4


def test_one_hostile_feed_does_not_cost_the_others(feed_server: FeedServer) -> None:
    good = [
        feed_server.add(f"/good{n}.xml", rss([{"guid": str(n), "title": "ok"}])) for n in range(5)
    ]
    hostile = [
        feed_server.add("/silent.xml", handler=feed_server.hang()),
        feed_server.add(
            "/bomb.xml", gzip_of_zeros(8 * 1024 * 1024), headers={"Content-Encoding": "gzip"}
        ),
    ]

    async def run() -> dict[str, Any]:
        async with Fetcher(FetchLimits(**LOW)) as fetcher:
            requests = [FetchRequest(url) for url in hostile + good]
            return {req.url: result async for req, result in fetcher.fetch_many(requests)}

    results = asyncio.run(run())
    assert all(isinstance(results[url], Fetched) for url in good)
    assert all(isinstance(results[url], FetchError) for url in hostile)


# -- redirects ----------------------------------------------------------------------------


def test_a_body_cut_short_by_the_server_is_an_error(feed_server: FeedServer) -> None:
    def cut(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "5000")
        request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(rss([])[:100])

    url = feed_server.add("/cut.xml", handler=cut)
    assert_one_line_error(poll(url), url, FetchError, "RemoteProtocolError")


def test_a_compressed_stream_cut_short_is_an_error(feed_server: FeedServer) -> None:
    body = gzip.compress(rss([{"guid": str(n), "title": "t"} for n in range(50)]))[:-40]
    url = feed_server.add("/cut.xml", body, headers={"Content-Encoding": "gzip"})
    assert_one_line_error(poll(url), url, FetchError, "compressed stream ends early")


def test_a_redirect_loop_is_an_error(feed_server: FeedServer) -> None:
    feed_server.add("/b", handler=redirect("/a"))
    url = feed_server.add("/a", handler=redirect("/b"))
    assert_one_line_error(poll(url), url, FetchError, "redirect loop")
    assert feed_server.count("/a") == 1


def test_a_long_redirect_chain_is_cut(feed_server: FeedServer) -> None:
    for n in range(10):
        feed_server.add(f"/r{n}", handler=redirect(f"/r{n + 1}"))
    url = feed_server.url("/r0")
    assert_one_line_error(poll(url, max_redirects=3), url, FetchError, "more than 3 redirects")
    assert feed_server.count("/r4") == 0


@pytest.mark.parametrize(
    "target",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/feed.xml",
        "gopher://127.0.0.1/",
        "ldap://127.0.0.1/",
    ],
)
def test_a_redirect_to_another_scheme_is_refused(feed_server: FeedServer, target: str) -> None:
    url = feed_server.add("/r", handler=redirect(target))
    scheme = target.split(":")[0]
    assert_one_line_error(poll(url), url, FetchError, f"refused: redirect to {scheme}:")


@pytest.mark.parametrize("target", ["data:text/xml,<rss/>", "javascript:alert(1)"])
def test_a_redirect_to_an_unusable_location_is_an_error(
    feed_server: FeedServer, target: str
) -> None:
    url = feed_server.add("/r", handler=redirect(target))
    assert_one_line_error(poll(url), url, FetchError, "")
    assert [logged.path for logged in feed_server.requests] == ["/r"]


@pytest.mark.parametrize(
    "url",
    [
        "http://xn--ls8h.la/feed",
        "http://\u2603.example/",
        "http://[::1/",
        "http://example.com:99999/",
        "https://",
    ],
)
def test_a_malformed_url_is_an_error_not_a_crash(url: str) -> None:
    for ssrf in (False, True):
        result = poll(FetchRequest(url, check_ssrf=ssrf), **SSRF)
        assert isinstance(result, FetchError) and str(result).startswith(f"feed {url}: ")


def test_a_non_http_feed_url_is_refused() -> None:
    assert_one_line_error(
        poll("file:///etc/passwd"), "file:///etc/passwd", FetchError, "http(s) only"
    )


# -- not feeds, broken servers ------------------------------------------------------------

NOT_FEEDS = {
    "html page": (
        b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
        "HTML page",
    ),
    "random bytes": (random.Random(8).randbytes(4096), "not a feed"),
    "empty body": (b"", "empty body"),
    "whitespace": (b"  \r\n ", "empty body"),
    "truncated": (
        rss([{"guid": str(n), "title": "x" * 50} for n in range(20)])[:900],
        "truncated body",
    ),
    "json that is not a feed": (b'{"hello": "world"}', "not a feed"),
    "broken json": (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "invalid JSON"),
    "deep json": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "invalid JSON"),
}


@pytest.mark.parametrize("body, text", NOT_FEEDS.values(), ids=NOT_FEEDS.keys())
def test_a_body_that_is_not_a_feed_is_a_parse_error(
    feed_server: FeedServer, body: bytes, text: str
) -> None:
    url = feed_server.add("/f", body, content_type="text/html")
    assert_one_line_error(poll(url), url, ParseError, text)


def test_connection_refused_is_an_error(closed_port_url: str) -> None:
    assert_one_line_error(poll(closed_port_url), closed_port_url, FetchError, "cannot connect")


@pytest.mark.parametrize("status", [404, 410, 500])
def test_an_http_error_status_is_an_error_with_the_status(
    feed_server: FeedServer, status: int
) -> None:
    url = feed_server.add("/f", b"nope", status=status)
    error = assert_one_line_error(poll(url), url, FetchError, f"HTTP {status}")
    assert error.status == status and error.retry_after is None


def test_429_carries_retry_after_seconds(feed_server: FeedServer) -> None:
    url = feed_server.add("/f", b"slow down", status=429, headers={"Retry-After": "120"})
    error = assert_one_line_error(
        poll(url), url, FetchError, "HTTP 429 Too Many Requests, retry after 120s"
    )
    assert (error.status, error.retry_after) == (429, 120.0)


def test_503_carries_retry_after_from_an_http_date(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/f", b"", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
    )
    error = assert_one_line_error(poll(url), url, FetchError, "HTTP 503")
    assert error.retry_after == 30 * 24 * 3600.0  # capped


# -- charsets and text --------------------------------------------------------------------

WINDOWS_1252 = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\xe9</title>'
    "<item><guid>1</guid><title>\x93Quoted\x94 na\xefve</title></item></channel></rss>"
).encode("latin-1")


def test_windows_1252_labelled_utf_8_is_read_as_windows_1252(feed_server: FeedServer) -> None:
    url = feed_server.add("/f.xml", WINDOWS_1252, content_type="application/rss+xml; charset=utf-8")
    result = poll(url)
    assert isinstance(result, ParsedFeed) and result.title == "Café"
    assert [item.title for item in result.items] == ["“Quoted” naïve"]


def test_a_feed_without_any_charset_is_still_read(feed_server: FeedServer) -> None:
    body = "<rss version='2.0'><channel><title>Caf\xe9</title></channel></rss>".encode("latin-1")
    result = poll(feed_server.add("/f.xml", body, content_type="text/xml"))
    assert isinstance(result, ParsedFeed) and result.title == "Café"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf_16_and_32_with_a_bom_are_read(feed_server: FeedServer, codec: str) -> None:
    text = (
        rss([{"guid": "1", "title": "خبر 中文"}], title="Ünïcode")
        .decode()
        .replace("utf-8", codec.upper())
    )
    body = text.encode(codec) if codec != "utf-16-be" else b"\xfe\xff" + text.encode(codec)
    result = poll(feed_server.add("/f.xml", body, content_type="application/xml"))
    assert isinstance(result, ParsedFeed) and result.title == "Ünïcode"
    assert [item.title for item in result.items] == ["خبر 中文"]


def assert_clean(text: str | None) -> None:
    if text is not None:
        assert "\x00" not in text
        text.encode("utf-8")  # raises on a lone surrogate


def test_nul_bytes_and_lone_surrogates_never_reach_an_item(feed_server: FeedServer) -> None:
    xml = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>N\x00UL</title>'
        b"<item><guid>g\x00&#xD800;</guid><title>a\x00b &#xDC00; c</title>"
        b"<description>x&#0;y</description></item></channel></rss>"
    )
    json_body = b'{"version": "https://jsonfeed.org/version/1.1", "title": "t\\u0000", "items": [{"id": "\\ud800\\u0000", "title": "a\\udfffb\\u0000", "content_text": "\\u0000"}]}'
    for path, body in (("/x.xml", xml), ("/j.json", json_body)):
        result = poll(feed_server.add(path, body))
        assert isinstance(result, ParsedFeed), result
        assert_clean(result.title)
        for item in feed_items(result):
            for value in (item.id, item.title, item.summary, item.content, item.url, item.source):
                assert_clean(value)


def test_cr_lf_in_a_title_becomes_one_line_and_script_links_are_dropped(
    feed_server: FeedServer,
) -> None:
    body = rss(
        [
            {
                "guid": "1",
                "title": "Hello\r\nBcc: victim@example.org",
                "link": "javascript:alert(1)",
            },
            {"guid": "2", "title": "Two", "link": "&#106;avascript:alert(1)"},
            {"guid": "3", "title": "Three", "link": " java\tscript:alert(1)"},
        ]
    ).replace(b"&amp;#106;", b"&#106;")  # entity-encoded in the XML itself
    items = feed_items(poll(feed_server.add("/f.xml", body)))
    assert items[0].title == "Hello Bcc: victim@example.org"
    assert [item.url for item in items] == [None, None, None]


def test_a_100_000_character_title_is_cut(feed_server: FeedServer) -> None:
    body = rss([{"guid": "1", "title": "x" * 100_000}], title="y" * 100_000)
    result = poll(feed_server.add("/f.xml", body))
    assert isinstance(result, ParsedFeed) and result.title is not None
    assert len(result.title) <= 1000 and len(result.items[0].title) <= 1000
    assert result.items[0].title.endswith("…")


def test_5000_items_in_one_feed_are_all_read_in_bounded_time(feed_server: FeedServer) -> None:
    body = rss(
        [
            {"guid": str(n), "title": f"Item {n}", "link": f"https://x.example/{n}"}
            for n in range(5000)
        ]
    )
    url = feed_server.add("/big.xml", body)
    started = time.monotonic()
    items = feed_items(poll(url, max_bytes=10 * 1024 * 1024, total_timeout=10))
    assert len(items) == 5000 and len({item.id for item in items}) == 5000
    assert time.monotonic() - started < 10


FLOODS = {
    "100,000 attributes on one tag": b"<item "
    + b" ".join(b'a%d="x"' % n for n in range(100_000))
    + b">",
    "a million empty elements": b"<a/>" * 1_000_000,
    "200,000 nested elements": b"<a>" * 200_000 + b"</a>" * 200_000,
}


@pytest.mark.parametrize("flood", FLOODS.values(), ids=FLOODS.keys())
def test_a_document_that_would_cost_minutes_of_cpu_is_refused_at_once(
    feed_server: FeedServer, flood: bytes
) -> None:
    body = b'<rss version="2.0"><channel><title>t</title>' + flood + b"</channel></rss>"
    url = feed_server.add("/flood.xml", body)
    started = time.monotonic()
    assert_one_line_error(poll(url, max_bytes=10 * 1024 * 1024), url, ParseError, "refused:")
    assert time.monotonic() - started < 2


def test_thousands_of_unclosed_doctypes_are_refused_in_linear_time(feed_server: FeedServer) -> None:
    body = b"<!DOCTYPE x [" * 300_000 + rss([])
    url = feed_server.add("/f.xml", body)
    started = time.monotonic()
    assert_one_line_error(
        poll(url, max_bytes=10 * 1024 * 1024), url, ParseError, "malformed DOCTYPE"
    )
    assert time.monotonic() - started < 2


def test_absurd_character_references_become_replacement_characters(feed_server: FeedServer) -> None:
    title = "a&#" + "9" * 5000 + ";b&#x110000;c&#55296;d&#0;e&#x10FFFF;"
    body = rss([{"guid": "1", "title": "x"}]).replace(
        b"<title>x</title>", f"<title>{title}</title>".encode()
    )
    [item] = feed_items(poll(feed_server.add("/f.xml", body)))
    assert item.title == "a\ufffdb\ufffdc\ufffdd\ufffde\U0010ffff"


def test_html_in_cdata_does_not_count_as_elements(feed_server: FeedServer) -> None:
    html = "<p>" + "<b>x</b>" * 300_000 + "</p>"
    body = rss([{"guid": "1", "title": "t"}]).replace(
        b"<title>t</title>",
        f"<title>t</title><description><![CDATA[{html}]]></description>".encode(),
    )
    items = feed_items(poll(feed_server.add("/f.xml", body), max_bytes=10 * 1024 * 1024))
    assert items[0].summary.startswith("xxx")


def test_duplicate_guids_within_a_feed_give_one_item(feed_server: FeedServer) -> None:
    body = rss(
        [
            {"guid": "same", "title": "first"},
            {"guid": "same", "title": "second"},
            {"guid": "x", "title": "x"},
        ]
    )
    items = feed_items(poll(feed_server.add("/f.xml", body)))
    assert [(item.id, item.title) for item in items] == [("same", "first"), ("x", "x")]


DATES = {
    "missing": (None, None),
    "unparseable": ("next Tuesday-ish", None),
    "1970": ("Thu, 01 Jan 1970 00:00:00 GMT", datetime(1970, 1, 1, tzinfo=UTC)),
    "far future": ("Fri, 01 Jan 2999 00:00:00 GMT", datetime(2999, 1, 1, tzinfo=UTC)),
    "offset": ("Tue, 03 Mar 2026 09:30:00 +0500", datetime(2026, 3, 3, 4, 30, tzinfo=UTC)),
    "beyond datetime": ("Sat, 01 Jan 99999 00:00:00 GMT", None),
    "time only, which feedparser dates today": ("12:00:00", None),
    "a long run of digits": ("1" * 5000, None),
}


@pytest.mark.parametrize("raw, expected", DATES.values(), ids=DATES.keys())
def test_dates_are_utc_or_none(
    feed_server: FeedServer, raw: str | None, expected: datetime | None
) -> None:
    entry = {"guid": "1", "title": "t"} | ({"published": raw} if raw else {})
    for path, body in (("/f.xml", rss([entry])), ("/f.json", json_feed([entry]))):
        [item] = feed_items(poll(feed_server.add(path, body)))
        if path.endswith(".json") and raw and not raw[0].isdigit():
            continue  # JSON Feed dates are RFC 3339: an RFC 822 string is rightly ignored
        assert item.published == expected
        assert item.published is None or item.published.utcoffset() is not None


# -- SSRF ----------------------------------------------------------------------------------


def test_a_user_feed_on_loopback_is_refused_without_a_connection(feed_server: FeedServer) -> None:
    url = feed_server.add("/f.xml", rss([]))
    result = poll(FetchRequest(url, check_ssrf=True), **SSRF)
    assert_one_line_error(result, url, FetchError, "non-public address (127.0.0.1)")
    assert feed_server.count("/f.xml") == 0


def test_a_host_name_is_checked_after_dns_resolution(feed_server: FeedServer) -> None:
    url = f"http://localhost:{feed_server.port}/f.xml"
    feed_server.add("/f.xml", rss([]))
    result = poll(FetchRequest(url, check_ssrf=True), **SSRF)
    assert_one_line_error(result, url, FetchError, "refused: localhost is a non-public address")


def test_operator_feeds_and_allowed_configs_may_point_anywhere(feed_server: FeedServer) -> None:
    url = feed_server.add("/f.xml", rss([]))
    assert isinstance(poll(FetchRequest(url), **SSRF), ParsedFeed)  # from the config file
    assert isinstance(poll(FetchRequest(url, check_ssrf=True)), ParsedFeed)  # allow_private


@pytest.mark.parametrize(
    "target, shown",
    [
        ("http://127.0.0.2:{port}/f.xml", "127.0.0.2"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.0.0.1/admin", "10.0.0.1"),
        ("http://[::1]:{port}/f.xml", "::1"),
        ("http://[::ffff:127.0.0.1]:{port}/f.xml", "::ffff:7f00:1"),
        ("http://0.0.0.0:{port}/f.xml", "0.0.0.0"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused(
    feed_server: FeedServer, target: str, shown: str
) -> None:
    # 127.0.0.1 itself is allowed here, standing in for a public server.
    url = feed_server.add("/start", handler=redirect(target.format(port=feed_server.port)))
    limits = SSRF | {"allowed_networks": ("127.0.0.1/32",)}
    result = poll(FetchRequest(url, check_ssrf=True), **limits)
    assert_one_line_error(result, url, FetchError, f"non-public address ({shown})")
    assert [logged.path for logged in feed_server.requests] == ["/start"]
