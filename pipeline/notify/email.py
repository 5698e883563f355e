"""Digests by SMTP: multipart/alternative (text + HTML), plain, STARTTLS or implicit TLS.

Every header is built from our own settings; the subject comes from ``digest`` (counts and
seed ids) and is still stripped of line breaks here, because a header is the one place
where a stray CR/LF turns text into instructions ("Bcc: ...").
"""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

from pipeline.errors import delivery_errors
from pipeline.types import Delivery

Security = Literal["none", "starttls", "tls"]

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_ID_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DOMAIN = re.compile(r"[A-Za-z0-9.-]{1,253}")
SUBJECT_CHARS = 200
# CPython folds some unstructured headers by moving the whole value to a continuation
# line, which its own parser then reads back with a leading space. Our headers are short,
# so fold only at RFC 5322's hard limit.
_POLICY = email.policy.default.clone(max_line_length=998)


@dataclass(frozen=True)
class EmailTarget:
    """Where and how to send. ``password`` comes from the environment (config.py)."""

    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    security: Security = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 15.0
    ca_file: str | None = None  # a private CA for the server's certificate; default: the system's


@dataclass(frozen=True)
class EmailNotifier:
    channel: str
    target: EmailTarget

    async def send(self, delivery: Delivery) -> None:
        # SMTPException and ssl.SSLError are OSErrors; ValueError is a header we refuse.
        with delivery_errors(self.channel, OSError, ValueError):
            message = build_message(delivery, self.target)
            await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        target = self.target
        # Certificates and host names are always verified: a digest is not worth a MITM.
        context = (
            None if target.security == "none" else ssl.create_default_context(cafile=target.ca_file)
        )
        if target.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=target.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        with smtp:
            if target.security == "starttls":
                smtp.starttls(context=context)
            if target.username:
                smtp.login(target.username, target.password or "")
            smtp.send_message(
                message,
                from_addr=_address(target.sender),
                to_addrs=[_address(to) for to in target.to],
            )


def build_message(
    delivery: Delivery, target: EmailTarget, now: datetime | None = None
) -> EmailMessage:
    """The email for ``delivery``: same Message-ID on every retry of the same delivery.

    Raises ValueError for an address with a control character (the notifier reports it
    as a DeliveryError of its channel).
    """
    for address in (target.sender, *target.to):
        if _CONTROLS.search(address):
            raise ValueError("an email address contains a control character")
    if not target.to:
        raise ValueError("no recipient configured")
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = header_text(delivery.message.subject)
    message["From"] = target.sender
    message["To"] = ", ".join(target.to)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id(delivery.id, target.sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(delivery.message.text)
    message.add_alternative(delivery.message.html, subtype="html")
    return message


def message_id(delivery_id: str, sender: str) -> str:
    """``<followup.ID@sender-domain>``: derived from the delivery id only, so it is stable."""
    local = delivery_id if _ID_SAFE.fullmatch(delivery_id) else _digest(delivery_id)
    domain = sender.rpartition("@")[2].strip(" >")
    return f"<followup.{local}@{domain if _DOMAIN.fullmatch(domain) else 'followup.invalid'}>"


def header_text(text: str) -> str:
    """One line: CR, LF and other controls become spaces; bounded length."""
    line = " ".join(_CONTROLS.sub(" ", text).split())
    return line[:SUBJECT_CHARS] or "followup"


def _address(text: str) -> str:
    """The bare address of ``Name <addr>`` for the SMTP envelope."""
    return parseaddr(text)[1] or text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]
