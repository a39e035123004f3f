"""Sending a chunk: each row becomes an `Outgoing` item, the chunk goes through its adapter.

The email's tracking is prepared here (signed links, open pixel, unsubscribe headers;
messaging.tracking.links), so the adapter only sends what it is handed. An adapter that
raises does not strand the claimed rows: the whole chunk is answered "retry".
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from campaigns.models import Channel

from ..channels.base import ChannelAdapter, Outcome, Outgoing, Result
from ..models import Delivery, Dispatch, Profile
from ..tracking.links import instrument_email, unsubscribe_headers
from . import failpoints, routing
from .heartbeat import Heartbeat
from .outcomes import outcomes_record
from .plans import ChannelPlan
from .rows import rows_create, rows_render

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


def chunk_send(
    *,
    dispatch: Dispatch,
    plan: ChannelPlan,
    profiles: list[Profile],
    resolved: set[int],
    give_up: bool,
    shard_pk: int | None = None,
) -> int:
    """Create the rows of `plan` for `profiles` (which have none yet), send them and record
    the answers; returns how many rows wait for a retry. `resolved`: see rows_create.

    Everything that may fail before the network comes first, while the rows are only in
    memory: rendering, the items, the adapter and its lookups. Then the rows are
    committed, born `sending` with their attempt started, and handed to the adapter at
    once. A failure before that leaves no row: the shard's next run creates them."""
    rows = rows_render(dispatch=dispatch, plan=plan, profiles=profiles)
    pending = [row for row in rows if row.status == Delivery.Status.PENDING]
    adapter: ChannelAdapter | None = None
    try:
        items = {row.message_id: outgoing(row) for row in pending}
        if items:
            adapter = routing.adapter_for(plan.channel, list(items.values()))
    except Exception:  # noqa: BLE001 - a bad row or lookup must not stop the shard
        log.exception("no adapter for a %s chunk; its rows are left for a retry", plan.channel)
        rows = [row for row in rows if row.status != Delivery.Status.PENDING]
        rows_create(dispatch=dispatch, plan=plan, rows=rows, resolved=resolved)
        return len(pending)
    created = rows_create(dispatch=dispatch, plan=plan, rows=rows, resolved=resolved)
    if not created.fresh or adapter is None:
        return 0
    return _send(
        plan.channel, adapter, created.fresh, [items[row.message_id] for row in created.fresh],
        give_up=give_up, shard_pk=shard_pk,
    )  # fmt: skip


def deliveries_send(
    *, channel: str, claimed: list[Delivery], give_up: bool, shard_pk: int | None = None
) -> int:
    """Send rows an earlier run created, claimed now with their attempt started
    (claims.deliveries_claim), and record the answers; returns how many wait for a retry."""
    if not claimed:
        return 0
    try:
        items = [outgoing(row) for row in claimed]
        adapter = routing.adapter_for(channel, items)
    except Exception as exc:  # noqa: BLE001 - a bad row or lookup must not strand the chunk
        log.exception("no adapter for a %s chunk", channel)
        outcomes = [Outcome(Result.RETRY, f"adapter error: {exc}")] * len(claimed)
        return _record(claimed, outcomes, provider=channel, give_up=give_up, attempted=False)
    return _send(channel, adapter, claimed, items, give_up=give_up, shard_pk=shard_pk)


def _send(
    channel: str, adapter: ChannelAdapter, rows: list[Delivery], items: list[Outgoing], *,
    give_up: bool, shard_pk: int | None,
) -> int:  # fmt: skip
    """The adapter call: with a deadline (DELIVERY_CHUNK_SECONDS) and a heartbeat kept
    fresh while it works; an adapter that raises answers "retry" for the whole chunk."""
    try:
        deadline = time.monotonic() + settings.DELIVERY_CHUNK_SECONDS
        with Heartbeat(
            delivery_pks=[row.pk for row in rows],
            shard_pk=shard_pk,
            every=settings.DELIVERY_HEARTBEAT_SECONDS,
        ):
            outcomes = adapter.send_batch(items, deadline=deadline)
        failpoints.attempts_sent(len(items))
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not strand claimed rows
        log.exception("adapter %s failed on a batch", getattr(adapter, "name", channel))
        outcomes = [Outcome(Result.RETRY, f"adapter error: {exc}")] * len(rows)
    return _record(
        rows, outcomes, provider=getattr(adapter, "name", channel), give_up=give_up,
        attempted=True,
    )  # fmt: skip


def _record(
    rows: list[Delivery], outcomes: list[Outcome], *, provider: str, give_up: bool,
    attempted: bool,
) -> int:  # fmt: skip
    return outcomes_record(
        dispatch_pk=rows[0].dispatch_id,
        rows=rows,
        outcomes=outcomes,
        provider=provider,
        give_up=give_up,
        attempted=attempted,
    ).retry
