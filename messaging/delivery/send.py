"""Sending a chunk: each row becomes an `Outgoing` item, the chunk goes through its adapter.

The email's tracking is prepared here (signed links, open pixel, unsubscribe headers;
messaging.tracking.links), so the adapter only sends what it is handed. An adapter that
raises does not strand the claimed rows: the whole chunk is answered "retry".
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from django.conf import settings

from campaigns.models import Channel
from config.metrics import PROVIDER_LATENCY

from ..channels.base import ChannelAdapter, Outcome, Outgoing, Result
from ..models import Delivery, Dispatch, Profile
from ..tracking.links import instrument_email, unsubscribe_headers, unsubscribe_url
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
        unsubscribe = unsubscribe_url(delivery.message_id)  # signed once, used twice
        item.html = instrument_email(
            delivery.rendered.get("body") or "", message_id=delivery.message_id,
            unsubscribe=unsubscribe,
        )  # fmt: skip
        item.extra_headers = unsubscribe_headers(
            message_id=delivery.message_id, unsubscribe=unsubscribe
        )
    return item


@dataclass
class Prepared:
    """A chunk ready for its adapter: its rows committed `sending`, attempt started."""

    channel: str
    adapter: ChannelAdapter
    rows: list[Delivery]
    items: list[Outgoing]


def chunk_prepare(
    *, dispatch: Dispatch, plan: ChannelPlan, profiles: list[Profile], resolved: set[int]
) -> Prepared | int:
    """Create the rows of `plan` for `profiles` (which have none yet), ready to send; or,
    when there is nothing to send, how many rows wait for a retry. `resolved`: see
    rows_create.

    Everything that may fail before the network comes first, while the rows are only in
    memory: rendering, the items, the adapter and its lookups. Then the rows are
    committed, born `sending` with their attempt started, for InFlight to hand to the
    adapter right away. A failure before that leaves no row: the shard's next run
    creates them."""
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
    return Prepared(
        plan.channel, adapter, created.fresh, [items[row.message_id] for row in created.fresh]
    )


def chunk_abandon(prepared: Prepared, *, give_up: bool) -> int:
    """A prepared chunk that will not be sent now (the shard was told to stop): its rows
    go back to pending, never attempted."""
    outcomes = [Outcome(Result.RETRY, "not sent: the shard stopped")] * len(prepared.rows)
    return _record(
        prepared.rows, outcomes, provider=prepared.channel, give_up=give_up, attempted=False
    )


# The adapters of messaging.channels never touch the database (scripts/check_imports.py
# holds them to it), so they may send from a thread of their own.
_PURE_ADAPTERS = "messaging.channels."
_senders: dict[int, ThreadPoolExecutor] = {}


def _sender() -> ThreadPoolExecutor:
    """This process's thread for adapter calls (made after a fork: threads don't survive one)."""
    pid = os.getpid()
    if pid not in _senders:
        _senders.clear()
        _senders[pid] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="delivery-send")
    return _senders[pid]


class InFlight:
    """A chunk at its adapter, in a thread of its own, so that the shard renders and
    writes the next chunk meanwhile (`finish` waits for the answers and records them).
    With a deadline (DELIVERY_CHUNK_SECONDS), and a heartbeat kept fresh while it works.
    One at a time per process: the shard finishes a chunk before it starts the next."""

    def __init__(self, prepared: Prepared, *, give_up: bool, shard_pk: int | None) -> None:
        self.prepared, self.give_up = prepared, give_up
        self.heartbeat = Heartbeat(
            delivery_pks=[row.pk for row in prepared.rows],
            shard_pk=shard_pk,
            every=settings.DELIVERY_HEARTBEAT_SECONDS,
        )
        self.heartbeat.__enter__()
        self.submitted = time.monotonic()
        deadline = self.submitted + settings.DELIVERY_CHUNK_SECONDS
        call = partial(prepared.adapter.send_batch, prepared.items, deadline=deadline)
        self.future: Future[list[Outcome]]
        if type(prepared.adapter).__module__.startswith(_PURE_ADAPTERS):
            try:
                self.future = _sender().submit(call)
            except BaseException:
                self.heartbeat.__exit__(None, None, None)
                raise
            return
        # Any other adapter (the content card feed) may use the database: this thread's
        # connection and transaction, so it runs here and now.
        self.future = Future()
        try:
            self.future.set_result(call())
        except Exception as exc:  # noqa: BLE001 - handed to finish(), as from the thread
            self.future.set_exception(exc)
        except BaseException:
            self.heartbeat.__exit__(None, None, None)  # no finish() will stop it
            raise

    def finish(self) -> int:
        """Wait for the answers and record them; returns how many rows wait for a retry.
        An adapter that raised answers "retry" for the whole chunk."""
        prepared = self.prepared
        try:
            outcomes = self.future.result()
            failpoints.attempts_sent(len(prepared.items))
            PROVIDER_LATENCY.labels(getattr(prepared.adapter, "name", prepared.channel)).observe(
                time.monotonic() - self.submitted
            )
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not strand the rows
            log.exception("adapter %s failed on a batch", getattr(prepared.adapter, "name", ""))
            outcomes = [Outcome(Result.RETRY, f"adapter error: {exc}")] * len(prepared.rows)
        finally:
            self.heartbeat.__exit__(None, None, None)
        return _record(
            prepared.rows, outcomes, provider=getattr(prepared.adapter, "name", prepared.channel),
            give_up=self.give_up, attempted=True,
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
    return InFlight(
        Prepared(channel, adapter, rows, items), give_up=give_up, shard_pk=shard_pk
    ).finish()


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
