"""Cancelling a dispatch: what was not sent yet never will be; what went out stays.

The dispatch and its unfinished shards become `cancelled`; its pending rows become
`skipped` with the error "cancelled" (and a `skipped` event each, recorded in batches).
Rows a worker is sending at that moment finish and are recorded as they come back;
shards stop between chunks (their heartbeat finds them cancelled), and the profiles they
had not reached get no row at all (rows are created a chunk at a time, just before the
chunk is sent).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from analytics.models import EngagementEvent
from analytics.services import engagement_record_many

from ..models import Delivery, Dispatch, DispatchShard
from ..services.delivery_events import delivery_event

CANCELLED = "cancelled"
BATCH = 1000


def pending_rows_cancel(*, dispatch_pk: int, **profile_range: int) -> int:
    """Skip the dispatch's pending rows (those of a profile range: profile_id__gt/__lte);
    returns how many."""
    total = 0
    kind = EngagementEvent.Kind.SKIPPED
    while True:
        with transaction.atomic():
            rows = list(
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(dispatch_id=dispatch_pk, status=Delivery.Status.PENDING, **profile_range)
                .only(
                    "pk", "message_id", "channel", "campaign_id", "variation_id", "send_id",
                    "dispatch_id", "profile_id",
                )
                .order_by("pk")[:BATCH]
            )
            if not rows:
                return total
            skipped = Delivery.objects.filter(
                pk__in=[r.pk for r in rows], status=Delivery.Status.PENDING
            ).update(status=Delivery.Status.SKIPPED, error=CANCELLED, updated_at=timezone.now())
            engagement_record_many(
                events=[
                    delivery_event(
                        r, kind=kind, dedupe_key=f"{r.message_id}:{kind}",
                        properties={"reason": CANCELLED},
                    )
                    for r in rows
                ]
            )
            Dispatch.objects.filter(pk=dispatch_pk).update(
                skipped_count=F("skipped_count") + skipped
            )
            total += skipped


def dispatch_cancel(*, dispatch_pk: int) -> bool:
    """Cancel a queued or running dispatch; False when it had finished already."""
    now = timezone.now()
    if not Dispatch.objects.filter(
        pk=dispatch_pk, status__in=[Dispatch.Status.QUEUED, Dispatch.Status.RUNNING]
    ).update(status=Dispatch.Status.CANCELLED, cancelled_at=now, finished_at=now):
        return False
    DispatchShard.objects.filter(
        dispatch_id=dispatch_pk,
        status__in=[DispatchShard.Status.PENDING, DispatchShard.Status.RUNNING],
    ).update(status=DispatchShard.Status.CANCELLED)
    pending_rows_cancel(dispatch_pk=dispatch_pk)
    return True
