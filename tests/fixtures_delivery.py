"""Delivery fixtures: a real SMTP server, a real webhook receiver, a sample digest.

Registered by ``tests/conftest.py`` (``pytest_plugins``). Both servers bind 127.0.0.1, run
in a thread, and stop when the test ends.

    def test_x(smtp_server, webhook_receiver):
        target = smtp_server.target()              # EmailTarget for this server
        ...; [message] = smtp_server.messages      # email.message.EmailMessage, parsed
        webhook_receiver.respond_with(503, 503, 200)
        ...; [(headers, body), ...] = webhook_receiver.posts

    def test_y(make_smtp_server):                  # STARTTLS or implicit TLS, with a login
        server = make_smtp_server("starttls", login=("user", "pw"))
        target = server.target(username="user", password="pw")  # trusts the test CA
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipeline.digest import DigestContext
from pipeline.notify.email import EmailTarget
from pipeline.types import FeedHealth, Match, Reason

# ---------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost; ``cert`` is also the CA."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@dataclass
class SmtpServer:
    """aiosmtpd on 127.0.0.1:``port``. ``messages`` are the received emails, parsed with
    ``email.policy.default``; ``envelopes`` are (mail_from, rcpt_tos) per message and
    ``secure`` says whether each came over TLS.

    ``security`` is "none", "starttls" (offered and required) or "tls" (implicit);
    ``login`` = (user, password) enables AUTH (required, except with implicit TLS) and
    ``logins`` records each successful one. ``stop()`` closes the port (a client
    then gets "connection refused") and ``start()`` opens it again on the same port, to
    simulate an SMTP server that is down, then up.
    """

    port: int
    host: str = "127.0.0.1"
    security: Literal["none", "starttls", "tls"] = "none"
    tls: TlsFiles | None = None
    login: tuple[str, str] | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    secure: list[bool] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    _controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        # session.ssl is set by STARTTLS only; implicit TLS shows on the transport.
        implicit = server.transport.get_extra_info("ssl_object") is not None
        self.secure.append(session.ssl is not None or implicit)
        return "250 Message accepted for delivery"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        expected = LoginPassword(*(part.encode() for part in self.login or ("", "")))
        if success := self.login is not None and data == expected:
            self.logins.append(self.login[0])
        # handled=False: aiosmtpd answers 235/535 itself.
        return AuthResult(success=success, handled=False)

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.security != "none":
            assert self.tls is not None, "a TLS server needs TlsFiles"
            context = self.tls.server_context()
            if self.security == "tls":
                # aiosmtpd only counts STARTTLS as TLS for AUTH (and warns when AUTH is
                # required without it), so here AUTH is offered, not required; ``logins``
                # shows whether the client logged in.
                options.update(ssl_context=context, auth_require_tls=False)
            else:
                options.update(tls_context=context, require_starttls=True)
        if self.login:
            options.update(authenticator=self._authenticate)
            options["auth_required"] = self.security != "tls"
        return options

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(
                self, hostname=self.host, port=self.port, **self._options()
            )
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def target(self, **changes: Any) -> EmailTarget:
        """An ``EmailTarget`` for this server (its security, no login), with ``changes``."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "sender": "followup@example.org",
            "to": ("analyst@example.org",),
            "security": self.security,
            "username": None,
            "password": None,
            "timeout": 5.0,
            "ca_file": str(self.tls.cert) if self.tls else None,
        }
        return EmailTarget(**{**values, **changes})


def free_port() -> int:
    """A port free right now on 127.0.0.1. aiosmtpd's Controller refuses port 0
    (aio-libs/aiosmtpd#388), so we bind one, read it and let it go."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running aiosmtpd server that records what it receives; stopped at teardown."""
    server = SmtpServer(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway self-signed certificate (openssl CLI), valid for 127.0.0.1 and localhost."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    files = TlsFiles(cert=folder / "cert.pem", key=folder / "key.pem")
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    command += ["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    command += ["-keyout", str(files.key), "-out", str(files.cert)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return files


@pytest.fixture
def make_smtp_server(tls_files: TlsFiles) -> Iterator[Callable[..., SmtpServer]]:
    """Start an ``SmtpServer(security=..., login=...)`` with the test certificate; every
    server started is stopped at teardown."""
    started: list[SmtpServer] = []

    def make(
        security: Literal["none", "starttls", "tls"] = "none", login: tuple[str, str] | None = None
    ) -> SmtpServer:
        server = SmtpServer(port=free_port(), security=security, tls=tls_files, login=login)
        server.start()
        started.append(server)
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()


# ---------------------------------------------------------------------------- webhooks


class Post(NamedTuple):
    headers: dict[str, str]  # lower-cased names
    body: bytes


class WebhookReceiver:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> that records every POST as
    ``Post(headers, body)`` in ``posts`` and answers with the programmed statuses in turn
    (``respond_with(503, 503, 200)``), then ``default_status``. It verifies nothing: the
    tests do, with standardwebhooks."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.paths: list[str] = []
        self.default_status = 200
        self.response_headers: dict[str, str] = {}  # sent with every answer, e.g. Retry-After
        self._statuses: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hook"

    def respond_with(self, *statuses: int) -> None:
        with self._lock:
            self._statuses = list(statuses)

    def _next_status(self) -> int:
        with self._lock:
            return self._statuses.pop(0) if self._statuses else self.default_status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver.posts.append(Post(headers, body))
                    receiver.paths.append(self.path)
                status = receiver._next_status()
                self.send_response(status)
                for name, value in receiver.response_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A running loopback webhook receiver (see ``WebhookReceiver``); stopped at teardown."""
    receiver = WebhookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


# ---------------------------------------------------------------------------- sample digest

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # 08:00 in Asia/Karachi


def sample_match(id: int, title: str, **changes: Any) -> Match:
    """A match with plausible defaults; ``changes`` override any field."""
    values: dict[str, Any] = {
        "id": id,
        "seed": "pk-alibaba-2026",
        "score": 0.8,
        "kind": "direct",
        "title": title,
        "url": f"https://news.example.org/{id}",
        "feed": "https://news.example.org/feed.xml",
        "feed_name": "Example News",
        "published": NOW - timedelta(hours=id),
        "matched_at": NOW - timedelta(hours=id) + timedelta(minutes=5),
        "reasons": (Reason("Alibaba Cloud", "Alibaba Cloud", alias="alibaba cloud"),),
        "lang": "en",
    }
    values.update(changes)
    return Match(**values)


def sample_digest() -> tuple[list[Match], DigestContext]:
    """A realistic morning digest: two seeds, a story covered by five outlets, Urdu and
    Chinese items, a thread item, a failing feed."""
    cloud = (
        Reason("Alibaba Cloud", "Alibaba Cloud", alias="alibaba cloud"),
        Reason("Karachi", "Karachi", kind="topic"),
    )
    matches = [
        sample_match(
            1,
            "Alibaba Cloud to open data centre in Karachi",
            source="Dawn",
            reasons=cloud,
            score=0.94,
            summary="The company said the Karachi facility would serve government and fintech customers from next year.",
        ),
        sample_match(
            2, "Alibaba Cloud opens Karachi data center", source="Business Recorder", reasons=cloud
        ),
        sample_match(
            3, "Alibaba Cloud to open data center in Karachi", source="ProPakistani", reasons=cloud
        ),
        sample_match(
            4,
            "Alibaba Cloud to open data centre in Karachi - TechJuice",
            source="TechJuice",
            reasons=cloud,
        ),
        sample_match(
            5,
            "Alibaba Cloud opens data centre in Karachi",
            source="The Express Tribune",
            reasons=cloud,
        ),
        sample_match(
            6,
            "علی بابا کلاؤڈ کا کراچی میں ڈیٹا سینٹر کھولنے کا اعلان",
            source="BBC Urdu",
            lang="ur",
            reasons=(Reason("Alibaba Cloud", "علی بابا کلاؤڈ"),),
        ),
        sample_match(
            7,
            "阿里云宣布在巴基斯坦卡拉奇开设数据中心",
            source="Xinhua",
            lang="zh",
            reasons=(Reason("Alibaba Cloud", "阿里云"),),
        ),
        sample_match(
            8,
            "Daraz cuts 200 jobs as Alibaba reviews South Asia unit",
            kind="thread",
            score=0.61,
            source="South China Morning Post",
            reasons=(Reason("Daraz", "Daraz"), Reason("Alibaba Group", "Alibaba")),
        ),
        sample_match(
            9,
            "Ant Group raises stake in Telenor Microfinance Bank",
            seed="pk-ant-2026",
            source="Dawn",
            reasons=(
                Reason("Ant Group", "Ant Group"),
                Reason("Telenor Microfinance Bank", "Telenor Microfinance Bank"),
            ),
        ),
    ]
    ctx = DigestContext(
        period_start=NOW - timedelta(days=1),
        period_end=NOW,
        generated_at=NOW + timedelta(minutes=1),
        seed_titles={
            "pk-alibaba-2026": "Alibaba's Pakistan expansion (2026)",
            "pk-ant-2026": "Ant Group and Pakistani fintech",
        },
        previous_period_count=6,
        new_entities=frozenset({"Telenor Microfinance Bank", "Daraz"}),
        failing_feeds=(
            FeedHealth(
                url="https://www.brecorder.com/feeds/latest-news",
                name="Business Recorder",
                last_success_at=NOW - timedelta(days=2),
                last_error="HTTP 503 Service Unavailable",
                consecutive_failures=9,
                failing_since=NOW - timedelta(days=1, hours=6),
                next_poll_at=NOW + timedelta(minutes=30),
            ),
        ),
        timezone="Asia/Karachi",
        review_url="http://127.0.0.1:8080/",
    )
    return matches, ctx
