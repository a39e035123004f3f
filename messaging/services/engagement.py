"""Engagement reported by apps and providers (POST /engagement/track), recorded in analytics.

Push opens, content card impressions/clicks/dismissals, SMS delivery receipts and
replies, spam complaints, webhook receipts, and app sessions (which may convert). Every
message, card and user is looked up before anything is recorded: one unknown item refuses
the whole report (UnknownEngagementTarget), which then leaves no trace.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analytics.services import app_sessions_record, engagement_record_many

from ..errors import UnknownEngagementTarget
from ..models import ContentCard, Delivery, EmailSuppression, Profile
from ..schemas.engagement import MESSAGE_EVENTS, AppSession, EngagementItem, MessageEvent
from .delivery_events import delivery_event
from .email_hygiene import email_suppressions_record

# Provider reports that suppress the address (email hygiene, issue 16).
_SUPPRESSING = {"email_bounce": EmailSuppression.Reason.HARD_BOUNCE,
                "email_spam": EmailSuppression.Reason.SPAM}


def _when(moment: datetime | None) -> datetime:
    if moment is None:
        return timezone.now()
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment


class _Targets:
    """The deliveries, cards and profiles a report names, read with one query each."""

    def __init__(self, events: list[EngagementItem]) -> None:
        messages = [e for e in events if isinstance(e, MessageEvent)]
        sessions = [e for e in events if isinstance(e, AppSession)]
        message_ids = {e.message_id for e in messages if e.message_id}
        card_ids = {e.card_id for e in messages if e.card_id}
        self.deliveries = {d.message_id: d
                           for d in Delivery.objects.filter(message_id__in=message_ids)}
        self.cards = {c.card_id: c for c in ContentCard.objects.select_related("delivery")
                      .filter(card_id__in=card_ids, delivery__isnull=False)}
        external_ids = {e.external_id for e in sessions if e.external_id}
        braze_ids = {e.braze_id for e in sessions if e.braze_id}
        self.profiles: dict[tuple[str, str], int] = {}
        for profile in Profile.objects.filter(
            Q(external_id__in=external_ids) | Q(braze_id__in=braze_ids)
        ).only("pk", "external_id", "braze_id"):
            self.profiles[("external_id", profile.external_id)] = profile.pk
            self.profiles[("braze_id", profile.braze_id)] = profile.pk

    def delivery(self, event: MessageEvent) -> Delivery | None:
        if event.card_id:
            card = self.cards.get(event.card_id)
            return card.delivery if card else None
        return self.deliveries.get(event.message_id)


def engagement_track(*, events: list[EngagementItem]) -> int:
    """Record a validated report; return how many events were recorded (not deduplicated).

    One-time events (a push open, a receipt, a dismissal) count once per message, and
    repeatable ones (impressions, clicks) once per reporter `id` when given.
    """
    targets = _Targets(events)
    errors: list[str] = []
    records = []
    sessions: list[dict[str, Any]] = []
    suppress: list[tuple[str, str, datetime]] = []
    for index, event in enumerate(events):
        when = _when(event.time)
        if isinstance(event, AppSession):
            field = "external_id" if event.external_id else "braze_id"
            profile_id = targets.profiles.get((field, getattr(event, field)))
            if profile_id is None:
                errors.append(f"events[{index}].{field}: no such user")
            else:
                sessions.append({"profile_id": profile_id, "time": when,
                                 "app_id": event.app_id, "app_version": event.app_version})
            continue
        delivery = targets.delivery(event)
        if delivery is None:
            what = ("card_id: no such content card" if event.card_id
                    else "message_id: no such message")
            errors.append(f"events[{index}].{what}")
            continue
        kind, once = MESSAGE_EVENTS[event.type]
        if event.type in _SUPPRESSING and delivery.address:
            suppress.append((delivery.address, _SUPPRESSING[event.type], when))
        suffix = "" if once else f":{event.id or when.isoformat()}"
        records.append(delivery_event(
            delivery, kind=kind, dedupe_key=f"{delivery.message_id}:{kind}{suffix}",
            occurred_at=when, properties={"reported_as": event.type}))
    if errors:
        raise UnknownEngagementTarget(*errors)

    with transaction.atomic():
        recorded = engagement_record_many(events=records)
        app_sessions_record(sessions=sessions)
        _cards_mark(events)
        for address, reason, when in suppress:  # the provider's word: stop emailing it
            email_suppressions_record(emails=[address], reason=reason,
                                      source="engagement: /engagement/track", at=when)
    return len(recorded) + len(sessions)


# A card's own state, as its feed shows it: first seen, first clicked, dismissed (gone).
_CARD_STATE = {"card_impression": "viewed_at", "card_click": "clicked_at",
               "card_dismissal": "dismissed_at"}


def _cards_mark(events: list[EngagementItem]) -> None:
    """Set each reported card's first view, click or dismissal (a dismissed card leaves the
    feed); a later report of the same kind changes nothing."""
    firsts: dict[tuple[str, str], datetime] = {}
    for event in events:
        if isinstance(event, MessageEvent) and event.card_id and event.type in _CARD_STATE:
            key = (_CARD_STATE[event.type], event.card_id)
            firsts[key] = min(firsts.get(key, _when(event.time)), _when(event.time))
    for (column, card_id), when in sorted(firsts.items()):
        ContentCard.objects.filter(card_id=card_id, **{f"{column}__isnull": True}).update(
            **{column: when})
