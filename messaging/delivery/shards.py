"""A dispatch planned into shards, and one shard delivered.

`dispatch_plan` (the dispatch's own task) counts the audience and cuts it into shards:
primary-key ranges of DISPATCH_SHARD_SIZE profiles, stored as `DispatchShard` rows in
one transaction, so planning twice plans once. Each shard is then one task
(messaging.tasks), so N workers deliver about N times as fast. A dispatch to a few
listed recipients is one shard, run by the dispatch's task itself on the transactional
queue; broadcasts and segments go to the bulk queue.

`shard_run` is safe to run any number of times, concurrently or after a crash:

- the shard is taken by the run that moves it to `running` (a conditional UPDATE); one
  `running` with a stale heartbeat lost its worker and may be taken again;
- it streams its profiles in keyset pages; a chunk at a time, it creates their rows in
  bulk, already claimed (`rows`), sends them and records the answers (`send`,
  `outcomes`); rows an earlier run left pending are claimed and sent the same way;
- between chunks it refreshes its heartbeat, which also tells it when to stop (the
  dispatch was cancelled, or the shard taken from it);
- given a time slice (the workers give DISPATCH_SHARD_SLICE_SECONDS), it stops after the
  first chunk past it and leaves the rest of its range to a continuation, a new task at
  the back of the queue (`ShardResult.more`): a worker is never more than about a slice
  away from the transactional queue, however slow the receivers of a broadcast;
- it is done once none of its rows waits (pending or sending); the dispatch is done when
  its last shard is (`shards_done` reaches `shards_total`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from campaigns.services import variations_sent
from config.logs import log_context

from .. import liquid
from ..models import Delivery, Dispatch, DispatchShard
from .cancel import pending_rows_cancel
from .claims import deliveries_claim
from .paging import audience_batches, audience_count, audience_queryset, python_filter, shard_bounds
from .plans import channel_plans
from .rows import rows_existing
from .send import InFlight, chunk_abandon, chunk_prepare, deliveries_send


@dataclass
class Plan:
    queue: str = Dispatch.Queue.TRANSACTIONAL
    shard_pks: list[int] = field(default_factory=list)  # the shards left to run
    finished: bool = False


def dispatch_queue(dispatch: Dispatch) -> str:
    """Transactional for a few listed recipients; bulk for broadcasts and segments."""
    audience = dispatch.audience or {}
    listed = len(audience.get("external_user_ids") or []) + len(
        audience.get("user_aliases") or []
    )
    if audience.get("broadcast") or audience.get("segment_id"):
        return Dispatch.Queue.BULK
    if listed > settings.DISPATCH_TRANSACTIONAL_MAX:
        return Dispatch.Queue.BULK
    return Dispatch.Queue.TRANSACTIONAL


def _fail(dispatch_pk: int, error: str) -> None:
    Dispatch.objects.filter(pk=dispatch_pk).exclude(status__in=Dispatch.FINISHED).update(
        status=Dispatch.Status.FAILED, error=error, finished_at=timezone.now()
    )


def dispatch_finish_if_done(dispatch_pk: int) -> bool:
    """Mark the dispatch done once every shard is (idempotent)."""
    return bool(
        Dispatch.objects.filter(
            pk=dispatch_pk,
            status=Dispatch.Status.RUNNING,
            planned_at__isnull=False,
            shards_done__gte=F("shards_total"),
        ).update(status=Dispatch.Status.DONE, finished_at=timezone.now())
    )


def dispatch_plan(*, dispatch_pk: int) -> Plan:
    """Start the dispatch and cut its audience into shards (once); returns what to run."""
    dispatch = Dispatch.objects.select_related("campaign").filter(pk=dispatch_pk).first()
    if dispatch is None or dispatch.is_finished:
        return Plan(finished=True)
    now = timezone.now()
    if (
        Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.QUEUED).update(
            status=Dispatch.Status.RUNNING, started_at=now, needs_enqueue=False
        )
        and dispatch.campaign_id
    ):
        # The campaign's first and last send dates; each variation's is set when its
        # delivery rows are created (rows.rows_create).
        variations_sent(campaign_id=dispatch.campaign_id, at=now)
    try:
        channel_plans(dispatch)
    except liquid.LiquidTemplateError as exc:
        _fail(dispatch.pk, str(exc))
        return Plan(finished=True)
    queue = dispatch_queue(dispatch)
    if dispatch.planned_at is None:
        profiles = audience_queryset(dispatch)
        total = audience_count(dispatch, profiles)
        bounds = shard_bounds(profiles, settings.DISPATCH_SHARD_SIZE) if total else []
        with transaction.atomic():
            # Locked: two planners of one dispatch (a redelivered message) plan it once.
            locked = Dispatch.objects.select_for_update().get(pk=dispatch.pk)
            if locked.planned_at is None:
                DispatchShard.objects.bulk_create(
                    [
                        DispatchShard(dispatch=dispatch, index=i, pk_from=lo, pk_to=hi)
                        for i, (lo, hi) in enumerate(bounds)
                    ],
                    ignore_conflicts=True,
                )
                Dispatch.objects.filter(pk=dispatch.pk).update(
                    planned_at=timezone.now(),
                    shards_total=len(bounds),
                    recipients_total=total,
                    queue=queue,
                )
    shard_pks = list(
        DispatchShard.objects.filter(
            dispatch_id=dispatch.pk, status=DispatchShard.Status.PENDING
        ).values_list("pk", flat=True)
    )
    finished = dispatch_finish_if_done(dispatch.pk)
    return Plan(queue=queue, shard_pks=shard_pks, finished=finished)


@dataclass
class ShardResult:
    ran: bool = False  # this call took the shard
    retry: bool = False  # rows wait for a later attempt: run the shard again later
    done: bool = False
    # The time slice ran out: the profiles above `after` are left to a continuation.
    more: bool = False
    after: int = 0


def _shard_take(shard_pk: int) -> bool:
    now = timezone.now()
    stale = now - timedelta(seconds=settings.DELIVERY_STALE_SECONDS)
    return bool(
        DispatchShard.objects.filter(pk=shard_pk)
        .filter(
            Q(status=DispatchShard.Status.PENDING)
            | Q(status=DispatchShard.Status.RUNNING, heartbeat_at__lt=stale)
        )
        .update(status=DispatchShard.Status.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now)
    )


def _shard_beat(shard_pk: int) -> bool:
    """Refresh the heartbeat; False when the shard is no longer ours (cancelled, taken)."""
    return bool(
        DispatchShard.objects.filter(pk=shard_pk, status=DispatchShard.Status.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    )


def _continue_later(shard_pk: int, *, after: int) -> ShardResult:
    """Give the shard back for a continuation to take. `enqueued_at` stays unset until
    the continuation's task is published (shards_enqueued): should this process die in
    between, the sweeper publishes one."""
    if DispatchShard.objects.filter(pk=shard_pk, status=DispatchShard.Status.RUNNING).update(
        status=DispatchShard.Status.PENDING, enqueued_at=None
    ):
        return ShardResult(ran=True, more=True, after=after)
    return ShardResult(ran=True)  # taken from us meanwhile: nothing more is ours to do


def _shard_done(shard: DispatchShard) -> None:
    with transaction.atomic():
        if DispatchShard.objects.filter(
            pk=shard.pk, status=DispatchShard.Status.RUNNING
        ).update(status=DispatchShard.Status.DONE, finished_at=timezone.now()):
            Dispatch.objects.filter(pk=shard.dispatch_id).update(
                shards_done=F("shards_done") + 1
            )
    dispatch_finish_if_done(shard.dispatch_id)


def shard_run(
    *, shard_pk: int, give_up: bool = False, after: int = 0, slice_seconds: float | None = None
) -> ShardResult:
    """Deliver what is left of one shard (see the module docstring): its profiles above
    `after` (a continuation's start), for about `slice_seconds` (None: to the end)."""
    if not _shard_take(shard_pk):
        return ShardResult()
    started = time.monotonic()
    shard = DispatchShard.objects.select_related("dispatch__campaign").get(pk=shard_pk)
    # Every log line of the run, from any module, names the dispatch (config.logs).
    with log_context(dispatch_id=shard.dispatch.dispatch_id):
        return _shard_deliver(
            shard, started=started, give_up=give_up, after=after, slice_seconds=slice_seconds
        )


def _shard_deliver(
    shard: DispatchShard, *, started: float, give_up: bool, after: int,
    slice_seconds: float | None,
) -> ShardResult:  # fmt: skip
    dispatch = shard.dispatch
    in_range = {"profile_id__gt": shard.pk_from, "profile_id__lte": shard.pk_to}
    if dispatch.is_finished:
        pending_rows_cancel(dispatch_pk=dispatch.pk, **in_range)
        DispatchShard.objects.filter(pk=shard.pk).update(status=DispatchShard.Status.CANCELLED)
        return ShardResult(ran=True, done=True)
    try:
        plans = channel_plans(dispatch)
    except liquid.LiquidTemplateError as exc:
        _fail(dispatch.pk, str(exc))
        _shard_done(shard)
        return ShardResult(ran=True, done=True)
    # Profiles up to `done_upto` have every row handled (sent, recorded, or left pending
    # for a retry). A retry or a rescue (after=0) walks the whole range again.
    done_upto = max(shard.pk_from, after)
    profiles = audience_queryset(dispatch).filter(pk__lte=shard.pk_to)
    chunk = settings.DELIVERY_CHUNK_SIZE
    retry = 0
    stopped = out_of_time = False
    inflight: InFlight | None = None  # the chunk at its adapter while the next is prepared

    def between_chunks() -> None:
        nonlocal stopped, out_of_time
        stopped = not _shard_beat(shard.pk)
        out_of_time = slice_seconds is not None and time.monotonic() - started >= slice_seconds

    def settle() -> None:
        """Wait for the chunk at its adapter, record its answers, see whether to go on."""
        nonlocal inflight, retry
        if inflight is not None:
            retry += inflight.finish()
            inflight = None
            between_chunks()

    try:
        for batch in audience_batches(
            profiles.filter(pk__gt=done_upto), tree=python_filter(dispatch)
        ):
            if out_of_time:  # with a page left
                settle()
                return _continue_later(shard.pk, after=done_upto)
            if Dispatch.objects.filter(pk=dispatch.pk, status__in=Dispatch.FINISHED).exists():
                stopped = True
                break
            have = rows_existing(dispatch=dispatch, profiles=batch)
            resolved = {profile_id for profile_id, _ in have}
            whole = True  # every row of the page handled
            for plan in plans:
                # A chunk's rows are created just before it is sent, while the chunk
                # before it is still at the adapter.
                todo = [p for p in batch if (p.pk, plan.channel) not in have]
                for start in range(0, len(todo), chunk):
                    if stopped or out_of_time:
                        whole = False
                        break
                    prepared = chunk_prepare(
                        dispatch=dispatch, plan=plan, profiles=todo[start : start + chunk],
                        resolved=resolved,
                    )  # fmt: skip
                    settle()
                    if isinstance(prepared, int):
                        retry += prepared
                    elif stopped:
                        retry += chunk_abandon(prepared, give_up=give_up)
                    else:
                        inflight = InFlight(prepared, give_up=give_up, shard_pk=shard.pk)
                # Rows an earlier run created (a retry, a resend after a lost worker).
                existing = [pid for pid, channel in have if channel == plan.channel]
                if existing:
                    settle()
                last = 0
                while existing:
                    if stopped or out_of_time:
                        whole = False
                        break
                    claimed = deliveries_claim(
                        dispatch_pk=dispatch.pk, channel=plan.channel, profile_ids=existing,
                        after=last, limit=chunk,
                    )
                    if not claimed:
                        break
                    last = claimed[-1].pk
                    retry += deliveries_send(
                        channel=plan.channel, claimed=claimed, give_up=give_up, shard_pk=shard.pk
                    )
                    between_chunks()
            if stopped:
                break
            if not whole:  # out of time in the middle of the page
                settle()
                return _continue_later(shard.pk, after=done_upto)
            done_upto = batch[-1].pk
    finally:
        settle()
    if stopped:
        if Dispatch.objects.filter(pk=dispatch.pk, status__in=Dispatch.FINISHED).exists():
            # Cancelled (or failed) between chunks: what was not sent never will be.
            pending_rows_cancel(dispatch_pk=dispatch.pk, **in_range)
            DispatchShard.objects.filter(pk=shard.pk).update(
                status=DispatchShard.Status.CANCELLED
            )
        return ShardResult(ran=True)
    waiting = Delivery.objects.filter(
        dispatch_id=dispatch.pk,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        **in_range,
    ).exists()
    if (retry or waiting) and not give_up:
        # Rows wait for a retry, or another run holds some: run again later. A row held
        # by a dead worker goes back to pending by the sweeper, which re-enqueues us.
        DispatchShard.objects.filter(pk=shard.pk, status=DispatchShard.Status.RUNNING).update(
            status=DispatchShard.Status.PENDING
        )
        return ShardResult(ran=True, retry=True)
    _shard_done(shard)
    return ShardResult(ran=True, done=True)



def shards_enqueued(shard_pks: list[int]) -> None:
    """Their task messages were just published."""
    if shard_pks:
        DispatchShard.objects.filter(pk__in=shard_pks).update(enqueued_at=timezone.now())


def shards_by_queue(shard_pks: list[int]) -> dict[str, list[int]]:
    """The shards grouped by the queue of their dispatch."""
    grouped: dict[str, list[int]] = {}
    for pk, queue in DispatchShard.objects.filter(pk__in=shard_pks).values_list(
        "pk", "dispatch__queue"
    ):
        grouped.setdefault(queue, []).append(pk)
    return grouped
