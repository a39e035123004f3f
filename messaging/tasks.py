"""Celery tasks of messaging. A task takes ids and calls the delivery code
(messaging.delivery) — nothing else.

Queues (config/settings.py): `dispatch_deliver_task` plans a dispatch on `transactional`
(it is quick) and runs a small dispatch's only shard itself; the shards of broadcasts and
segments are `dispatch_shard_task`s on `bulk`; the sweep has its own `sweeper` queue, so
it never waits behind a backlog.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from kombu.exceptions import OperationalError

from . import ops
from .delivery.shards import dispatch_plan, shard_run, shards_by_queue, shards_enqueued
from .delivery.sweeper import (
    deliveries_stale_release,
    dispatches_enqueued,
    dispatches_finish,
    dispatches_stranded,
    shards_reopen,
    shards_stale_release,
    shards_unqueued,
)
from .exports import export_callback, user_export_write
from .models import Dispatch, UserExport
from .services.idempotency import idempotency_records_purge

log = logging.getLogger(__name__)

# Temporary delivery failures (SMTP 4xx, webhook 5xx, network) are retried with
# exponential backoff: 10 s, 20 s, 40 s … capped at 10 minutes, then recorded as final.
MAX_DELIVERY_RETRIES = 6
# A pending shard whose message was published this long ago and never ran is published
# again (a last resort; lost messages are normally caught sooner, see the sweep).
SHARD_REPUBLISH_AFTER = timedelta(minutes=30)
# A key in the broker's Redis database: gone after a restart that lost the queues.
BROKER_MARKER = "herald:broker-marker"
_PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def _backoff(retries: int) -> int:
    return min(600, 10 * 2**retries)


# How the planning and shard tasks run: acknowledged after the work, retried with backoff,
# and the database itself being unreachable is transient too (the whole task is retried).
_DELIVERY_TASK = {
    "bind": True,
    "acks_late": True,
    "max_retries": MAX_DELIVERY_RETRIES,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
}


def shards_publish(shard_pks: list[int], *, queue: str, **options: Any) -> int:
    """Publish one task per shard; returns how many made it to the broker (the others
    keep `enqueued_at` unset, for the sweeper). `options` go to apply_async."""
    published: list[int] = []
    try:
        for shard_pk in shard_pks:
            dispatch_shard_task.apply_async(
                args=[shard_pk], queue=queue, retry=True, retry_policy=_PUBLISH_RETRY, **options
            )
            published.append(shard_pk)
    except (OperationalError, OSError):
        log.warning("broker unreachable; %d shards left for the sweeper",
                    len(shard_pks) - len(published))  # fmt: skip
    shards_enqueued(published)
    return len(published)


@shared_task(**_DELIVERY_TASK)
def dispatch_deliver_task(self, dispatch_pk: int) -> None:
    """Plan a dispatch into shards and start them (safe to run twice: planned once)."""
    plan = dispatch_plan(dispatch_pk=dispatch_pk)
    if plan.finished or not plan.shard_pks:
        return
    if plan.queue == Dispatch.Queue.TRANSACTIONAL and len(plan.shard_pks) == 1:
        # A few listed recipients: sent right here, without a second trip through Redis.
        (shard_pk,) = plan.shard_pks
        if shard_run(shard_pk=shard_pk).retry:
            shards_enqueued([shard_pk])
            dispatch_shard_task.apply_async(
                args=[shard_pk], queue=plan.queue, countdown=_backoff(0), retries=1
            )
        return
    shards_publish(plan.shard_pks, queue=plan.queue)


@shared_task(**_DELIVERY_TASK)
def dispatch_shard_task(self, shard_pk: int, after: int = 0) -> None:
    """Deliver one shard, or the rest of it above `after` (safe to run twice: the shard,
    then each row, is claimed), for one time slice; a continuation does the rest."""
    give_up = self.request.retries >= MAX_DELIVERY_RETRIES
    eager = bool(self.request.is_eager)
    result = shard_run(
        shard_pk=shard_pk,
        give_up=give_up,
        after=after,
        slice_seconds=None if eager else settings.DISPATCH_SHARD_SLICE_SECONDS,
    )
    if result.more:
        # At the back of its queue, with this task's retry count (`give_up` carries over).
        queue = (self.request.delivery_info or {}).get("routing_key") or Dispatch.Queue.BULK
        shards_publish(
            [shard_pk], queue=queue, kwargs={"after": result.after}, retries=self.request.retries
        )
        return
    if not result.retry or give_up:
        return
    if eager:
        # In-process mode (no broker): no worker can wait for a countdown, so the
        # retries run right away, with the same limit.
        for attempt in range((self.request.retries or 0) + 1, MAX_DELIVERY_RETRIES + 1):
            if not shard_run(shard_pk=shard_pk, give_up=attempt == MAX_DELIVERY_RETRIES).retry:
                return
        return
    shards_enqueued([shard_pk])
    raise self.retry(countdown=_backoff(self.request.retries))


def _broker_lost(app) -> bool:  # type: ignore[no-untyped-def]
    """Whether the broker (Redis) lost its queues since the last sweep: its marker key is
    gone, as after a restart without persistence (or the first sweep ever)."""
    if app.conf.task_always_eager:
        return False
    try:
        with app.connection_for_write() as conn:
            if conn.transport.driver_type != "redis":
                return False
            client = conn.default_channel.client
            run_id = str(client.info("server").get("run_id", ""))
            if client.set(BROKER_MARKER, run_id, nx=True):
                log.warning("broker marker missing (Redis %s restarted or flushed): "
                            "re-enqueueing queued work", run_id)  # fmt: skip
                return True
            return False
    except Exception:  # noqa: BLE001 - no broker, no verdict: the other checks still run
        log.warning("broker check failed", exc_info=True)
        return False


def _broker_marker_forget(app) -> None:  # type: ignore[no-untyped-def]
    """Drop the marker again, so the next sweep re-publishes what this one could not."""
    try:
        with app.connection_for_write() as conn:
            conn.default_channel.client.delete(BROKER_MARKER)
    except Exception:  # noqa: BLE001 - the broker is failing already; the next sweep retries
        log.warning("could not drop the broker marker", exc_info=True)


@shared_task(bind=True, acks_late=True)
def dispatch_sweep_task(self) -> int:
    """Keep dispatches moving after lost messages and lost workers; returns how many
    dispatches and shards it enqueued again (messaging.delivery.sweeper says which).

    Also forgets idempotency answers past their 24 hours.
    """
    ops.sweep_mark()
    idempotency_records_purge()
    stale = timedelta(seconds=settings.DELIVERY_STALE_SECONDS)
    broker_lost = _broker_lost(self.app)
    shard_pks = set(shards_reopen(deliveries_stale_release(stale_after=stale)))
    shard_pks |= set(shards_stale_release(stale_after=stale))
    shard_pks |= set(shards_unqueued(broker_lost=broker_lost, older_than=SHARD_REPUBLISH_AFTER))
    dispatches_finish()
    minutes = settings.DISPATCH_SWEEP_AFTER_MINUTES
    stranded = dispatches_stranded(older_than=timedelta(minutes=minutes), broker_lost=broker_lost)
    enqueued = 0
    for dispatch_pk in stranded:
        try:
            dispatch_deliver_task.apply_async(
                args=[dispatch_pk], retry=True, retry_policy=_PUBLISH_RETRY
            )
        except (OperationalError, OSError):
            log.warning("broker unreachable; dispatch %s left for the next sweep", dispatch_pk)
            break
        enqueued += 1
    dispatches_enqueued(stranded[:enqueued])
    complete = enqueued == len(stranded)
    for queue, pks in shards_by_queue(sorted(shard_pks)).items():
        published = shards_publish(pks, queue=queue)
        enqueued += published
        complete = complete and published == len(pks)
    if broker_lost and not complete:
        # The marker was set when the loss was seen: without it the next sweep would not
        # know the queues were lost, and what is still unpublished would wait far longer.
        _broker_marker_forget(self.app)
    return enqueued


@shared_task(bind=True, acks_late=True, max_retries=3, autoretry_for=(DatabaseError,),
             retry_backoff=10)
def user_export_task(self, export_pk: int, url: str) -> None:
    """Write a user export's file, then call its callback_endpoint if it has one."""
    export = UserExport.objects.filter(pk=export_pk).first()
    if export is None:
        return
    export = user_export_write(export=export)
    if export.callback_endpoint:
        export_callback(export=export, url=url)
