"""What lost its worker or its task message, found by the periodic sweep (messaging.tasks).

Liveness is judged by heartbeats, never by age alone: a worker keeps `updated_at` of
the rows it is sending and `heartbeat_at` of its shard fresh (every
DELIVERY_HEARTBEAT_SECONDS, even while a slow receiver holds the connection), so only
one silent for DELIVERY_STALE_SECONDS is taken as dead.

- A `sending` row with a stale heartbeat goes back to `pending`. Never attempted
  (`attempt_started_at` unset), it is simply sent; attempted, it may have reached the
  receiver, so it is *resent with the same message_id* (the receiver can drop the
  duplicate) and counted (`Delivery.resends`, `Dispatch.resent_count`). Its shard is
  reopened and enqueued.
- A `running` shard with a stale heartbeat goes back to `pending` and is enqueued.
- A shard or dispatch whose task message never reached the broker (`enqueued_at` unset,
  `needs_enqueue`), or that the broker lost (a Redis restart without persistence, told
  by the task layer), is enqueued again; a dispatch queued for long is too (last resort).
- A dispatch whose shards are all done but which was not marked done (its worker died
  in between) is finished.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from ..models import Delivery, Dispatch, DispatchShard
from .shards import dispatch_finish_if_done

log = logging.getLogger(__name__)

RESENT_NOTE = "worker lost during send; resent with the same message ID"


def deliveries_stale_release(*, stale_after: timedelta, limit: int = 5000) -> dict[int, set[int]]:
    """Put `sending` rows whose heartbeat is older than `stale_after` back to pending;
    returns {dispatch pk: profile pks} of the rows released."""
    stale = timezone.now() - stale_after
    touched: dict[int, set[int]] = defaultdict(set)
    with transaction.atomic():
        # skip_locked: two sweepers at once split the rows instead of releasing them twice.
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.SENDING, updated_at__lt=stale)
            .only("pk", "dispatch_id", "profile_id", "attempt_started_at")
            .order_by("pk")[:limit]
        )
        if not rows:
            return {}
        started = [r.pk for r in rows if r.attempt_started_at is not None]
        never = [r.pk for r in rows if r.attempt_started_at is None]
        now = timezone.now()
        resent = Delivery.objects.filter(pk__in=started, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.PENDING,
            resends=F("resends") + 1,
            attempt_started_at=None,
            error=RESENT_NOTE,
            updated_at=now,
        )
        Delivery.objects.filter(pk__in=never, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.PENDING, updated_at=now
        )
        per_dispatch: dict[int, int] = defaultdict(int)
        for row in rows:
            touched[row.dispatch_id].add(row.profile_id)
            per_dispatch[row.dispatch_id] += row.attempt_started_at is not None
        for dispatch_pk, count in per_dispatch.items():
            if count:
                Dispatch.objects.filter(pk=dispatch_pk).update(
                    resent_count=F("resent_count") + count
                )
    log.warning(
        "released %d deliveries of a lost worker (%d attempted: resent with the same ID)",
        len(rows), resent,
    )
    return dict(touched)


def shards_reopen(touched: dict[int, set[int]]) -> list[int]:
    """The shards holding released rows, pending again (a done one reopens its dispatch);
    returns the pks of those to enqueue."""
    todo: list[int] = []
    for dispatch_pk, profile_ids in touched.items():
        ids = sorted(pid for pid in profile_ids if pid is not None)
        if not ids:
            continue
        query = Q()
        for pid in ids:
            query |= Q(pk_from__lt=pid, pk_to__gte=pid)
        with transaction.atomic():
            shards = list(
                DispatchShard.objects.select_for_update()
                .filter(query, dispatch_id=dispatch_pk)
                .exclude(status=DispatchShard.Status.CANCELLED)
            )
            reopened_done = 0
            for shard in shards:
                if shard.status == DispatchShard.Status.RUNNING:
                    continue  # alive: it finds the rows pending when it looks again
                reopened_done += shard.status == DispatchShard.Status.DONE
                DispatchShard.objects.filter(pk=shard.pk).update(
                    status=DispatchShard.Status.PENDING, finished_at=None
                )
                todo.append(shard.pk)
            if reopened_done:
                Dispatch.objects.filter(pk=dispatch_pk).update(
                    shards_done=F("shards_done") - reopened_done
                )
                Dispatch.objects.filter(pk=dispatch_pk, status=Dispatch.Status.DONE).update(
                    status=Dispatch.Status.RUNNING, finished_at=None
                )
    return todo


def shards_stale_release(*, stale_after: timedelta) -> list[int]:
    """Running shards whose heartbeat is older than `stale_after`: back to pending."""
    stale = timezone.now() - stale_after
    pks = list(
        DispatchShard.objects.filter(
            status=DispatchShard.Status.RUNNING, heartbeat_at__lt=stale
        ).values_list("pk", flat=True)[:1000]
    )
    DispatchShard.objects.filter(
        pk__in=pks, status=DispatchShard.Status.RUNNING, heartbeat_at__lt=stale
    ).update(status=DispatchShard.Status.PENDING)
    return pks


def shards_unqueued(*, broker_lost: bool, older_than: timedelta) -> list[int]:
    """Pending shards with no task message: never published, lost by the broker, or
    published longer ago than `older_than` (a last resort)."""
    query = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=timezone.now() - older_than)
    if broker_lost:
        query = Q()
    return list(
        DispatchShard.objects.filter(query, status=DispatchShard.Status.PENDING)
        .exclude(dispatch__status__in=Dispatch.FINISHED)
        .values_list("pk", flat=True)[:5000]
    )


def dispatches_stranded(*, older_than: timedelta, broker_lost: bool = False) -> list[int]:
    """Dispatches whose task message was lost: not published (the broker was down at
    accept time), lost by the broker, still queued after `older_than`, or running but
    never planned (the planner died) for as long."""
    cutoff = timezone.now() - older_than
    lost = Q() if broker_lost else Q(needs_enqueue=True) | Q(created_at__lt=cutoff)
    queued = Q(status=Dispatch.Status.QUEUED) & lost
    unplanned = Q(status=Dispatch.Status.RUNNING, planned_at__isnull=True, started_at__lt=cutoff)
    return list(
        Dispatch.objects.filter(queued | unplanned).order_by("pk").values_list("pk", flat=True)[
            :1000
        ]
    )


def dispatches_finish() -> int:
    """Running dispatches whose shards are all done: done (their last worker died between
    its shard and the dispatch)."""
    pks = list(
        Dispatch.objects.filter(
            status=Dispatch.Status.RUNNING,
            planned_at__isnull=False,
            shards_done__gte=F("shards_total"),
        ).values_list("pk", flat=True)[:1000]
    )
    return sum(dispatch_finish_if_done(pk) for pk in pks)


def shard_counts(dispatch_pk: int) -> dict[str, int]:
    return dict(
        DispatchShard.objects.filter(dispatch_id=dispatch_pk)
        .values_list("status")
        .annotate(n=Count("pk"))
    )


def dispatches_enqueued(pks: list[int]) -> None:
    """Their task messages were published again: no longer waiting for the sweeper."""
    Dispatch.objects.filter(pk__in=pks, needs_enqueue=True).update(needs_enqueue=False)
