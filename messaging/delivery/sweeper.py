"""Dispatches and rows that lost their worker: found by the periodic sweep (messaging.tasks).

- A dispatch still `queued` long after it was accepted lost its task message (the broker
  was down): it is enqueued again.
- A row left in `sending` was claimed by a worker that died mid-send. Whether the
  provider got it is unknown, so it is failed rather than sent a second time, and its
  dispatch is enqueued again to deliver the rest and finish.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Delivery, Dispatch
from ..services.delivery_events import delivery_events_record
from .outcomes import dispatch_progress_update

log = logging.getLogger(__name__)

ABANDONED_ERROR = "worker lost during send; not retried to avoid a duplicate"


def dispatches_stranded(*, older_than: timedelta) -> list[int]:
    """Dispatches still queued after `older_than`: their task was lost (broker down)."""
    return list(
        Dispatch.objects.filter(
            status=Dispatch.Status.QUEUED, created_at__lt=timezone.now() - older_than
        ).values_list("pk", flat=True)[:1000]
    )


def deliveries_abandoned_fail(*, older_than: timedelta, limit: int = 5000) -> set[int]:
    """Fail rows left in `sending` longer than `older_than`; returns their dispatches' pks.

    The worker that claimed them died mid-send, so whether the provider got the message is
    unknown: failing them may lose one message, resending could deliver it twice. A worker
    that was only slow and answers later still records its real outcome (a final one wins;
    a "retry later" cannot bring the row back, see outcomes.delivery_record_outcome).
    """
    now = timezone.now()
    dispatch_pks: set[int] = set()
    with transaction.atomic():
        # skip_locked: two sweepers at once split the rows instead of failing them twice.
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.SENDING, updated_at__lt=now - older_than)
            .order_by("pk")[:limit]
        )
        Delivery.objects.filter(
            pk__in=[row.pk for row in rows], status=Delivery.Status.SENDING
        ).update(status=Delivery.Status.FAILED, error=ABANDONED_ERROR, updated_at=now)
        for row in rows:
            delivery_events_record(row, ("failed",), {"reason": ABANDONED_ERROR})
            dispatch_pks.add(row.dispatch_id)
    for dispatch in Dispatch.objects.filter(pk__in=dispatch_pks):
        dispatch_progress_update(dispatch=dispatch)
    if rows:
        log.warning("failed %d deliveries abandoned in sending by a lost worker", len(rows))
    return dispatch_pks


def dispatches_unfinished(*, pks: set[int]) -> list[int]:
    """Those of `pks` that are neither done nor failed."""
    return list(
        Dispatch.objects.filter(pk__in=pks)
        .exclude(status__in=[Dispatch.Status.DONE, Dispatch.Status.FAILED])
        .values_list("pk", flat=True)
    )
