"""The HTTP adapter against a real loopback server: conditional GET, redirects, limits."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import RequestReceived

from pipeline.errors import FetchError
from pipeline.fetching import (
    Fetched,
    Fetcher,
    FetchLimits,
    FetchRequest,
    FetchResult,
    NotModified,
    _retry_after,
)
from pipeline.parsing import discover_feeds
from tests.fixtures_feeds import FeedServer, redirect, rss

BODY = rss([{"guid": "1", "title": "One"}])


def fetch(request: FetchRequest | str, **limits: Any) -> FetchResult:
    request = FetchRequest(request) if isinstance(request, str) else request

    async def run() -> FetchResult:
        async with Fetcher(FetchLimits(**limits)) as fetcher:
            return await fetcher.fetch(request)

    return asyncio.run(run())


def fetch_all(requests: Sequence[FetchRequest], **limits: Any) -> dict[str, FetchResult]:
    async def run() -> dict[str, FetchResult]:
        async with Fetcher(FetchLimits(**limits)) as fetcher:
            return {req.url: result async for req, result in fetcher.fetch_many(requests)}

    return asyncio.run(run())


def test_a_feed_is_fetched_with_its_validators_and_a_content_hash(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/f.xml", BODY, etag='"v1"', last_modified="Mon, 02 Mar 2026 10:00:00 GMT"
    )
    result = fetch(url)
    assert isinstance(result, Fetched)
    assert (result.status, result.body, result.final_url) == (200, BODY, url)
    assert result.etag == '"v1"' and result.last_modified == "Mon, 02 Mar 2026 10:00:00 GMT"
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert len(result.content_hash) == 64 and not result.unchanged
    assert result.permanent_redirect is None


def test_validators_are_sent_back_and_a_304_is_not_modified(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/f.xml", BODY, etag='"v1"', last_modified="Mon, 02 Mar 2026 10:00:00 GMT"
    )
    result = fetch(FetchRequest(url, etag='"v1"', last_modified="Mon, 02 Mar 2026 10:00:00 GMT"))
    assert result == NotModified(url, '"v1"', "Mon, 02 Mar 2026 10:00:00 GMT", None)
    headers = feed_server.requests[-1].headers
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Mon, 02 Mar 2026 10:00:00 GMT"


def test_no_conditional_headers_are_sent_without_validators(feed_server: FeedServer) -> None:
    fetch(feed_server.add("/f.xml", BODY))
    headers = feed_server.requests[-1].headers
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers


def test_connections_are_kept_alive_across_304s_and_redirects(feed_server: FeedServer) -> None:
    url = feed_server.add("/f.xml", BODY, etag='"v1"')
    moved = feed_server.add("/moved", handler=redirect("/f.xml", 302))

    async def run() -> None:
        async with Fetcher() as fetcher:
            for _ in range(3):
                assert isinstance(await fetcher.fetch(FetchRequest(url, etag='"v1"')), NotModified)
                assert isinstance(await fetcher.fetch(FetchRequest(moved)), Fetched)

    asyncio.run(run())
    assert len(feed_server.requests) == 9
    assert len({logged.client for logged in feed_server.requests}) == 1


def test_a_body_with_the_known_hash_is_marked_unchanged(feed_server: FeedServer) -> None:
    url = feed_server.add("/f.xml", BODY)
    first = fetch(url)
    assert isinstance(first, Fetched)
    again = fetch(FetchRequest(url, content_hash=first.content_hash))
    assert isinstance(again, Fetched) and again.unchanged


def test_requests_carry_a_clear_user_agent(feed_server: FeedServer) -> None:
    fetch(feed_server.add("/f.xml", BODY), user_agent="followup-test/1")
    assert feed_server.requests[-1].headers["User-Agent"] == "followup-test/1"


def test_a_feed_setting_a_cookie_never_gets_it_back(feed_server: FeedServer) -> None:
    cookie = [("Set-Cookie", "session=abc; Path=/")]
    target = feed_server.add("/f.xml", BODY, headers=cookie)
    start = feed_server.add("/old.xml", b"", status=302, headers=[("Location", target), *cookie])
    fetch_all([FetchRequest(start), FetchRequest(target), FetchRequest(start)], per_origin=1)
    assert len(feed_server.requests) == 5  # three requests, two of them redirected
    assert all("Cookie" not in logged.headers for logged in feed_server.requests)


@pytest.mark.parametrize(
    "encoding, encode",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ],
    ids=["gzip", "deflate", "raw-deflate", "gzip-twice"],
)
def test_compressed_bodies_are_decoded(feed_server: FeedServer, encoding: str, encode: Any) -> None:
    url = feed_server.add("/f.xml", encode(BODY), headers={"Content-Encoding": encoding})
    result = fetch(url)
    assert isinstance(result, Fetched) and result.body == BODY


def test_a_chain_of_permanent_redirects_gives_the_new_url(feed_server: FeedServer) -> None:
    final = feed_server.add("/new.xml", BODY)
    feed_server.add("/mid", handler=redirect(final, 308))
    start = feed_server.add("/old", handler=redirect("/mid", 301))
    result = fetch(start)
    assert isinstance(result, Fetched)
    assert (result.url, result.final_url, result.permanent_redirect) == (start, final, final)


def test_a_temporary_hop_stops_the_permanent_redirect_where_it_starts(
    feed_server: FeedServer,
) -> None:
    final = feed_server.add("/new.xml", BODY)
    mid = feed_server.add("/mid", handler=redirect(final, 302))
    result = fetch(feed_server.add("/old", handler=redirect(mid, 301)))
    assert isinstance(result, Fetched) and result.permanent_redirect == mid


def test_a_temporary_redirect_keeps_the_stored_url(feed_server: FeedServer) -> None:
    final = feed_server.add("/new.xml", BODY)
    result = fetch(feed_server.add("/old", handler=redirect(final, 307)))
    assert isinstance(result, Fetched) and result.permanent_redirect is None


def test_fetch_many_yields_every_request_as_it_completes(feed_server: FeedServer) -> None:
    slow = FetchRequest(feed_server.add("/slow.xml", BODY, delay=0.6))
    fast = [FetchRequest(feed_server.add(f"/{n}.xml", BODY)) for n in range(5)]
    order: list[str] = []

    async def run() -> None:
        async with Fetcher() as fetcher:
            async for request, result in fetcher.fetch_many([slow, *fast]):
                assert isinstance(result, Fetched) and result.url == request.url
                order.append(request.url)

    asyncio.run(run())
    assert order[-1] == slow.url and len(order) == 6


class InFlight:
    """Counts concurrent requests per Host header (a handler for the feed server)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total_peak = 0

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        host = request.headers["Host"].split(":")[0]
        with self.lock:
            self.now[host] = self.now.get(host, 0) + 1
            self.peak[host] = max(self.peak.get(host, 0), self.now[host])
            self.total_peak = max(self.total_peak, sum(self.now.values()))
        threading.Event().wait(0.15)  # ok: hold the request open so overlaps can be seen
        with self.lock:
            self.now[host] -= 1
        request.send_response(200)
        request.send_header("Content-Length", str(len(BODY)))
        request.end_headers()
        request.wfile.write(BODY)


def test_per_origin_and_global_limits_hold(feed_server: FeedServer) -> None:
    counter = InFlight()
    feed_server.add("/f", handler=counter)
    origins = [f"http://127.0.0.1:{feed_server.port}", f"http://localhost:{feed_server.port}"]
    requests = [FetchRequest(f"{origin}/f?{n}") for origin in origins for n in range(8)]
    results = fetch_all(requests, per_origin=2, max_concurrency=3)
    assert all(isinstance(result, Fetched) for result in results.values())
    assert max(counter.peak.values()) == 2
    assert counter.total_peak == 3


def test_discover_finds_the_feed_a_page_links_to(feed_server: FeedServer) -> None:
    feed_url = feed_server.add("/feed.xml", BODY)
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head></html>'
    page_url = feed_server.add("/", page, content_type="text/html")

    async def run() -> tuple[list[str], list[str]]:
        async with Fetcher() as fetcher:
            from_page = await fetcher.discover(page_url, discover_feeds, check_ssrf=False)
            from_feed = await fetcher.discover(feed_url, discover_feeds, check_ssrf=False)
            return from_page, from_feed

    assert asyncio.run(run()) == ([feed_url], [feed_url])


def test_discover_raises_the_fetch_error(closed_port_url: str) -> None:
    async def run() -> list[str]:
        async with Fetcher() as fetcher:
            return await fetcher.discover(closed_port_url, discover_feeds)

    with pytest.raises(FetchError, match="cannot connect"):
        asyncio.run(run())


def test_https_feeds_are_verified_against_the_trusted_cas(
    https_feed_server: FeedServer, tls_files: Any
) -> None:
    url = https_feed_server.add("/f.xml", BODY)
    assert url.startswith("https://")
    trusted = fetch(url, ca_file=str(tls_files.cert))
    assert isinstance(trusted, Fetched) and trusted.body == BODY
    refused = fetch(url)
    assert isinstance(refused, FetchError) and "CERTIFICATE_VERIFY_FAILED" in str(refused)


PINNED = {"allow_private": False, "allowed_networks": ("127.0.0.0/8", "::1/128")}


def test_a_checked_host_is_connected_by_the_address_that_passed(feed_server: FeedServer) -> None:
    feed_server.add("/f.xml", BODY)
    url = f"http://localhost:{feed_server.port}/f.xml?a=1"
    result = fetch(FetchRequest(url, check_ssrf=True), **PINNED)
    assert isinstance(result, Fetched) and result.final_url == url
    [logged] = feed_server.requests
    assert logged.headers["Host"] == f"localhost:{feed_server.port}" and logged.path == "/f.xml?a=1"


def test_the_connection_goes_to_the_checked_address_not_to_a_second_lookup(
    feed_server: FeedServer,
) -> None:
    # feeds.invalid cannot resolve through DNS here: the fetch only works if it is pinned.
    feed_server.add("/f.xml", BODY)
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    async def run() -> FetchResult:
        limits = FetchLimits(allow_private=False, allowed_networks=("127.0.0.1/32",))
        async with Fetcher(limits, resolver=resolver) as fetcher:
            url = f"http://feeds.invalid:{feed_server.port}/f.xml"
            return await fetcher.fetch(FetchRequest(url, check_ssrf=True))

    assert isinstance(asyncio.run(run()), Fetched)
    assert lookups == ["feeds.invalid"]
    assert feed_server.requests[-1].headers["Host"] == f"feeds.invalid:{feed_server.port}"


def test_a_pinned_tls_connection_still_names_and_verifies_the_host(
    https_feed_server: FeedServer, tls_files: Any
) -> None:
    https_feed_server.add("/f.xml", BODY)
    url = f"https://localhost:{https_feed_server.port}/f.xml"
    result = fetch(FetchRequest(url, check_ssrf=True), ca_file=str(tls_files.cert), **PINNED)
    assert isinstance(result, Fetched) and result.body == BODY
    assert https_feed_server.server_names == ["localhost"]
    assert https_feed_server.requests[-1].headers["Host"] == f"localhost:{https_feed_server.port}"


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RETRY_AFTER = {
    "seconds": ("120", 120.0),
    "http date": ("Sun, 01 Mar 2026 12:05:00 GMT", 300.0),
    "date in the past": ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
    "absurd": ("99999999999", 30 * 24 * 3600.0),
    "garbage": ("soon", None),
    "missing": (None, None),
}


@pytest.mark.parametrize("value, seconds", RETRY_AFTER.values(), ids=RETRY_AFTER.keys())
def test_retry_after_is_read_as_seconds_or_a_date(value: str | None, seconds: float | None) -> None:
    assert _retry_after(value, NOW) == seconds


@pytest.fixture
def h2_feed_url(tls_files: Any) -> Iterator[str]:
    """A TLS server that offers only HTTP/2 (ALPN "h2") and answers every stream with BODY."""
    context = tls_files.server_context()
    context.set_alpn_protocols(["h2"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def answer(conn: ssl.SSLSocket) -> None:
        h2 = H2Connection(H2Configuration(client_side=False))
        h2.initiate_connection()
        conn.sendall(h2.data_to_send())
        while not stop.is_set() and (data := conn.recv(65536)):
            for event in h2.receive_data(data):
                if isinstance(event, RequestReceived):
                    headers = [(":status", "200"), ("content-length", str(len(BODY)))]
                    h2.send_headers(event.stream_id, headers)
                    h2.send_data(event.stream_id, BODY, end_stream=True)
            conn.sendall(h2.data_to_send())

    def serve() -> None:
        while not stop.is_set():  # bounded: the fixture's teardown sets stop
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(5)
            with context.wrap_socket(raw, server_side=True) as conn:
                answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://localhost:{listener.getsockname()[1]}/feed.xml"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_http2_is_used_where_a_tls_server_offers_it(h2_feed_url: str, tls_files: Any) -> None:
    async def run() -> list[FetchResult]:
        async with Fetcher(FetchLimits(ca_file=str(tls_files.cert))) as fetcher:
            return [await fetcher.fetch(FetchRequest(h2_feed_url)) for _ in range(2)]

    for result in asyncio.run(run()):
        assert isinstance(result, Fetched) and result.body == BODY
        assert result.http_version == "HTTP/2"


def test_an_idle_connection_reads_as_readable_once_the_server_closes_it() -> None:
    """The pool's "did the server hang up?" check, answered from the socket looked up once,
    agrees with httpcore's own answer before and after the server closes the connection."""
    import httpcore

    from pipeline.fetching import _KnownSocketBackend

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    async def run() -> list[tuple[bool, bool]]:
        backend = _KnownSocketBackend(httpcore.AnyIOBackend())
        port = listener.getsockname()[1]
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        served, _ = listener.accept()
        answers = [
            (stream.get_extra_info("is_readable"), stream._stream.get_extra_info("is_readable"))
        ]
        served.close()
        for _ in range(100):  # the FIN arrives within milliseconds on loopback
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        answers.append(
            (stream.get_extra_info("is_readable"), stream._stream.get_extra_info("is_readable"))
        )
        await stream.aclose()
        answers.append((stream.get_extra_info("is_readable"), True))  # closed here: not reusable
        return answers

    try:
        assert asyncio.run(run()) == [(False, False), (True, True), (True, True)]
    finally:
        listener.close()


def test_each_origins_pool_checks_idle_connections_through_the_known_socket(
    feed_server: FeedServer,
) -> None:
    from pipeline.fetching import _KnownSocketBackend

    url = feed_server.add("/f.xml", BODY)

    async def run() -> list[object]:
        async with Fetcher() as fetcher:
            await fetcher.fetch(FetchRequest(url))
            return [client.transport._pool._network_backend for client in fetcher._clients.values()]

    backends = asyncio.run(run())
    assert backends and all(isinstance(b, _KnownSocketBackend) for b in backends)
