"""Taking the rows a run may send, a chunk at a time, and marking their attempt started.

A row is sent only by the run that moved it from `pending` to `sending` in a locked
transaction (`select_for_update(skip_locked=True)` on PostgreSQL; SQLite serializes
writers), so two runs of one dispatch never send one row: the second skips the rows the
first holds. Chunks are small (DELIVERY_CHUNK_SIZE rows), so a worker that dies holds
few rows. Just before the adapter call, the chunk is marked "attempt started"
(`attempt_started_at`): a row found in `sending` without it was never handed to a
provider. A row left in `sending` by a worker that died is the sweeper's
(messaging.delivery.sweeper).
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Delivery


def deliveries_claim(
    *, dispatch_pk: int, channel: str, profile_ids: list[int], after: int, limit: int
) -> list[Delivery]:
    """Up to `limit` pending rows of `channel` for these profiles with a pk above `after`,
    now `sending` and ours to send, by ascending pk."""
    with transaction.atomic():
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(
                dispatch_id=dispatch_pk,
                channel=channel,
                profile_id__in=profile_ids,
                status=Delivery.Status.PENDING,
                pk__gt=after,
            )
            .order_by("pk")[:limit]
        )
        if claimed:
            Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                status=Delivery.Status.SENDING,
                attempts=F("attempts") + 1,
                updated_at=timezone.now(),
            )
    return claimed


def deliveries_claim_created(rows: list[Delivery]) -> list[Delivery]:
    """Claim rows this run has just created (still pending): one conditional UPDATE, no
    read, as the rows are in memory already; returns those now ours, in order."""
    if not rows:
        return []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_delivery SET status = %s, attempts = attempts + 1,"
            " updated_at = %s WHERE id IN (" + ", ".join(["%s"] * len(rows)) + ")"
            " AND status = %s RETURNING id",
            [Delivery.Status.SENDING, now, *[row.pk for row in rows], Delivery.Status.PENDING],
        )
        ours = {pk for (pk,) in cursor.fetchall()}
    claimed = [row for row in rows if row.pk in ours]
    for row in claimed:
        row.status = Delivery.Status.SENDING
    return claimed


def attempt_start(pks: list[int]) -> None:
    """The rows are about to be handed to their adapter (after this, maybe received)."""
    now = timezone.now()
    Delivery.objects.filter(pk__in=pks, status=Delivery.Status.SENDING).update(
        attempt_started_at=now, updated_at=now
    )
