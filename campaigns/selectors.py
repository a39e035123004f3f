"""Reads of campaigns for the dashboard pages."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from .models import Campaign, Channel, MessageVariation, Tag

SORTS = {
    "-updated": ("-updated_at", "-id"),
    "updated": ("updated_at", "id"),
    "name": ("name", "id"),
}
DEFAULT_SORT = "-updated"


def campaign_list(
    *,
    search: str = "",
    status: str = "",
    tag: str = "",
    sort: str = DEFAULT_SORT,
) -> QuerySet[Campaign]:
    """Campaigns matching the list filters, with what each row shows prefetched (no N+1)."""
    campaigns = Campaign.objects.prefetch_related(
        "tags",
        Prefetch(
            "variations",
            queryset=MessageVariation.objects.only("campaign_id", "channel", "position"),
        ),
    )
    if search.strip():
        campaigns = campaigns.filter(name__icontains=search.strip())
    if status in Campaign.Status.values:
        campaigns = campaigns.filter(status=status)
    if tag:
        campaigns = campaigns.filter(tags__name=tag)
    return campaigns.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


def campaign_channels(campaign: Campaign) -> list[str]:
    """Channel labels of a campaign's messages, once each, in the order they were added."""
    labels: list[str] = []
    for variation in campaign.variations.all():
        label = Channel(variation.channel).label
        if label not in labels:
            labels.append(label)
    return labels


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.filter(campaigns__isnull=False).distinct().order_by("name")


def campaign_by_public_id(value: str | uuid.UUID | None) -> Campaign | None:
    """The campaign a `campaign_id` names, or None: the one lookup by public ID.

    Anything that is not a UUID (a typo, another system's ID) names no campaign.
    """
    if not value:
        return None
    try:
        api_id = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None
    return Campaign.objects.filter(api_id=api_id).first()


def campaign_get(*, api_id: uuid.UUID) -> Campaign | None:
    """One campaign by its public ID, with everything its page shows."""
    return (
        Campaign.objects.select_related("created_by", "updated_by")
        .prefetch_related("tags", "variations", "conversion_events")
        .filter(api_id=api_id)
        .first()
    )


def variation_ids_with_sends(*, campaign: Campaign) -> set[uuid.UUID]:
    """Public IDs of the campaign's messages that have been sent (not removable)."""
    return set(
        campaign.variations.filter(first_sent_at__isnull=False).values_list("api_id", flat=True)
    )
