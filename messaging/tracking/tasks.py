"""The worker side of tracking: folding raw hits into engagement events."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.core.cache import cache
from kombu.exceptions import OperationalError

from ..access.cache_outage import CacheUnavailable, cache_call
from ..services.tracking import tracking_hits_fold

log = logging.getLogger(__name__)

# At most one fold is queued per this many seconds while hits pour in; the fold then
# takes everything that arrived meanwhile. The periodic fold (config/celery.py) is the
# safety net for a queued fold that was lost.
FOLD_DELAY_SECONDS = 1
_FOLD_PENDING = "tracking:fold-pending"


@shared_task(acks_late=True)
def tracking_hits_fold_task() -> int:
    return tracking_hits_fold()


class _Throttle:
    """When this process last asked for a fold: within FOLD_DELAY_SECONDS it need not ask
    again (a fold it queued is still to come), which keeps Redis off most hits."""

    next_ask = 0.0


def fold_soon() -> None:
    """Ask a worker to fold the hits soon, without making the request wait for it."""
    if tracking_hits_fold_task.app.conf.task_always_eager:
        # No worker (tests, the in-process default): fold now, so results are current.
        tracking_hits_fold_task.apply()
        return
    now = time.monotonic()
    if now < _Throttle.next_ask:
        return
    _Throttle.next_ask = now + FOLD_DELAY_SECONDS
    try:
        first = cache_call(
            "queueing a tracking fold",
            lambda: cache.add(_FOLD_PENDING, 1, timeout=FOLD_DELAY_SECONDS))
    except CacheUnavailable:
        # Redis (cache and broker) is down: the hit is stored, and the periodic fold
        # takes it once Redis is back. The pixel still answers at once.
        return
    if not first:
        return  # a fold is already queued and will take this hit too
    try:
        tracking_hits_fold_task.apply_async(countdown=FOLD_DELAY_SECONDS, retry=False)
    except (OperationalError, OSError):
        log.warning("broker unreachable; tracking hits wait for the periodic fold")
