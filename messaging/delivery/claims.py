"""Taking rows an earlier run left pending, a chunk at a time, attempt started.

(A run's own new rows need no claim: they are born claimed, messaging.delivery.rows.)
A row is sent only by the run that moved it from `pending` to `sending` in a locked
transaction (`select_for_update(skip_locked=True)` on PostgreSQL; SQLite serializes
writers), so two runs of one dispatch never send one row: the second skips the rows the
first holds. Chunks are small (DELIVERY_CHUNK_SIZE rows), so a worker that dies holds
few rows. The claim marks the attempt started (`attempt_started_at`) in the same
statement, just before the adapter call: from then on the rows may reach the receiver.
If the adapter is never reached, the outcome puts them back to pending with the mark
cleared (outcomes.outcomes_record). A row left in `sending` by a worker that died is the
sweeper's (messaging.delivery.sweeper).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Delivery


def deliveries_claim(
    *, dispatch_pk: int, channel: str, profile_ids: list[int], after: int, limit: int
) -> list[Delivery]:
    """Up to `limit` pending rows of `channel` for these profiles with a pk above `after`,
    now `sending`, attempt started, and ours to send, by ascending pk."""
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
            now = timezone.now()
            Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                status=Delivery.Status.SENDING,
                attempts=F("attempts") + 1,
                attempt_started_at=now,
                updated_at=now,
            )
            for row in claimed:
                row.status, row.attempt_started_at = Delivery.Status.SENDING, now
    return claimed
