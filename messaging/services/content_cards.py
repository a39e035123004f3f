"""Content cards in profiles' feeds: stored by a send (messaging.delivery.feed), read by
the feed endpoints."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from config.api.times import parse_time

from ..models import ContentCard, Delivery, Profile

URI_FIELDS = ("ios_uri", "android_uri", "web_uri", "ios_use_webview", "android_use_webview")
MAX_TIME_TO_LIVE = 30 * 24 * 3600  # seconds: a card lives at most 30 days


def content_card_expiry(message: dict[str, Any], *, now: datetime | None = None) -> datetime:
    """When a card sent now expires: `expire_at`, or now + `time_to_live` (≤ 30 days)."""
    now = now or timezone.now()
    if message.get("expire_at"):
        try:
            value = parse_time(str(message["expire_at"]))
        except ValueError:
            value = None  # validated when the send was accepted; never seen
        if value is not None and value.tzinfo is not None:
            return min(value, now + timedelta(seconds=MAX_TIME_TO_LIVE))
    ttl = int(message.get("time_to_live") or MAX_TIME_TO_LIVE)
    return now + timedelta(seconds=min(ttl, MAX_TIME_TO_LIVE))


def content_card_create(*, message_id: str, payload: dict[str, Any]) -> ContentCard | None:
    """Store the card of one delivery (once), or None when its profile is gone."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(message_id=message_id).first()
        if delivery is None or delivery.profile_id is None:
            return None
        existing = ContentCard.objects.filter(delivery=delivery).first()
        if existing is not None:
            return existing
        card = ContentCard(
            delivery=delivery,
            profile_id=delivery.profile_id,
            campaign_id=delivery.campaign_id,
            variation_id=delivery.variation_id,
            type=payload.get("type", "CLASSIC"),
            title=payload.get("title", ""),
            description=payload.get("description", ""),
            image_url=payload.get("image_url", ""),
            url=payload.get("web_uri")
            or payload.get("ios_uri")
            or payload.get("android_uri")
            or "",
            uri_text=payload.get("uri_text", ""),
            uris={k: payload[k] for k in URI_FIELDS if k in payload},
            pinned=bool(payload.get("pinned", False)),
            extras=payload.get("extra") or {},
            expires_at=content_card_expiry(payload),
        )
        card.full_clean(exclude=["delivery", "profile"])
        card.save()
        return card


def content_card_feed(*, profile: Profile) -> QuerySet[ContentCard]:
    """The cards a profile sees now: not expired, not dismissed; pinned first, newest first."""
    return (
        ContentCard.objects.filter(profile=profile, dismissed_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .select_related("campaign", "variation")
    )


def content_card_json(card: ContentCard) -> dict[str, Any]:
    return {
        "id": card.card_id,
        "type": card.type,
        "title": card.title,
        "description": card.description,
        "image_url": card.image_url or None,
        "url": card.url or None,
        "uri_text": card.uri_text or None,
        **card.uris,
        "pinned": card.pinned,
        "extra": card.extras,
        "campaign_id": card.campaign.campaign_id if card.campaign else None,
        "message_variation_id": card.variation.message_variation_id if card.variation else None,
        "created_at": card.created_at.isoformat(),
        "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        "viewed": card.viewed_at is not None,
        "clicked": card.clicked_at is not None,
    }
