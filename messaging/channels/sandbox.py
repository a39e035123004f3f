"""The sandbox for push and SMS/MMS: records the rendered payload as delivered, sends nothing.

Used until a provider is configured for the channel (messaging.channels.registry). Its
deliveries carry provider "sandbox", and the dispatch page labels them so nobody
mistakes them for messages that reached a phone.
"""

from __future__ import annotations

from .base import Outcome, Outgoing, Result


class SandboxAdapter:
    name = "sandbox"

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send_batch(self, items: list[Outgoing]) -> list[Outcome]:
        return [
            Outcome(
                Result.DELIVERED,
                f"{self.channel} payload recorded, not sent (no provider configured)",
            )
            for _ in items
        ]
