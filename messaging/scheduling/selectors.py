"""Reads of scheduled sends: a campaign's Scheduled tab and /messages/scheduled_broadcasts."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from campaigns.models import Campaign

from ..models import ScheduledMessage

# The Scheduled tab shows this many finished schedules (sent, cancelled, not sent).
PAST_SHOWN = 50


def schedule_list(*, campaign: Campaign, pending: bool) -> QuerySet[ScheduledMessage]:
    """A campaign's pending schedules by send time, or its finished ones, newest first."""
    rows = ScheduledMessage.objects.filter(campaign=campaign).select_related("cancelled_by")
    if pending:
        return rows.filter(status__in=ScheduledMessage.PENDING).order_by("send_at", "pk")
    return rows.exclude(status__in=ScheduledMessage.PENDING).order_by("-send_at", "-pk")


def scheduled_campaigns(*, end_time: datetime) -> list[ScheduledMessage]:
    """The next pending schedule of each campaign that has one due by `end_time`, soonest
    first (schedules without a campaign are not campaigns, so not listed)."""
    rows = (
        ScheduledMessage.objects.filter(
            status__in=ScheduledMessage.PENDING, send_at__lte=end_time, campaign__isnull=False
        )
        .select_related("campaign")
        .prefetch_related("campaign__tags")
        .order_by("send_at", "pk")
    )
    first: dict[int, ScheduledMessage] = {}
    for row in rows.iterator(chunk_size=500):
        first.setdefault(row.campaign_id, row)
    return list(first.values())
