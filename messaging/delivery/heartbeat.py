"""A heartbeat for rows in flight: while an adapter sends a chunk, a small thread touches
the chunk's `updated_at` (and its shard's `heartbeat_at`) every DELIVERY_HEARTBEAT_SECONDS.

The sweeper takes a `sending` row whose heartbeat is older than DELIVERY_STALE_SECONDS
as lost with its worker; a slow receiver only delays the answer, the heartbeat goes on,
and its rows are left alone. The thread waits one interval before its first write, so a
chunk answered quickly costs no write at all.
"""

from __future__ import annotations

import logging
import threading

from django.db import connection
from django.utils import timezone

from ..models import Delivery, DispatchShard

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, *, delivery_pks: list[int], shard_pk: int | None, every: float) -> None:
        self.delivery_pks, self.shard_pk, self.every = delivery_pks, shard_pk, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self.every > 0:
            self._thread = threading.Thread(
                target=self._run, name="delivery-heartbeat", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                self.touch()
        finally:
            connection.close()  # this thread's own connection

    def touch(self) -> None:
        now = timezone.now()
        try:
            Delivery.objects.filter(
                pk__in=self.delivery_pks, status=Delivery.Status.SENDING
            ).update(updated_at=now)
            if self.shard_pk is not None:
                DispatchShard.objects.filter(
                    pk=self.shard_pk, status=DispatchShard.Status.RUNNING
                ).update(heartbeat_at=now)
        except Exception:  # noqa: BLE001 - a missed beat must not break the send
            log.warning("delivery heartbeat failed", exc_info=True)
