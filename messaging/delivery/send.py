"""Sending claimed rows: each becomes an `Outgoing` item, the batch goes through its adapter.

The email's tracking is prepared here (signed links, open pixel, unsubscribe headers;
messaging.tracking.links), so the adapter only sends what it is handed. An adapter that
raises does not strand the claimed rows: the whole chunk is answered "retry" (and when
it raised before the rows were marked started, they count as never attempted).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from campaigns.models import Channel

from ..channels.base import ChannelAdapter, Outcome, Outgoing, Result
from ..models import Delivery
from ..tracking.links import instrument_email, unsubscribe_headers
from . import failpoints, routing
from .claims import attempt_start
from .heartbeat import Heartbeat
from .outcomes import outcomes_record

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


def deliveries_send(
    *, channel: str, claimed: list[Delivery], give_up: bool, shard_pk: int | None = None
) -> int:
    """Send one claimed chunk of a channel and record its outcomes; returns how many rows
    wait for a retry. `give_up`: the last attempt, temporary failures become final.

    The chunk is marked "attempt started" just before the adapter call, gets a deadline
    (DELIVERY_CHUNK_SECONDS), and its heartbeat is kept fresh while the adapter works."""
    if not claimed:
        return 0
    items = [outgoing(d) for d in claimed]
    adapter: ChannelAdapter | None = None
    attempted = False
    try:
        adapter = routing.adapter_for(channel, items)
        pks = [d.pk for d in claimed]
        attempt_start(pks)
        attempted = True
        deadline = time.monotonic() + settings.DELIVERY_CHUNK_SECONDS
        with Heartbeat(
            delivery_pks=pks, shard_pk=shard_pk, every=settings.DELIVERY_HEARTBEAT_SECONDS
        ):
            outcomes = adapter.send_batch(items, deadline=deadline)
        failpoints.attempts_sent(len(items))
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not strand claimed rows
        log.exception("adapter %s failed on a batch", getattr(adapter, "name", channel))
        outcomes = [Outcome(Result.RETRY, f"adapter error: {exc}")] * len(items)
    provider = getattr(adapter, "name", channel)
    return outcomes_record(
        dispatch_pk=claimed[0].dispatch_id,
        rows=claimed,
        outcomes=outcomes,
        provider=provider,
        give_up=give_up,
        attempted=attempted,
    ).retry
