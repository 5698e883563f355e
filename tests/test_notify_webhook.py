from __future__ import annotations

import asyncio
import base64
import inspect
import json
import socket

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from pipeline.digest import render_digest, render_webhook_body
from pipeline.errors import ConfigError, DeliveryError
from pipeline.notify.base import Notifier
from pipeline.notify.email import EmailNotifier
from pipeline.notify.webhook import WebhookNotifier, WebhookStatusError, retry_after, signing_secret
from pipeline.types import Delivery
from tests.fixtures_delivery import NOW, sample_digest

WHSEC = "whsec_" + base64.b64encode(b"a 24-byte random secret!").decode()
PLAIN = "correct horse battery staple"


def delivery(fmt: str = "json", id: str = "msg_2kqP9") -> Delivery:
    matches, ctx = sample_digest()
    return Delivery(
        id=id,
        channel="webhook:ops",
        match_ids=tuple(match.id for match in matches),
        message=render_digest(matches, ctx),
        body=render_webhook_body(matches, ctx, fmt, id),  # type: ignore[arg-type]
    )


def post(
    url: str, secret: str, *items: Delivery, channel: str = "webhook:ops"
) -> list[Exception | None]:
    """Send each delivery in turn with a fresh notifier; the outcome of each."""

    async def run() -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        async with httpx.AsyncClient(timeout=5) as client:
            notifier = WebhookNotifier(channel, url, secret, client)
            for item in items:
                try:
                    await notifier.send(item)
                    outcomes.append(None)
                except DeliveryError as exc:
                    outcomes.append(exc)
        return outcomes

    return asyncio.run(run())


def test_a_whsec_secret_signs_as_the_specification_says(webhook_receiver):
    item = delivery()
    assert post(webhook_receiver.url, WHSEC, item) == [None]
    [(headers, body)] = webhook_receiver.posts
    assert body == item.body  # the bytes signed are the bytes sent
    payload = Webhook(WHSEC).verify(body, headers)  # raises if the signature is wrong
    assert payload["matches"][0]["url"] == "https://news.example.org/1"
    assert headers["webhook-id"] == "msg_2kqP9" == payload["id"]
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")


def test_a_plain_secret_is_used_as_its_utf8_bytes(webhook_receiver):
    post(webhook_receiver.url, PLAIN, delivery())
    [(headers, body)] = webhook_receiver.posts
    Webhook(PLAIN.encode()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(body, headers)


def test_a_tampered_body_or_id_fails_verification(webhook_receiver):
    post(webhook_receiver.url, WHSEC, delivery())
    [(headers, body)] = webhook_receiver.posts
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(body.replace(b"Dawn", b"Fake"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(body, {**headers, "webhook-id": "msg_other"})


def test_signing_secret_follows_the_contracts_rule():
    assert signing_secret(WHSEC) == b"a 24-byte random secret!"
    assert signing_secret("whsec_" + WHSEC[6:].rstrip("=")) == b"a 24-byte random secret!"
    assert signing_secret(PLAIN) == PLAIN.encode()
    assert signing_secret("sécret") == "sécret".encode()
    with pytest.raises(ConfigError, match="base64"):
        signing_secret("whsec_not*base64!")
    with pytest.raises(ConfigError, match="empty"):
        signing_secret("")


@pytest.mark.parametrize("status", [503, 500, 404, 301])
def test_a_non_2xx_answer_is_a_delivery_error_naming_the_channel_and_status(
    webhook_receiver, status
):
    webhook_receiver.respond_with(status)
    [error] = post(webhook_receiver.url, WHSEC, delivery())
    assert isinstance(error, DeliveryError)
    assert error.channel == "webhook:ops"
    assert str(error).startswith(f"channel webhook:ops: HTTP {status}")


def test_503_twice_then_200_sends_the_same_signed_batch_with_the_same_webhook_id(webhook_receiver):
    webhook_receiver.respond_with(503, 503, 200)
    item = delivery(id="msg_retry")
    outcomes = post(webhook_receiver.url, WHSEC, item, item, item)
    assert [isinstance(o, DeliveryError) for o in outcomes] == [True, True, False]
    assert outcomes[2] is None
    assert [headers["webhook-id"] for headers, _ in webhook_receiver.posts] == ["msg_retry"] * 3
    assert {body for _, body in webhook_receiver.posts} == {item.body}
    for headers, body in webhook_receiver.posts:
        Webhook(WHSEC).verify(body, headers)


def test_a_receiver_can_drop_a_repeat_by_webhook_id(webhook_receiver):
    # The crash window: the receiver got the batch, we did not record it, we send again.
    item = delivery(id="msg_once")
    post(webhook_receiver.url, WHSEC, item, item, delivery(id="msg_next"))
    kept = {headers["webhook-id"]: body for headers, body in webhook_receiver.posts}
    assert list(kept) == ["msg_once", "msg_next"]


def test_a_refused_connection_is_a_delivery_error_naming_the_channel():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when we post: nobody listens
    [error] = post(f"http://127.0.0.1:{port}/hook", WHSEC, delivery(), channel="webhook:down")
    assert isinstance(error, DeliveryError)
    assert str(error).startswith("channel webhook:down: ConnectError")


def test_a_receiver_that_never_answers_hits_the_deadline():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # accepts into the backlog, never reads or answers

        async def run() -> None:
            async with httpx.AsyncClient(timeout=30) as client:
                notifier = WebhookNotifier(
                    "webhook:slow",
                    f"http://127.0.0.1:{server.getsockname()[1]}/",
                    WHSEC,
                    client,
                    deadline=0.3,
                )
                await notifier.send(delivery())

        with pytest.raises(DeliveryError, match="channel webhook:slow: TimeoutError"):
            asyncio.run(run())


@pytest.mark.parametrize("fmt", ["slack", "discord"])
def test_chat_formats_are_signed_json_too(webhook_receiver, fmt):
    post(webhook_receiver.url, WHSEC, delivery(fmt))
    [(headers, body)] = webhook_receiver.posts
    payload = Webhook(WHSEC).verify(body, headers)
    assert ("blocks" if fmt == "slack" else "embeds") in payload


def test_the_secret_never_shows_in_the_notifiers_repr():
    async def build() -> str:
        async with httpx.AsyncClient() as client:
            return repr(WebhookNotifier("webhook:ops", "http://127.0.0.1:1/", PLAIN, client))

    assert PLAIN not in asyncio.run(build())


def test_the_body_is_valid_utf8_json_with_non_ascii_text_unescaped():
    body = delivery().body
    assert "阿里云".encode() in body
    assert json.loads(body)["count"] == 9


def test_both_channels_have_the_notifier_shape(smtp_server):
    async def build() -> list[Notifier]:
        async with httpx.AsyncClient() as client:
            return [
                EmailNotifier("email", smtp_server.target()),
                WebhookNotifier("webhook:ops", "http://127.0.0.1:1/", PLAIN, client),
            ]

    for notifier in asyncio.run(build()):
        assert notifier.channel and inspect.iscoroutinefunction(notifier.send)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("Sat, 28 Nov 2026 03:05:00 GMT", 300.0), ("soon", None), ("999999", 86400.0)],
)
def test_a_retry_after_header_is_reported_in_seconds(webhook_receiver, header, seconds):
    webhook_receiver.respond_with(503)
    webhook_receiver.response_headers = {"Retry-After": header}
    [error] = post(webhook_receiver.url, WHSEC, delivery())
    assert isinstance(error, WebhookStatusError) and error.status == 503
    if header.startswith("Sat"):  # an HTTP-date: compare with a fixed clock
        assert retry_after(header, NOW) == seconds
    else:
        assert error.retry_after == seconds
