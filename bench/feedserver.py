"""A loopback feed server for the poll benchmark. Run as a subprocess; it stops by itself.

    python bench/feedserver.py --feeds 1000 --origins 10 --latency 0.05

It binds 127.0.0.1 only, on ``--origins`` free ports (each port is one origin: scheme, host
and port), and serves ``/f/{n}.xml`` for n in ``range(--feeds)``; feed n lives on port
``n % origins``. Each feed is RSS 2.0 with 20–50 items. Every response (200, 304, 404)
waits ``--latency`` seconds. ETag and Last-Modified come with every 200; a request that
repeats either gets 304. gzip when the client accepts it, compressed once per version.

Once bound it prints one JSON line on stdout: ``{"ports": [...]}``. The driver then uses
these control paths (on any port):

    /_bench/reset                    every feed back to version 0, counters cleared
    /_bench/advance?fraction=F&seed=S
                                     a fraction F of the feeds (chosen by S) gets one new
                                     item (the oldest one drops out); answers the count
    /_bench/stats                    {"200": n, "304": n, "404": n, "connections": n}
                                     since the last reset

It exits on stdin EOF (its parent is gone), on SIGTERM, or after ``--max-seconds``.

A small hand-written HTTP/1.1 server on asyncio keeps the server's own CPU use low: it
shares two cores with the clients it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import signal
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

WORDS = (
    "government market minister energy report budget council trade court election talks "
    "investment export growth policy industry bank rates province city police river "
    "harvest weather school hospital railway port airline festival university startup"
).split()
# A few items mention the seed story, so matching and match storage do real work too.
ON_TOPIC = (
    "Alibaba Cloud opens a data centre in Pakistan",
    "Pakistan and Alibaba sign a digital economy partnership",
    "Daraz expands e-commerce payments across Pakistan",
    "Pakistan's ministry of IT meets Alibaba Group on cloud services",
)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Body:
    raw: bytes
    gzipped: bytes
    etag: str
    last_modified: str


@dataclass
class Feeds:
    count: int
    versions: list[int] = field(default_factory=list)
    cache: dict[tuple[int, int], Body] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        """Every feed at version 0. Bodies are rendered here, not while a client polls."""
        self.versions = [0] * self.count
        self.cache = {key: body for key, body in self.cache.items() if key[1] == 0}
        for n in range(self.count):
            self.body(n)
        self.stats = {"200": 0, "304": 0, "404": 0, "connections": 0}

    def advance(self, fraction: float, seed: int) -> int:
        chosen = random.Random(seed).sample(range(self.count), round(self.count * fraction))
        for n in chosen:
            self.versions[n] += 1
            self.body(n)
        return len(chosen)

    def body(self, n: int) -> Body:
        version = self.versions[n]
        found = self.cache.get((n, version))
        if found is None:
            if version > 1:
                self.cache.pop((n, version - 1), None)
            found = self.cache[(n, version)] = render(n, version)
        return found


def item_count(n: int) -> int:
    return 20 + (n * 7) % 31  # 20..50, spread evenly


def render(n: int, version: int) -> Body:
    """Feed ``n`` at ``version``: items ``version .. version + count - 1``, newest first."""
    count = item_count(n)
    items = [render_item(n, serial) for serial in range(version + count - 1, version - 1, -1)]
    modified = format_datetime(EPOCH + timedelta(hours=version, minutes=n % 60), usegmt=True)
    raw = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Bench feed {n}</title><link>http://example.org/{n}/</link>"
        f"<description>Synthetic feed {n}</description><lastBuildDate>{modified}</lastBuildDate>"
        + "".join(items)
        + "</channel></rss>\n"
    ).encode()
    return Body(raw, gzip.compress(raw, 6), f'"f{n}-v{version}"', modified)


def render_item(n: int, serial: int) -> str:
    rng = random.Random(n * 1_000_003 + serial)
    if rng.random() < 0.03:
        title = rng.choice(ON_TOPIC)
    else:
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 11))).capitalize()
    sentences = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
        for _ in range(rng.randint(2, 4))
    ]
    published = format_datetime(EPOCH + timedelta(hours=serial, minutes=n % 60), usegmt=True)
    link = f"http://example.org/{n}/story-{serial}"
    return (
        f"<item><title>{escape(title)}</title><link>{link}</link>"
        f'<guid isPermaLink="false">bench-{n}-{serial}</guid><pubDate>{published}</pubDate>'
        f"<description>{escape('<p>' + ' '.join(sentences) + '</p>')}</description></item>"
    )


class Connection(asyncio.Protocol):
    """One keep-alive connection: requests are answered in order, each after the latency."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.feeds.stats["connections"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > 65_536:  # no client of ours sends that much: drop it
            self._close()
        self._next()

    def _next(self) -> None:
        if self.busy or b"\r\n\r\n" not in self.buffer:
            return
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.busy = True
        target = parts[1] if len(parts) > 1 else "/"
        asyncio.get_running_loop().call_later(
            self.server.latency, self._respond, parts[0], target, headers
        )

    def _respond(self, method: str, target: str, headers: dict[str, str]) -> None:
        if self.transport is None:
            return
        status, extra, body = self.server.answer(target, headers)
        close = headers.get("connection", "").lower() == "close"
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in extra]
        if close:
            head.append("Connection: close")
        payload = body if method != "HEAD" else b""
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
        self.busy = False
        if close:
            self._close()
        else:
            self._next()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class Server:
    def __init__(self, feeds: Feeds, origins: int, latency: float) -> None:
        self.feeds, self.origins, self.latency = feeds, origins, latency
        self.stopped = asyncio.Event()

    def answer(
        self, target: str, headers: dict[str, str]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        url = urlsplit(target)
        if url.path.startswith("/_bench/"):
            return self._control(url.path, parse_qs(url.query))
        n = _feed_number(url.path, self.feeds.count)
        if n is None:
            self.feeds.stats["404"] += 1
            return "404 Not Found", [], b"not found\n"
        body = self.feeds.body(n)
        validators = [("ETag", body.etag), ("Last-Modified", body.last_modified)]
        if (
            headers.get("if-none-match") == body.etag
            or headers.get("if-modified-since") == body.last_modified
        ):
            self.feeds.stats["304"] += 1
            return "304 Not Modified", validators, b""
        self.feeds.stats["200"] += 1
        extra = [("Content-Type", "application/rss+xml; charset=utf-8"), *validators]
        if "gzip" in headers.get("accept-encoding", ""):
            return "200 OK", [*extra, ("Content-Encoding", "gzip")], body.gzipped
        return "200 OK", extra, body.raw

    def _control(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        result: object
        if path == "/_bench/reset":
            self.feeds.reset()
            result = {"feeds": self.feeds.count}
        elif path == "/_bench/advance":
            fraction = float(query.get("fraction", ["0.05"])[0])
            seed = int(query.get("seed", ["0"])[0])
            result = {"changed": self.feeds.advance(fraction, seed)}
        elif path == "/_bench/stats":
            result = dict(self.feeds.stats)
        else:
            return "404 Not Found", [], b"unknown control path\n"
        return "200 OK", [("Content-Type", "application/json")], json.dumps(result).encode()


def _feed_number(path: str, count: int) -> int | None:
    if not (path.startswith("/f/") and path.endswith(".xml")):
        return None
    digits = path[3:-4]
    if not digits.isdigit() or int(digits) >= count:
        return None
    return int(digits)


async def serve(feeds: int, origins: int, latency: float, max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    data = Feeds(feeds)
    data.reset()
    server = Server(data, origins, latency)
    listeners = [
        await loop.create_server(lambda: Connection(server), "127.0.0.1", 0, backlog=1024)
        for _ in range(origins)
    ]
    ports = [s.sockets[0].getsockname()[1] for s in listeners]
    print(json.dumps({"ports": ports}), flush=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stopped.set)
    _stop_on_eof(loop, server.stopped)
    try:
        await asyncio.wait_for(server.stopped.wait(), timeout=max_seconds)
    except TimeoutError:
        print("feedserver: --max-seconds reached, stopping", file=sys.stderr)
    for listener in listeners:
        listener.close()


def _stop_on_eof(loop: asyncio.AbstractEventLoop, stopped: asyncio.Event) -> None:
    """The parent holds our stdin: when it goes away, so do we."""

    def wait() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stopped.set)

    threading.Thread(target=wait, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--origins", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    args = parser.parse_args()
    asyncio.run(serve(args.feeds, args.origins, args.latency, args.max_seconds))


if __name__ == "__main__":
    main()
