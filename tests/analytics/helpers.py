"""Builders for analytics tests: campaigns, profiles, and messages sent as the pipeline does."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from analytics.services import engagement_record
from campaigns.models import Campaign, ConversionEvent, MessageVariation
from messaging.models import Delivery, Dispatch, Profile


def make_campaign(name: str = "Order shipped", variations=(("email", "Variant 1"),),
                  conversions=()) -> Campaign:
    """conversions: (kind, {"custom_event_name": ..., "product_id": ..., "window": timedelta})."""
    campaign = Campaign.objects.create(name=name, status=Campaign.Status.ACTIVE)
    for position, (channel, variant) in enumerate(variations):
        MessageVariation.objects.create(campaign=campaign, channel=channel, name=variant,
                                        position=position)
    for position, (kind, extra) in enumerate(conversions):
        ConversionEvent.objects.create(campaign=campaign, position=position, kind=kind, **extra)
    return campaign


def make_profile(external_id: str, email: str = "") -> Profile:
    return Profile.objects.create(external_id=external_id,
                                  email=email or f"{external_id}@example.test")


def send(variation: MessageVariation, profile: Profile, *, sent_at: datetime | None = None,
         send_id: str = "", dispatch: Dispatch | None = None) -> Delivery:
    """A delivery and its `sent` event, recorded the way the dispatch pipeline records them."""
    sent_at = sent_at or timezone.now() - timedelta(minutes=5)
    dispatch = dispatch or Dispatch.objects.create(campaign=variation.campaign, send_id=send_id)
    delivery = Delivery.objects.create(
        dispatch=dispatch, profile=profile, channel=variation.channel,
        campaign=variation.campaign, variation=variation, send_id=send_id,
        status=Delivery.Status.SENT, address=profile.email, sent_at=sent_at,
    )
    record(delivery, "sent", occurred_at=sent_at)
    return delivery


def record(delivery: Delivery, kind: str, *, occurred_at: datetime | None = None,
           key: str | None = None):
    return engagement_record(
        kind=kind, channel=delivery.channel,
        dedupe_key=key or f"{delivery.message_id}:{kind}",
        campaign_id=delivery.campaign_id, variation_id=delivery.variation_id,
        send_id=delivery.send_id, dispatch_id=delivery.dispatch_id, delivery_id=delivery.pk,
        profile_id=delivery.profile_id, occurred_at=occurred_at or timezone.now(),
    )
