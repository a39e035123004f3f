"""What a tracking link records: opens, clicks and unsubscribes of one delivery."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from analytics.models import EngagementEvent
from analytics.services import engagement_record_many

from ..models import Delivery, SubscriptionState
from .delivery_events import delivery_event
from .profiles import profile_email_unsubscribe

# Opens this soon after sending are scanners or prefetchers, not people.
MACHINE_OPEN_DELAY = timedelta(seconds=5)
# Privacy proxies and security scanners fetch every image without a person reading.
# Apple Mail Privacy Protection presents a bare "Mozilla/5.0"; Google's image proxy
# ("GoogleImageProxy") fetches when a person opens, so it still counts as human.
_MACHINE_AGENTS = re.compile(
    r"(bot\b|crawler|spider|barracuda|mimecast|proofpoint|symantec|messagelabs|"
    r"microsoft office protection|safelinks|yahoomailproxy|preview)", re.IGNORECASE)
_BARE_MOZILLA = re.compile(r"^\s*Mozilla/5\.0\s*$")


def tracked_delivery(message_id: str) -> Delivery | None:
    return Delivery.objects.select_related("profile").filter(message_id=message_id).first()


def _record(delivery: Delivery, kind: str, dedupe_key: str, **properties: object) -> None:
    engagement_record_many(events=[delivery_event(
        delivery, kind=kind, dedupe_key=dedupe_key, occurred_at=timezone.now(),
        properties=properties)])


def is_machine_open(delivery: Delivery, user_agent: str) -> bool:
    if _MACHINE_AGENTS.search(user_agent) or _BARE_MOZILLA.match(user_agent):
        return True
    return delivery.sent_at is not None and timezone.now() - delivery.sent_at < MACHINE_OPEN_DELAY


def open_record(*, delivery: Delivery, user_agent: str) -> None:
    """An open pixel was fetched: an open, or a machine open (scanner, privacy proxy)."""
    profile = delivery.profile
    if profile is not None and profile.email_open_tracking_disabled:
        return
    user_agent = user_agent[:300]
    kind = (EngagementEvent.Kind.MACHINE_OPEN if is_machine_open(delivery, user_agent)
            else EngagementEvent.Kind.OPEN)
    # Every fetch is an open (total opens); uniqueness is counted by the rollups.
    _record(delivery, kind, f"{delivery.message_id}:open:{uuid.uuid4().hex}",
            user_agent=user_agent)


def click_record(*, delivery: Delivery, link_index: object, url: str) -> None:
    profile = delivery.profile
    if profile is not None and profile.email_click_tracking_disabled:
        return
    _record(delivery, EngagementEvent.Kind.CLICK,
            f"{delivery.message_id}:click:{uuid.uuid4().hex}",
            link_index=link_index, url=url[:500])


def is_unsubscribed(delivery: Delivery) -> bool:
    profile = delivery.profile
    return profile is not None and profile.email_subscribe == SubscriptionState.UNSUBSCRIBED


def unsubscribe_record(*, delivery: Delivery) -> None:
    """The reader confirmed: unsubscribe the profile (once) and count the unsubscribe."""
    profile = delivery.profile
    with transaction.atomic():
        if profile is not None and not is_unsubscribed(delivery):
            # Also remembered by address, so GET /email/unsubscribes lists it.
            profile_email_unsubscribe(profile=profile)
        _record(delivery, EngagementEvent.Kind.UNSUBSCRIBE, f"{delivery.message_id}:unsubscribe")
