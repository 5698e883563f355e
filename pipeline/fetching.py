"""The HTTP adapter: feeds are fetched politely, within hard limits, and errors come back as values.

    Fetcher.fetch(FetchRequest) -> Fetched | NotModified | FetchError
    Fetcher.fetch_many(requests) -> async iterator of (request, result), as they complete

Clients are reused across requests (connection pooling, HTTP/2 where a TLS server offers
it): one httpx transport per origin, sharing one SSL context (see ``Fetcher._client``).
What httpx does not do for us, we do here:

- a whole-request deadline (``asyncio.timeout``): httpx's read timeout is per chunk, so a
  body trickled one byte at a time would never trip it;
- ``Content-Encoding`` decoded from ``aiter_raw()`` with ``max_length`` bounds per layer
  (httpx decodes stacked encodings without any bound: a 3 KB ``gzip, gzip`` body can
  become 1 GiB in one chunk), and a body size limit enforced while streaming;
- redirects followed by hand: bounded, http(s) only, loops detected, and, for feeds a user
  added (``check_ssrf``), every hop's host resolved and refused when it is loopback,
  private or link-local, and the connection made to the address that was checked (no
  second DNS answer, so no DNS rebinding);
- a global concurrency limit plus a per-origin one (scheme, host, port).

Imports only ``pipeline.types``/``pipeline.errors`` (layer 2: adapters never import the core).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import select
import socket
import ssl
import urllib.request
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx

from pipeline.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
MiB = 1024 * 1024
MAX_RETRY_AFTER = 30 * 24 * 3600.0  # a server asking for more than a month is not serious
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
_PLAIN_HTTP_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA: trusts nothing
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True)
class FetchLimits:
    max_concurrency: int = 32
    per_origin: int = 6  # as browsers open to one host over HTTP/1.1
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 15.0  # whole request, redirects and body included
    max_bytes: int = 10 * MiB  # on the wire and after decompression
    max_redirects: int = 5
    user_agent: str = "followup/0.1 (+https://github.com/followup)"
    allow_private: bool = True  # False: check_ssrf requests may not reach non-public addresses
    allowed_networks: tuple[str, ...] = ()  # exceptions to that rule, e.g. ("10.1.2.0/24",)
    http2: bool = True
    trust_env: bool = False  # proxies from the environment would bypass the SSRF check
    ca_file: str | None = None  # extra trusted CA certificates (PEM), e.g. a private CA


@dataclass(frozen=True)
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None  # of the last body parsed: equal means unchanged
    check_ssrf: bool = False  # True for feeds added by users rather than the operator


@dataclass(frozen=True)
class Fetched:
    url: str  # as requested
    final_url: str
    permanent_redirect: str | None  # where a chain of 301/308 led: the feed's new URL
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    content_hash: str  # sha256 hex of the decoded body
    unchanged: bool  # content_hash == request.content_hash: nothing to parse
    http_version: str = "HTTP/1.1"  # "HTTP/2" where a TLS server offered it


@dataclass(frozen=True)
class NotModified:
    url: str
    etag: str | None
    last_modified: str | None
    permanent_redirect: str | None


FetchResult = Fetched | NotModified | FetchError


class Fetcher:
    """Owns the HTTP clients; use as ``async with Fetcher(limits) as fetcher`` in one event loop."""

    def __init__(
        self, limits: FetchLimits | None = None, *, resolver: Resolver | None = None
    ) -> None:
        """``resolver(host, port)`` gives the addresses the SSRF check sees and pins (default: DNS)."""
        self.limits = limits or FetchLimits()
        self._resolver = resolver or _dns
        self._clients: dict[tuple[str, str, int], _Client] = {}
        self._ssl: ssl.SSLContext | None = None
        self._global = asyncio.Semaphore(self.limits.max_concurrency)
        self._origins: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._allowed = tuple(ipaddress.ip_network(net) for net in self.limits.allowed_networks)

    async def __aenter__(self) -> Fetcher:
        return self

    def _tls_context(self, scheme: str) -> ssl.SSLContext:
        """The verifying context, built at the first https origin (loading the CA certificates
        costs ~40 ms); plain-http origins get one that holds no CA and never does TLS itself
        (through a TLS proxy it fails closed: it trusts nothing)."""
        if scheme != "https":
            return _PLAIN_HTTP_CONTEXT
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
            if self.limits.ca_file:
                self._ssl.load_verify_locations(self.limits.ca_file)
        return self._ssl

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        clients, self._clients, self._ssl = list(self._clients.values()), {}, None
        await asyncio.gather(*(client.aclose() for client in clients))

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """Fetch one feed. Never raises for the feed's faults: they come back as ``FetchError``."""
        try:
            return await self._follow(request)
        except FetchError as error:
            return error

    async def fetch_many(
        self, requests: Iterable[FetchRequest]
    ) -> AsyncIterator[tuple[FetchRequest, FetchResult]]:
        """Fetch all ``requests`` within the limits; yield each result as soon as it is ready."""

        async def one(request: FetchRequest) -> tuple[FetchRequest, FetchResult]:
            return request, await self.fetch(request)

        tasks = [asyncio.create_task(one(request)) for request in requests]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:  # the consumer stopped early: leave nothing running
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def discover(
        self,
        url: str,
        find: Callable[[bytes, str, str | None], list[str]],
        *,
        check_ssrf: bool = True,
    ) -> list[str]:
        """Feed URLs for ``url`` (``feeds add``): ``find`` is ``parsing.discover_feeds``.

        The pure half is passed in because adapters may not import the core. Raises ``FetchError``.
        """
        result = await self.fetch(FetchRequest(url, check_ssrf=check_ssrf))
        if isinstance(result, FetchError):
            raise result
        if isinstance(result, NotModified):
            return [url]
        return find(result.body, result.final_url, result.content_type)

    # -- one request, hop by hop ----------------------------------------------------------

    async def _follow(self, request: FetchRequest) -> Fetched | NotModified:
        url, seen, permanent, still_permanent = request.url, {request.url}, None, True
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        for _hop in range(self.limits.max_redirects + 1):
            origin = _origin(request, url)
            async with self._origin_slot(origin), self._global:
                deadline = deadline or loop.time() + self.limits.total_timeout
                outcome = await self._hop(request, url, origin, deadline)
            if not isinstance(outcome, _Redirect):
                return _finish(outcome, request, url, permanent)
            target = _redirect_target(request, url, outcome.location)
            if target in seen:
                raise FetchError(request.url, f"redirect loop at {target}")
            still_permanent = still_permanent and outcome.status in PERMANENT
            permanent = target if still_permanent else permanent
            seen.add(target)
            url = target
        raise FetchError(request.url, f"more than {self.limits.max_redirects} redirects")

    async def _hop(
        self, request: FetchRequest, url: str, origin: tuple[str, str, int], deadline: float
    ) -> _Response | _Redirect:
        try:
            async with asyncio.timeout_at(deadline):
                target = _Target(url)
                if request.check_ssrf and not self.limits.allow_private:
                    address = await self._check_public(request, origin[1], origin[2])
                    target = _pinned(url, origin, address)
                return await self._exchange(request, target, self._client(origin))
        except TimeoutError:
            raise FetchError(
                request.url, f"timed out after {self.limits.total_timeout:g}s (whole request)"
            ) from None
        except httpx.HTTPError as exc:
            raise FetchError(request.url, _describe(exc, self.limits)) from None
        except (httpx.InvalidURL, OSError, ValueError) as exc:  # ValueError: IDNA, URL parts
            raise FetchError(request.url, f"{type(exc).__name__}: {_first_line(exc)}") from None

    async def _exchange(
        self, request: FetchRequest, target: _Target, client: _Client
    ) -> _Response | _Redirect:
        headers = _conditional(request) | target.headers
        response = await client.send(target.url, headers, target.extensions)
        try:
            status = response.status_code
            if status in REDIRECTS or status == 304 or status >= 400:
                await _drain(response)
            if status in REDIRECTS:
                return _Redirect(status, response.headers.get("location"))
            if status == 304:
                return _Response(304, b"", response.headers)
            if status >= 400:
                raise _status_error(request.url, status, response.headers)
            body = await _read_body(request.url, response, self.limits.max_bytes)
            return _Response(status, body, response.headers, response.http_version)
        finally:
            await response.aclose()

    def _client(self, origin: tuple[str, str, int]) -> _Client:
        """One small connection pool per origin.

        httpcore's pool does work quadratic in its own size on every request; one pool of at
        most ``per_origin`` connections per origin keeps the cost per request flat.
        """
        client = self._clients.get(origin)
        if client is None:
            context = self._tls_context(origin[0])
            client = self._clients[origin] = _Client(self.limits, context, origin)
        return client

    async def _resolve(self, url: str, host: str, port: int) -> list[IPAddress]:
        try:
            found = [ipaddress.ip_address(address) for address in await self._resolver(host, port)]
        except (OSError, ValueError) as exc:
            raise FetchError(url, f"cannot resolve {host}: {_first_line(exc)}") from None
        if not found:
            raise FetchError(url, f"cannot resolve {host}: no address")
        return found

    def _origin_slot(self, origin: tuple[str, str, int]) -> asyncio.Semaphore:
        slot = self._origins.get(origin)
        if slot is None:
            slot = self._origins[origin] = asyncio.Semaphore(self.limits.per_origin)
        return slot

    async def _check_public(self, request: FetchRequest, host: str, port: int) -> IPAddress | None:
        """Refuse a host that is, or resolves to, a loopback/private/link-local address.

        Returns the checked address to connect to, or None when the host is an address already.
        """
        try:
            addresses, literal = [ipaddress.ip_address(host.strip("[]"))], True
        except ValueError:
            addresses, literal = await self._resolve(request.url, host, port), False
        addresses.sort(key=lambda address: address.version)  # IPv4 first: v6 is often unrouted
        for address in addresses:
            if not _is_public(address) and not any(address in net for net in self._allowed):
                raise FetchError(
                    request.url, f"refused: {host} is a non-public address ({address})"
                )
        return None if literal else addresses[0]


@dataclass(frozen=True)
class _Target:
    """Where a hop really goes: the URL, plus what pins it to a checked address."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def _pinned(url: str, origin: tuple[str, str, int], address: IPAddress | None) -> _Target:
    """Connect to the address that passed the SSRF check, not to a second DNS answer.

    The URL names the address; ``Host`` and, for TLS, ``sni_hostname`` (SNI and certificate
    check) keep the real host name, so a DNS-rebinding server cannot swap the address.
    """
    if address is None:
        return _Target(url)
    parts = urlsplit(url)
    scheme, host, port = origin
    literal = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
    return _Target(pinned, headers, {"sni_hostname": host} if scheme == "https" else {})


@dataclass(frozen=True)
class _Redirect:
    status: int
    location: str | None


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    headers: httpx.Headers
    http_version: str = "HTTP/1.1"


class _Client:
    """One origin's connection pool: httpx's transport, without ``httpx.AsyncClient`` around it.

    The client adds nothing we use (redirects are followed by hand, cookies are refused, there
    is no auth) but costs CPU on every request (merging defaults, a cookie jar consulted both
    ways, a wrapped stream), in the process that also runs the event loop.
    """

    def __init__(
        self, limits: FetchLimits, context: ssl.SSLContext, origin: tuple[str, str, int]
    ) -> None:
        # The semaphores bound concurrency; the pool only keeps this origin's connections alive.
        pool = httpx.Limits(max_connections=None, max_keepalive_connections=limits.per_origin)
        self.transport = httpx.AsyncHTTPTransport(
            verify=context,
            http2=limits.http2,
            limits=pool,
            proxy=_environment_proxy(origin) if limits.trust_env else None,
        )
        _answer_readable_cheaply(self.transport)
        self.timeout = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            pool=limits.total_timeout,
        ).as_dict()
        self.headers = {
            "User-Agent": limits.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate",  # what _Decoder can bound
        }

    async def send(
        self, url: str, headers: dict[str, str], extensions: dict[str, str]
    ) -> httpx.Response:
        """GET ``url``; the body is left to stream (``aiter_raw``, then ``aclose``)."""
        request = httpx.Request(
            "GET",
            url,
            headers=self.headers | headers,
            extensions={"timeout": self.timeout, **extensions},
        )
        response = await self.transport.handle_async_request(request)
        response.request = request
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()


def _answer_readable_cheaply(transport: httpx.AsyncHTTPTransport) -> None:
    """Before each request httpcore asks every idle connection of the pool whether its socket
    is readable (a server that closed it). Through anyio that question rebuilds the socket's
    attribute table, a getpeername() call included: ~10 us each, asked ~10 times a request
    (~0.1 s of an unchanged poll of 1,000 feeds). Here the socket is looked up once per
    connection. httpx offers no way to pass a network backend, so the pool's is wrapped; a
    pool without one (another httpx) keeps its own."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.AsyncNetworkBackend):
        pool._network_backend = _KnownSocketBackend(backend)  # type: ignore[union-attr]


class _KnownSocketBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _KnownSocketStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _KnownSocketStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _KnownSocketStream(httpcore.AsyncNetworkStream):
    """A stream that answers "is_readable" from its socket, looked up once."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _KnownSocketStream(stream)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _readable(self._socket)
        return self._stream.get_extra_info(info)


def _readable(sock: socket.socket) -> bool:
    """Data or end-of-stream waiting, or a closed socket: what httpcore's own check says."""
    if sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _environment_proxy(origin: tuple[str, str, int]) -> str | None:
    """The proxy the environment names for this origin (``trust_env``), as httpx would use."""
    scheme, host, _port = origin
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


def _origin(request: FetchRequest, url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(request.url, f"invalid URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(request.url, f"refused: {scheme or 'no'} scheme in {url!r} (http(s) only)")
    if not parts.hostname:
        raise FetchError(request.url, f"invalid URL {url!r}: no host")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def _redirect_target(request: FetchRequest, url: str, location: str | None) -> str:
    if not location:
        raise FetchError(request.url, "redirect without a Location header")
    target = urljoin(url, location.strip())
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(request.url, f"refused: redirect to {scheme}: URL {target[:200]!r}")
    return target


def _conditional(request: FetchRequest) -> dict[str, str]:
    headers = {}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    return headers


def _finish(
    outcome: _Response, request: FetchRequest, final_url: str, permanent: str | None
) -> Fetched | NotModified:
    etag = outcome.headers.get("etag") or request.etag
    modified = outcome.headers.get("last-modified") or request.last_modified
    if outcome.status == 304:
        return NotModified(request.url, etag, modified, permanent)
    digest = hashlib.sha256(outcome.body).hexdigest()
    return Fetched(
        url=request.url,
        final_url=final_url,
        permanent_redirect=permanent,
        status=outcome.status,
        body=outcome.body,
        content_type=outcome.headers.get("content-type"),
        etag=outcome.headers.get("etag"),
        last_modified=outcome.headers.get("last-modified"),
        content_hash=digest,
        unchanged=digest == request.content_hash,
        http_version=outcome.http_version,
    )


def _status_error(url: str, status: int, headers: httpx.Headers) -> FetchError:
    retry = _retry_after(headers.get("retry-after")) if status in (429, 503) else None
    phrase = {410: "Gone", 404: "Not Found", 429: "Too Many Requests"}.get(status, "")
    wait = f", retry after {retry:g}s" if retry is not None else ""
    return FetchError(
        url, f"HTTP {status} {phrase}".rstrip() + wait, status=status, retry_after=retry
    )


def _retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP-date; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# -- the body: streamed, bounded, decoded by hand ----------------------------------------


async def _read_body(url: str, response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(url, f"body too large: Content-Length {declared} > {max_bytes} bytes")
    decoder = _Decoder(
        url, response.headers.get_list("content-encoding", split_commas=True), max_bytes
    )
    chunks, received = [], 0
    async for raw in response.aiter_raw():
        received += len(raw)
        if received > max_bytes:
            raise FetchError(url, f"body too large: more than {max_bytes} bytes")
        chunks.append(decoder.feed(raw))
    chunks.append(decoder.finish())
    return b"".join(chunks)


async def _drain(response: httpx.Response, limit: int = 65_536) -> None:
    """Read a small unwanted body, so the connection goes back to the pool instead of closing."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= limit:
        async for _chunk in response.aiter_raw():
            pass


class _Decoder:
    """Undo up to two ``Content-Encoding`` layers (gzip, deflate), each bounded by ``max_bytes``."""

    def __init__(self, url: str, encodings: list[str], max_bytes: int) -> None:
        names = [
            name.strip().lower()
            for name in encodings
            if name.strip().lower() not in ("", "identity")
        ]
        if len(names) > 2:
            raise FetchError(url, f"refused: {len(names)} stacked Content-Encodings")
        unknown = [name for name in names if name not in ("gzip", "x-gzip", "deflate")]
        if unknown:
            raise FetchError(url, f"unsupported Content-Encoding {unknown[0]!r}")
        self.url, self.max_bytes = url, max_bytes
        self.layers = [_Layer(name, max_bytes) for name in reversed(names)]  # last applied first

    def feed(self, data: bytes) -> bytes:
        try:
            for layer in self.layers:
                data = layer.feed(data)
        except _TooLarge:
            raise FetchError(
                self.url, f"body too large: more than {self.max_bytes} bytes decompressed"
            ) from None
        except zlib.error as exc:
            raise FetchError(self.url, f"corrupt compressed body: {exc}") from None
        return data

    def finish(self) -> bytes:
        data = self.feed(b"") if self.layers else b""
        if any(not layer.done for layer in self.layers):
            raise FetchError(self.url, "truncated body: the compressed stream ends early")
        return data


class _TooLarge(Exception):
    pass


class _Layer:
    def __init__(self, name: str, max_bytes: int) -> None:
        self.gzip = name != "deflate"
        self.max_bytes, self.produced, self.started = max_bytes, 0, False
        self.inflater = zlib.decompressobj(31 if self.gzip else 15)

    @property
    def done(self) -> bool:
        return self.inflater.eof

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            try:
                chunk = self.inflater.decompress(data, self.max_bytes - self.produced + 1)
            except zlib.error:
                if self.gzip or self.started:
                    raise
                self.inflater = zlib.decompressobj(-15)  # raw deflate, as some servers send
                self.started = True
                continue
            self.started = True
            self.produced += len(chunk)
            if self.produced > self.max_bytes:
                raise _TooLarge
            out.append(chunk)
            data = self._rest()
        return b"".join(out)

    def _rest(self) -> bytes:
        if not self.inflater.eof:
            return self.inflater.unconsumed_tail
        rest = self.inflater.unused_data
        if self.gzip and rest[:2] == b"\x1f\x8b":  # another gzip member follows
            self.inflater = zlib.decompressobj(31)
            return rest
        return b""  # trailing garbage after the stream is ignored, as browsers do


# -- errors and addresses ----------------------------------------------------------------


def _describe(exc: httpx.HTTPError, limits: FetchLimits) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timed out after {limits.connect_timeout:g}s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timed out after {limits.read_timeout:g}s"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_first_line(exc)}"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or repr(exc)
    return text.splitlines()[0][:300]


async def _dns(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast
