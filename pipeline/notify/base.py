"""The one port every delivery channel implements."""

from __future__ import annotations

from typing import Protocol

from pipeline.types import Delivery


class Notifier(Protocol):
    """Sends one frozen batch to one channel.

    ``channel`` names the channel in deliveries, logs and errors ("email",
    "webhook:<name>"). ``send`` raises ``DeliveryError`` and nothing else; it may be called
    again with the same delivery after a failure, and then sends the same id (webhook-id,
    Message-ID) so the receiver can drop a repeat.
    """

    @property
    def channel(self) -> str: ...  # read-only, so frozen dataclasses satisfy it

    async def send(self, delivery: Delivery) -> None: ...
