"""Sending claimed rows: each becomes an `Outgoing` item, the batch goes through its adapter.

The email's tracking is prepared here (signed links, open pixel, unsubscribe headers;
messaging.tracking.links), so the adapter only sends what it is handed. An adapter that
raises does not strand the claimed rows: the whole batch is answered "retry".
"""

from __future__ import annotations

import logging

from campaigns.models import Channel

from ..channels.base import ChannelAdapter, Outcome, Outgoing, Result
from ..models import Delivery
from ..tracking.links import instrument_email, unsubscribe_headers
from . import registry, routing
from .outcomes import delivery_record_outcome

log = logging.getLogger(__name__)


def outgoing(delivery: Delivery) -> Outgoing:
    """What the adapter gets for one row: the rendered payload, and for email its tracking."""
    item = Outgoing(
        message_id=delivery.message_id,
        address=delivery.address,
        payload=delivery.rendered,
        app_id=delivery.app_id,
    )
    if delivery.channel == Channel.EMAIL:
        item.html = instrument_email(
            delivery.rendered.get("body") or "", message_id=delivery.message_id
        )
        item.extra_headers = unsubscribe_headers(message_id=delivery.message_id)
    return item


def deliveries_send(*, channel: str, claimed: list[Delivery], give_up: bool) -> int:
    """Send the claimed rows of one channel and record each outcome; returns how many wait
    for a retry. `give_up`: the last attempt, temporary failures become final."""
    if not claimed:
        return 0
    items = [outgoing(d) for d in claimed]
    adapter: ChannelAdapter | None = None
    try:
        adapter = routing.adapter_for(channel, items)
        outcomes = adapter.send_batch(items, deadline=registry.batch_deadline())
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not strand claimed rows
        log.exception("adapter %s failed on a batch", getattr(adapter, "name", channel))
        outcomes = [Outcome(Result.RETRY, f"adapter error: {exc}")] * len(items)
    provider = getattr(adapter, "name", channel)
    retry = 0
    for delivery, outcome in zip(claimed, outcomes, strict=True):
        delivery_record_outcome(
            delivery=delivery, outcome=outcome, provider=provider, give_up=give_up
        )
        retry += outcome.result == Result.RETRY and not give_up
    return retry
