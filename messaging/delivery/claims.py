"""Taking the rows a run may send.

A row is sent only by the run that moved it from `pending` to `sending` in a locked
transaction (`select_for_update(skip_locked=True)`), so two runs of one dispatch never
send one row: the second skips the rows the first holds. A row left in `sending` by a
worker that died is the sweeper's (messaging.delivery.sweeper).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Delivery, Dispatch, Profile


def deliveries_claim(
    *, dispatch: Dispatch, channel: str, profiles: list[Profile]
) -> list[Delivery]:
    """The pending rows of `channel` for these profiles, now `sending` and ours to send."""
    with transaction.atomic():
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(
                dispatch=dispatch,
                channel=channel,
                profile__in=profiles,
                status=Delivery.Status.PENDING,
            )
            .order_by("pk")
        )
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            status=Delivery.Status.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
        )
    return claimed
