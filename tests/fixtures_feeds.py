"""A real feed server on 127.0.0.1 for tests, and builders for feed bodies.

Fixtures (registered by ``tests/conftest.py`` through ``pytest_plugins``):

``feed_server``
    A :class:`FeedServer`: a ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on
    ``127.0.0.1:<free port>`` in a daemon thread. It stops by itself at teardown, and
    handlers that wait (``hang``, ``trickle``, ``delay``) are woken by the stop event, so
    teardown never blocks for long. Usage::

        feed_server.add("/a.xml", rss([{"title": "One", "guid": "1"}]), etag='"v1"')
        url = feed_server.url("/a.xml")
        ...  # fetch it
        assert feed_server.requests[-1].headers["If-None-Match"] == '"v1"'
        assert feed_server.count("/a.xml") == 2

    ``add(path, body=b"", *, content_type=..., etag=None, last_modified=None, status=200,
    headers=None, delay=0.0, handler=None)`` registers (or replaces) a route. A request
    whose ``If-None-Match`` equals ``etag``, or whose ``If-Modified-Since`` equals
    ``last_modified``, gets ``304 Not Modified``. ``headers`` is a mapping or a list of
    pairs (a list may repeat a name). ``delay`` waits before answering. ``handler`` takes
    over the whole response: it is called as ``handler(request_handler)`` with the
    ``BaseHTTPRequestHandler`` (``send_response``, ``send_header``, ``end_headers``,
    ``wfile``); ready-made ones are ``feed_server.hang()`` (accept, never answer),
    ``feed_server.trickle(chunk, interval)`` (send headers, then one chunk per interval
    until the client leaves) and ``redirect(location, status)``.
    Unknown paths get 404. ``requests`` logs every request as ``Logged(method, path,
    headers, client)`` in arrival order (``client`` tells connections apart); ``clear_log()``
    empties it.

``https_feed_server``
    The same over TLS with the self-signed ``tls_files`` certificate (127.0.0.1 and
    localhost); ``server_names`` lists the SNI name of each handshake.

``closed_port_url``
    ``http://127.0.0.1:<port>/feed.xml`` where nothing listens (connection refused).

Builders: ``rss(items, title=...)``, ``atom(items, title=...)``, ``json_feed(items,
title=...)`` take dicts with any of ``guid``/``id``, ``title``, ``link``/``url``,
``summary``, ``content``, ``published`` (a ``datetime`` or a ready string) and return
bytes (UTF-8).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import pytest

Handler = Callable[[BaseHTTPRequestHandler], None]
HeaderList = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    handler: Handler | None = None


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    headers: Message
    client: tuple[str, int] = ("", 0)  # the client's address: one port per TCP connection


@dataclass
class FeedServer:
    """Routes, a request log and the running server. See the module docstring."""

    host: str = "127.0.0.1"
    port: int = 0
    scheme: str = "http"
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Logged] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server_names: list[str | None] = field(default_factory=list)  # SNI seen (HTTPS only)

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: str | None = None,
        status: int = 200,
        headers: HeaderList | None = None,
        delay: float = 0.0,
        handler: Handler | None = None,
    ) -> str:
        """Register (or replace) ``path``; returns its full URL."""
        pairs = tuple(headers.items() if isinstance(headers, Mapping) else headers or ())
        data = body.encode() if isinstance(body, str) else body
        route = Route(data, content_type, etag, last_modified, status, pairs, delay, handler)
        with self.lock:
            self.routes[path] = route
        return self.url(path)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for logged in self.requests if logged.path == path)

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def hang(self) -> Handler:
        """Accept the request and never answer (until the server stops)."""

        def handler(_request: BaseHTTPRequestHandler) -> None:
            self._wait(60.0)  # bounded: the stop event ends it at teardown

        return handler

    def trickle(self, chunk: bytes = b"<", interval: float = 1.0) -> Handler:
        """Send 200 headers, then ``chunk`` every ``interval`` seconds, forever."""

        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Connection", "close")  # no length: the body never ends
            request.end_headers()
            while not self._wait(interval):  # bounded: the stop event ends it
                request.wfile.write(chunk)
                request.wfile.flush()

        return handler

    def _wait(self, seconds: float) -> bool:
        return self.stopping.wait(seconds)

    def _log(self, request: BaseHTTPRequestHandler) -> Route | None:
        path = request.path.split("?", 1)[0]
        with self.lock:
            logged = Logged(request.command, request.path, request.headers, request.client_address)
            self.requests.append(logged)
            return self.routes.get(path) or self.routes.get(request.path)


def redirect(location: str, status: int = 302) -> Handler:
    """A handler answering ``status`` with ``Location: location``."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handler


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class FeedHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        timeout = 10  # idle keep-alive connections end by themselves

        def do_GET(self) -> None:
            route = server._log(self)
            if route is None:
                self._send(404, b"not found", "text/plain", ())
                return
            if route.delay and server._wait(route.delay):
                return
            if route.handler is not None:
                route.handler(self)
            elif self._not_modified(route):
                self._send(304, b"", None, self._validators(route))
            else:
                extra = self._validators(route) + route.headers
                self._send(route.status, route.body, route.content_type, extra)

        def do_HEAD(self) -> None:
            self.do_GET()

        def _not_modified(self, route: Route) -> bool:
            etag, since = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            if route.etag and etag:
                return route.etag in (tag.strip() for tag in etag.split(","))
            return bool(route.last_modified and since == route.last_modified)

        @staticmethod
        def _validators(route: Route) -> tuple[tuple[str, str], ...]:
            pairs = [("ETag", route.etag), ("Last-Modified", route.last_modified)]
            return tuple((name, value) for name, value in pairs if value)

        def _send(
            self, status: int, body: bytes, ctype: str | None, extra: Sequence[tuple[str, str]]
        ) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            names = {name.lower() for name, _ in extra}
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(body)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD" and status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

    return FeedHandler


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # hung handlers never block teardown
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-trickle are expected


@contextmanager
def serve_feeds(context: ssl.SSLContext | None = None) -> Iterator[FeedServer]:
    """Run a ``FeedServer`` until the block ends (HTTPS when given a server SSL context)."""
    state = FeedServer(scheme="https" if context else "http")
    with _Server(("127.0.0.1", 0), _make_handler(state)) as httpd:
        if context is not None:
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        state.port = httpd.server_address[1]
        thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        try:
            yield state
        finally:
            state.stopping.set()
            httpd.shutdown()
            thread.join(timeout=5)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A loopback feed server; see the module docstring for its API."""
    with serve_feeds() as state:
        yield state


@pytest.fixture
def https_feed_server(tls_files: Any) -> Iterator[FeedServer]:
    """The same server over TLS, with ``tls_files`` (tests/fixtures_delivery.py) as its
    certificate: pass ``ca_file=str(tls_files.cert)`` to trust it. ``server_names`` records
    the SNI name of each handshake."""
    context = tls_files.server_context()
    with serve_feeds(context) as state:
        context.sni_callback = lambda _sock, name, _ctx: state.server_names.append(name)
        yield state


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"


# -- feed body builders -------------------------------------------------------------------


def _date(value: Any, rfc822: bool) -> str:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return format_datetime(value, usegmt=True) if rfc822 else value.isoformat()
    return str(value)


def _tag(name: str, value: Any, **attrs: str) -> str:
    extra = "".join(f' {key}="{escape(val)}"' for key, val in attrs.items())
    return f"<{name}{extra}>{escape(str(value))}</{name}>"


def rss(items: Sequence[Mapping[str, Any]], title: str = "Test feed", **channel: str) -> bytes:
    """An RSS 2.0 document; ``channel`` adds elements such as ``language="en"``."""
    parts = [_tag("title", title), _tag("link", "http://example.org/")]
    parts += [_tag(key, value) for key, value in channel.items()]
    for item in items:
        fields = []
        if "guid" in item or "id" in item:
            fields.append(_tag("guid", item.get("guid", item.get("id")), isPermaLink="false"))
        for key in ("title", "link", "description"):
            if key in item:
                fields.append(_tag(key, item[key]))
        if "summary" in item:
            fields.append(_tag("description", item["summary"]))
        if "published" in item:
            fields.append(_tag("pubDate", _date(item["published"], rfc822=True)))
        parts.append("<item>" + "".join(fields) + "</item>")
    body = "".join(parts)
    return f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>{body}</channel></rss>\n'.encode()


def atom(items: Sequence[Mapping[str, Any]], title: str = "Test feed") -> bytes:
    """An Atom 1.0 document."""
    parts = [
        _tag("title", title),
        _tag("id", "urn:test:feed"),
        _tag("updated", "2026-01-01T00:00:00Z"),
    ]
    for item in items:
        fields = [_tag("id", item.get("id", item.get("guid", f"urn:item:{item.get('title')}")))]
        fields.append(_tag("title", item.get("title", "")))
        if "link" in item or "url" in item:
            fields.append(f'<link href="{escape(item.get("link", item.get("url", "")))}"/>')
        if "summary" in item:
            fields.append(_tag("summary", item["summary"], type="html"))
        if "content" in item:
            fields.append(_tag("content", item["content"], type="html"))
        if "published" in item:
            fields.append(_tag("published", _date(item["published"], rfc822=False)))
        parts.append("<entry>" + "".join(fields) + "</entry>")
    body = "".join(parts)
    return f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">{body}</feed>\n'.encode()


def json_feed(items: Sequence[Mapping[str, Any]], title: str = "Test feed") -> bytes:
    """A JSON Feed 1.1 document."""
    out = []
    for item in items:
        entry: dict[str, Any] = {"id": str(item.get("id", item.get("guid", item.get("title"))))}
        for key, target in (
            ("title", "title"),
            ("summary", "summary"),
            ("content", "content_html"),
        ):
            if key in item:
                entry[target] = item[key]
        if "link" in item or "url" in item:
            entry["url"] = item.get("url", item.get("link"))
        if "published" in item:
            entry["date_published"] = _date(item["published"], rfc822=False)
        out.append(entry)
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": out}
    return json.dumps(doc).encode()
