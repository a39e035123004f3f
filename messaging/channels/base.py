"""The interface every channel adapter implements.

The delivery code (messaging.delivery) renders one message per recipient and hands a
batch of `Outgoing` items to the channel's adapter; the adapter returns one `Outcome` per
item, in order. Adapters are pure: they get everything they need from the caller (their
provider configuration with decrypted credentials, the tracked HTML of an email, which
app each push token belongs to) and never touch the database. Recording outcomes
(delivery rows, engagement events, dead tokens) is the caller's job, so every adapter can
be tested against a local protocol server alone.

Nothing under messaging.channels imports a model, a service, a view or the delivery code.

Time limit: `send_batch(items, deadline=…)` takes a `time.monotonic()` value. An item not
started by then comes back `Result.RETRY` with `attempted=False` (nothing went out, so
resending it cannot make a duplicate); a request already in flight at the deadline runs
on to its own timeout at most, and comes back RETRY with `attempted=True` if cut.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol


class Result(StrEnum):
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
    # Email only, prepared by the caller: the HTML body with tracked links (None: the
    # payload's body as it is) and headers to add, such as List-Unsubscribe.
    html: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


class DeadToken(NamedTuple):
    """A push token the provider says is gone (app uninstalled, token expired)."""

    app_id: str
    token: str


@dataclass
class Outcome:
    result: Result
    provider_response: str = ""  # what the provider answered, for the dispatch page
    retry_after: float | None = None  # seconds, when the provider said so
    # Set by an adapter when the provider says this item's address is dead (an
    # unregistered push token, a number that cannot receive SMS).
    invalidate_address: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    # The push tokens of this item found dead, one by one (an item may carry several
    # devices' tokens): the caller stops using exactly these. Filled by the router.
    dead_tokens: list[DeadToken] = field(default_factory=list)
    # False when nothing of this item reached the network (the batch's deadline passed
    # before it started, its connection could not be opened): a resend is no duplicate.
    attempted: bool = True


def not_started(reason: str = "not sent: the batch's time limit passed first") -> Outcome:
    """The outcome of an item the adapter did not start: retried later, never a duplicate."""
    return Outcome(Result.RETRY, provider_response=reason, attempted=False)


def past(deadline: float | None) -> bool:
    """Whether the `time.monotonic()` deadline (None: no limit) has passed."""
    return deadline is not None and time.monotonic() >= deadline


class ChannelAdapter(Protocol):
    name: str  # shown on deliveries, e.g. "smtp", "webhook", "apns", "sandbox"

    def send_batch(
        self, items: list[Outgoing], *, deadline: float | None = None
    ) -> list[Outcome]: ...
