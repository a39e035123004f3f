"""A delivery becomes engagement events: the one place that says how.

The delivery code (sent, delivered, bounced, failed), the tracking links (opens, clicks,
unsubscribes), provider callbacks (SMS receipts) and `/engagement/track` all describe
what happened to one delivery; each builds its events here, so every event of a delivery
carries the same campaign, variation, send, dispatch and profile.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from analytics.services import engagement_record_many

from ..models import Delivery


def delivery_event(
    delivery: Delivery,
    *,
    kind: str,
    dedupe_key: str,
    occurred_at: datetime | None = None,
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One engagement event of `delivery`, as `engagement_record_many` takes it."""
    return {
        "kind": kind,
        "channel": delivery.channel,
        "dedupe_key": dedupe_key[:128],
        "campaign_id": delivery.campaign_id,
        "variation_id": delivery.variation_id,
        "send_id": delivery.send_id,
        "dispatch_id": delivery.dispatch_id,
        "delivery_id": delivery.pk,
        "profile_id": delivery.profile_id,
        "occurred_at": occurred_at,
        "properties": properties,
    }


def delivery_events_record(
    delivery: Delivery,
    kinds: Iterable[str],
    properties: dict[str, Any] | None = None,
    *,
    dedupe_prefix: str = "",
    occurred_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """Record events of `delivery`, one per kind, each at most once; returns those new.

    `dedupe_prefix` keeps events from another source (e.g. SMS status callbacks) apart
    from the delivery code's own for the same delivery and kind.
    """
    return engagement_record_many(
        events=[
            delivery_event(
                delivery,
                kind=kind,
                dedupe_key=f"{dedupe_prefix}{delivery.message_id}:{kind}",
                occurred_at=occurred_at,
                properties=properties,
            )
            for kind in kinds
        ]
    )
