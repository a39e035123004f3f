"""Stand-ins that send nothing: the sandbox, and an adapter whose configuration is unusable.

The sandbox is used for push and SMS/MMS until a provider is configured for the app's
channel (messaging.delivery.registry): it records the rendered payload as delivered. Its
deliveries carry provider "sandbox", and the dispatch page labels them so nobody
mistakes them for messages that reached a phone.
"""

from __future__ import annotations

from .base import Outcome, Outgoing, Result


class SandboxAdapter:
    name = "sandbox"

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send_batch(self, items: list[Outgoing], *, deadline: float | None = None) -> list[Outcome]:
        # No time limit to watch: nothing goes out, a batch takes microseconds.
        answer = f"{self.channel} payload recorded, not sent (no provider configured)"
        return [Outcome(Result.DELIVERED, answer) for _ in items]


class UnusableAdapter:
    """Stands in for an adapter whose stored configuration cannot be used (e.g. credentials
    encrypted with another key): retried later, so fixing the settings saves the send."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason

    def send_batch(self, items: list[Outgoing], *, deadline: float | None = None) -> list[Outcome]:
        return [
            Outcome(
                Result.RETRY,
                provider_response=f"not sent: {self.reason}",
                retry_after=60,
                attempted=False,
            )
            for _ in items
        ]
