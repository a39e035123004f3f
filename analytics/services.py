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


def custom_event_record(
    *, profile_id: int, name: str, time: datetime, properties: dict[str, Any] | None = None,
    app_id: str = "",
):
    """Record a custom event from /users/track (conversion matching: results issue)."""
    from .models import CustomEvent

    return CustomEvent.objects.create(
        profile_id=profile_id, name=name, time=time, properties=properties or {}, app_id=app_id
    )


def purchase_record(
    *, profile_id: int, product_id: str, currency: str, price, quantity: int, time: datetime,
    properties: dict[str, Any] | None = None, app_id: str = "",
):
    """Record a purchase as `quantity` rows of quantity 1 (spec §3.4)."""
    from .models import Purchase

    return Purchase.objects.bulk_create(
        Purchase(profile_id=profile_id, product_id=product_id, currency=currency, price=price,
                 time=time, properties=properties or {}, app_id=app_id)
        for _ in range(quantity)
    )


def app_session_record(*, profile_id: int, time: datetime, app_id: str = "", app_version: str = ""):
    """An app session (and maybe a new app version) reported for a profile (results issue)."""
    return None
