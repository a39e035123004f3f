"""Recording what happened. Messaging calls these; they never call messaging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import EngagementEvent


def engagement_record(
    *,
    kind: str,
    channel: str,
    dedupe_key: str,
    campaign_id: int | None = None,
    variation_id: int | None = None,
    send_id: str = "",
    dispatch_id: int | None = None,
    delivery_id: int | None = None,
    profile_id: int | None = None,
    occurred_at: datetime | None = None,
    properties: dict[str, Any] | None = None,
) -> EngagementEvent | None:
    """Record one engagement event; return None when it was already recorded.

    IDs are primary keys of the rows concerned (internal; never shown to users).
    """
    try:
        with transaction.atomic():
            return EngagementEvent.objects.create(
                kind=kind,
                channel=channel,
                dedupe_key=dedupe_key,
                campaign_id=campaign_id,
                variation_id=variation_id,
                send_id=send_id,
                dispatch_id=dispatch_id,
                delivery_id=delivery_id,
                profile_id=profile_id,
                occurred_at=occurred_at or timezone.now(),
                properties=properties or {},
            )
    except IntegrityError:
        return None
