"""Digests by HTTP POST, signed as the Standard Webhooks specification says.

Headers ``webhook-id`` (the delivery id: the same on every retry, so a receiver can drop a
repeat), ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
id.timestamp.body>``), computed by the ``standardwebhooks`` package over the exact bytes
sent. Nothing from the response is read but its status.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks import Webhook

from pipeline.errors import ConfigError, DeliveryError, delivery_errors
from pipeline.types import Delivery

SECRET_PREFIX = "whsec_"
MAX_RETRY_AFTER = 86_400.0  # a receiver cannot park a channel for more than a day


class WebhookStatusError(DeliveryError):
    """The receiver answered with a status outside 2xx. ``retry_after`` (seconds) is the
    receiver's wish from a Retry-After header, when it sent one; the service may use it
    instead of its own backoff."""

    def __init__(self, channel: str, status: int, reason: str, retry_after: float | None) -> None:
        self.status, self.retry_after = status, retry_after
        super().__init__(channel, f"HTTP {status} {reason}".strip())


def signing_secret(value: str) -> bytes:
    """The HMAC key for ``value`` (interface.md, "Webhook requests"): a ``whsec_`` value is
    the specification's base64 secret; any other value is used as its UTF-8 bytes.

    Bytes, because ``standardwebhooks.Webhook`` base64-decodes every ``str`` it is given,
    prefixed or not.
    """
    if value.startswith(SECRET_PREFIX):
        encoded = value[len(SECRET_PREFIX) :]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"a {SECRET_PREFIX} webhook secret must be base64: {exc}") from exc
    else:
        key = value.encode()
    if not key:
        raise ConfigError("the webhook secret is empty")
    return key


@dataclass(frozen=True)
class WebhookNotifier:
    """POSTs ``delivery.body`` to ``url``. ``client`` comes from bootstrap (timeouts,
    redirect policy); ``deadline`` bounds the whole request, which httpx's timeouts alone
    do not (a receiver answering one byte at a time)."""

    channel: str
    url: str
    secret: str = field(repr=False)
    client: httpx.AsyncClient = field(repr=False)
    deadline: float = 30.0
    signer: Webhook = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signer", Webhook(signing_secret(self.secret)))

    async def send(self, delivery: Delivery) -> None:
        with delivery_errors(self.channel, httpx.HTTPError, OSError, UnicodeError):
            headers = self.headers(delivery, datetime.now(UTC))
            async with asyncio.timeout(self.deadline):
                request = self.client.build_request(
                    "POST", self.url, content=delivery.body, headers=headers
                )
                response = await self.client.send(request, stream=True)
                await response.aclose()  # the body is not ours to read: status only
        if not 200 <= response.status_code < 300:
            wait = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            raise WebhookStatusError(
                self.channel, response.status_code, response.reason_phrase, wait
            )

    def headers(self, delivery: Delivery, stamp: datetime) -> dict[str, str]:
        # sign() formats data into f"{id}.{timestamp}.{data}": give it the str of the bytes sent.
        signature = self.signer.sign(delivery.id, stamp, delivery.body.decode("utf-8"))
        return {
            "content-type": delivery.content_type,
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": signature,
        }


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), within [0, a day]."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = (
            float(value)
            if value.isdigit()
            else (parsedate_to_datetime(value) - now).total_seconds()
        )
    except (TypeError, ValueError, IndexError):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
