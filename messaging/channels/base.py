"""The interface every channel adapter implements.

The dispatch pipeline renders one message per recipient and hands a batch of
`Outgoing` items to the channel's adapter; the adapter returns one `Outcome` per item,
in order. Adapters never touch the database: recording outcomes (delivery rows,
engagement events, token invalidation) is the pipeline's job, so every adapter can be
tested against a local protocol server alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


class Result(str, Enum):
    DELIVERED = "delivered"  # accepted by the provider / receiver
    BOUNCED = "bounced"  # permanent refusal for this address (bad address, dead token)
    FAILED = "failed"  # permanent failure not tied to the address (bad payload, 4xx)
    RETRY = "retry"  # transient: try again later (network, 5xx, 429)


@dataclass
class Outgoing:
    message_id: str  # Delivery.message_id, unique per recipient and channel
    address: str  # email address, phone, push token, URL…
    payload: dict[str, Any]  # the rendered message object (Braze field names)
    app_id: str = ""


@dataclass
class Outcome:
    result: Result
    provider_response: str = ""  # what the provider answered, for the dispatch page
    retry_after: float | None = None  # seconds, when the provider said so
    # Set when the provider says the address or token is dead: the pipeline forgets it.
    invalidate_address: bool = False
    details: dict[str, Any] = field(default_factory=dict)


class ChannelAdapter(Protocol):
    name: str  # shown on deliveries, e.g. "smtp", "webhook", "apns", "sandbox"

    def send_batch(self, items: list[Outgoing]) -> list[Outcome]: ...
