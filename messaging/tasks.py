"""Celery tasks of messaging. A task takes ids and calls the delivery code
(messaging.delivery) — nothing else."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from .delivery.run import dispatch_run
from .delivery.sweeper import (
    deliveries_abandoned_fail,
    dispatches_stranded,
    dispatches_unfinished,
)
from .services.idempotency import idempotency_records_purge

# Temporary delivery failures (SMTP 4xx, webhook 5xx, network) are retried with
# exponential backoff: 10 s, 20 s, 40 s … capped at 10 minutes, then recorded as final.
MAX_DELIVERY_RETRIES = 6


def _backoff(retries: int) -> int:
    return min(600, 10 * 2**retries)


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=MAX_DELIVERY_RETRIES,
    # The database itself being unreachable is transient too: retry the whole run.
    autoretry_for=(DatabaseError,),
    retry_backoff=10,
    retry_backoff_max=600,
)
def dispatch_deliver_task(self, dispatch_pk: int) -> None:
    """Deliver a dispatch (safe to run twice: rows are claimed before sending)."""
    give_up = self.request.retries >= MAX_DELIVERY_RETRIES
    result = dispatch_run(dispatch_pk=dispatch_pk, give_up=give_up)
    if result.retry_pending and not give_up:
        if self.request.is_eager:
            # In-process mode (no broker): no worker can wait for a countdown, so the
            # retries run right away, with the same limit.
            for attempt in range(1, MAX_DELIVERY_RETRIES + 1):
                result = dispatch_run(
                    dispatch_pk=dispatch_pk, give_up=attempt == MAX_DELIVERY_RETRIES
                )
                if not result.retry_pending:
                    return
            return
        raise self.retry(countdown=_backoff(self.request.retries))


@shared_task(acks_late=True)
def dispatch_sweep_task() -> int:
    """Keep dispatches moving after lost messages and lost workers; returns how many
    dispatches it re-enqueued.

    - dispatches left queued (their message was lost while the broker was down);
    - deliveries left in `sending` by a worker that died mid-send: failed, never resent,
      and their dispatch re-enqueued so it delivers the rest and finishes;
    - idempotency answers past their 24 hours are forgotten.
    """
    idempotency_records_purge()
    abandoned_after = getattr(settings, "DELIVERY_ABANDONED_AFTER_MINUTES", 15)
    touched = deliveries_abandoned_fail(older_than=timedelta(minutes=abandoned_after))
    minutes = getattr(settings, "DISPATCH_SWEEP_AFTER_MINUTES", 5)
    stranded = set(dispatches_stranded(older_than=timedelta(minutes=minutes)))
    todo = sorted(stranded | set(dispatches_unfinished(pks=touched)))
    for dispatch_pk in todo:
        dispatch_deliver_task.delay(dispatch_pk)
    return len(todo)
