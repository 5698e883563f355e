from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from pipeline.digest import render_digest
from pipeline.errors import DeliveryError
from pipeline.notify.email import EmailNotifier, EmailTarget, build_message, header_text, message_id
from pipeline.types import Delivery, DigestMessage
from tests.fixtures_delivery import sample_digest, sample_match

INJECTION = "Hello\r\nBcc: victim@example.org\r\nX-Evil: 1\n\nbody starts here"


def delivery(id: str = "dlv-7", message: DigestMessage | None = None) -> Delivery:
    if message is None:
        matches, ctx = sample_digest()
        message = render_digest(matches, ctx)
    return Delivery(id=id, channel="email", match_ids=(1, 2), message=message)


def send(notifier: EmailNotifier, item: Delivery) -> None:
    asyncio.run(notifier.send(item))


class Links(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]
        self.hrefs += [value or "" for name, value in attrs if name == "href"]


def test_the_digest_arrives_as_multipart_alternative_with_text_and_html(smtp_server):
    send(EmailNotifier("email", smtp_server.target()), delivery())
    [message] = smtp_server.messages
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "Covered by Dawn, Business Recorder and 3 more" in text.get_content()
    hrefs = Links(html.get_content()).hrefs
    assert "https://news.example.org/1" in hrefs
    assert all(href.startswith(("https://", "http://")) for href in hrefs)
    assert "https://news.example.org/1" in text.get_content()


def test_headers_come_from_our_settings_and_the_message_id_from_the_delivery(smtp_server):
    send(
        EmailNotifier("email", smtp_server.target(sender="followup <followup@example.org>")),
        delivery(),
    )
    [message] = smtp_server.messages
    assert message["From"] == "followup <followup@example.org>"
    assert message["To"] == "analyst@example.org"
    assert (
        message["Subject"]
        == "followup: 9 new follow-ups for pk-alibaba-2026, pk-ant-2026 (28 Nov 2026)"
    )
    assert message["Message-ID"] == "<followup.dlv-7@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime.tzinfo is not None
    assert smtp_server.envelopes == [("followup@example.org", ["analyst@example.org"])]
    assert smtp_server.secure == [False]  # security "none": plain SMTP, as configured


def test_a_retry_of_the_same_delivery_carries_the_same_message_id(smtp_server):
    notifier = EmailNotifier("email", smtp_server.target())
    send(notifier, delivery("dlv-9"))
    send(notifier, delivery("dlv-9"))
    send(notifier, delivery("dlv-10"))
    ids = [message["Message-ID"] for message in smtp_server.messages]
    assert ids[0] == ids[1] != ids[2]


def test_a_subject_with_line_breaks_cannot_add_headers_or_recipients(smtp_server):
    hostile = DigestMessage(subject=INJECTION, text="text", html="<p>html</p>")
    send(EmailNotifier("email", smtp_server.target()), delivery(message=hostile))
    [message] = smtp_server.messages
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Hello Bcc: victim@example.org X-Evil: 1 body starts here"
    assert smtp_server.envelopes[0][1] == ["analyst@example.org"]


def test_hostile_feed_text_is_inert_in_both_parts_of_the_email(smtp_server):
    title = 'Alibaba<script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">x</a>\r\nBcc: v@example.org'
    matches = [
        sample_match(1, title, url="javascript:alert(3)"),
        sample_match(2, "Daraz news", url="&#106;avascript:alert(4)"),
    ]
    message = render_digest(matches, sample_digest()[1])
    send(EmailNotifier("email", smtp_server.target()), delivery(message=message))
    [received] = smtp_server.messages
    html = received.get_body(preferencelist=("html",)).get_content()
    text = received.get_body(preferencelist=("plain",)).get_content()
    parsed = Links(html)
    assert "script" not in parsed.tags and parsed.tags.count("a") == 1  # the review link
    assert parsed.hrefs == ["http://127.0.0.1:8080/"]
    assert not [name for name in parsed.attributes if name.startswith("on")]
    assert "alert(3)" not in html + text and "alert(4)" not in html + text
    assert received["Bcc"] is None and "Bcc" not in received["Subject"]


def test_the_message_id_of_an_odd_delivery_id_is_still_one_safe_token():
    hashed = hashlib.sha256(b"a b\r\nc").hexdigest()[:32]
    assert message_id("a b\r\nc", "x@example.org") == f"<followup.{hashed}@example.org>"
    assert re.fullmatch(r"<followup\.[\w.-]+@followup\.invalid>", message_id("d1", "bad sender\n"))


def test_header_text_keeps_one_bounded_line():
    assert header_text("a\r\nb\tc\x00d") == "a b c d"
    assert len(header_text("x" * 1000)) == 200
    assert header_text("\r\n") == "followup"


def test_an_address_with_a_line_break_is_refused(smtp_server):
    notifier = EmailNotifier(
        "email", smtp_server.target(to=("a@example.org\r\nBcc: v@example.org",))
    )
    with pytest.raises(DeliveryError, match="channel email"):
        send(notifier, delivery())
    assert smtp_server.messages == []


def test_smtp_down_is_a_delivery_error_naming_the_channel_and_up_again_delivers_once(smtp_server):
    notifier = EmailNotifier("email:analysts", smtp_server.target())
    smtp_server.stop()
    with pytest.raises(
        DeliveryError, match=r"^channel email:analysts: ConnectionRefusedError"
    ) as caught:
        send(notifier, delivery("dlv-down"))
    assert caught.value.channel == "email:analysts"
    smtp_server.start()
    send(notifier, delivery("dlv-down"))
    assert [m["Message-ID"] for m in smtp_server.messages] == ["<followup.dlv-down@example.org>"]


def test_starttls_against_a_server_without_it_fails_instead_of_sending_in_clear(smtp_server):
    notifier = EmailNotifier("email", smtp_server.target(security="starttls"))
    with pytest.raises(DeliveryError, match="STARTTLS"):
        send(notifier, delivery())
    assert smtp_server.messages == []


def test_implicit_tls_against_a_plain_server_is_a_delivery_error(smtp_server):
    notifier = EmailNotifier("email", smtp_server.target(security="tls", timeout=3.0))
    with pytest.raises(DeliveryError, match="channel email"):
        send(notifier, delivery())
    assert smtp_server.messages == []


def test_login_against_a_server_without_auth_is_a_delivery_error(smtp_server):
    notifier = EmailNotifier("email", smtp_server.target(username="u", password="secret"))
    with pytest.raises(DeliveryError, match="channel email") as caught:
        send(notifier, delivery())
    assert "secret" not in str(caught.value)
    assert "secret" not in repr(notifier)


def test_the_date_header_is_the_time_given():
    target = EmailTarget("127.0.0.1", 25, "f@example.org", ("a@example.org",))
    message = build_message(delivery(), target, datetime(2026, 11, 28, 3, tzinfo=UTC))
    assert message["Date"] == "Sat, 28 Nov 2026 03:00:00 +0000"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_login_delivers_over_an_encrypted_connection(make_smtp_server, security):
    server = make_smtp_server(security, login=("digest", "s3cret"))
    send(EmailNotifier("email", server.target(username="digest", password="s3cret")), delivery())
    assert len(server.messages) == 1 and server.secure == [True]
    assert server.logins == ["digest"]


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_certificate_we_do_not_trust_is_refused(make_smtp_server, security):
    server = make_smtp_server(security)
    notifier = EmailNotifier("email", server.target(ca_file=None))  # the system CAs only
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        send(notifier, delivery())
    assert server.messages == []


def test_a_wrong_password_is_a_delivery_error(make_smtp_server):
    server = make_smtp_server("starttls", login=("digest", "s3cret"))
    notifier = EmailNotifier("email", server.target(username="digest", password="wrong"))
    with pytest.raises(DeliveryError, match="SMTPAuthenticationError") as caught:
        send(notifier, delivery())
    assert "wrong" not in str(caught.value)
    assert server.messages == []
