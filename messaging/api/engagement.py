"""REST endpoint: engagement reported by apps and providers (`POST /engagement/track`).

Push opens, content card impressions/clicks/dismissals, SMS delivery receipts and
replies, spam complaints, webhook receipts, and app sessions (which may convert). The
whole body is validated, and every message looked up, before anything is recorded: a
bad item fails the request and leaves no trace.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, model_validator

from analytics.models import EngagementEvent
from analytics.services import app_sessions_record, engagement_record_many
from config.api import ApiError, api_response, endpoint

from ..models import ContentCard, Delivery, Permission, Profile
from ..services.delivery_events import delivery_event

Kind = EngagementEvent.Kind

# type in the body -> (event kind, counted once per message?)
MESSAGE_EVENTS: dict[str, tuple[str, bool]] = {
    "push_open": (Kind.DIRECT_OPEN, True),
    "push_delivered": (Kind.DELIVERED, True),
    "push_bounce": (Kind.BOUNCE_HARD, True),
    "card_impression": (Kind.IMPRESSION, False),
    "card_click": (Kind.CLICK, False),
    "card_dismissal": (Kind.DISMISSAL, True),
    "sms_delivered": (Kind.DELIVERED, True),
    "sms_rejected": (Kind.BOUNCE_HARD, True),
    "sms_failed": (Kind.FAILED, True),
    "sms_click": (Kind.CLICK, False),
    "sms_opt_out": (Kind.OPT_OUT, True),
    "sms_help": (Kind.HELP, False),
    "email_delivered": (Kind.DELIVERED, True),
    "email_bounce": (Kind.BOUNCE_HARD, True),
    "email_soft_bounce": (Kind.BOUNCE_SOFT, True),
    "email_spam": (Kind.REPORTED_SPAM, True),
    "webhook_delivered": (Kind.DELIVERED, True),
    "webhook_failed": (Kind.FAILED, True),
}
MAX_EVENTS = 75
# PostgreSQL refuses NUL characters in text: refuse them here, as a 400.
_NO_NUL = r"^[^\x00]*$"


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: datetime | None = None


class MessageEvent(_Item):
    type: Literal[tuple(MESSAGE_EVENTS)]  # type: ignore[valid-type]
    message_id: str | None = Field(None, max_length=32, pattern=_NO_NUL)
    card_id: str | None = Field(None, max_length=32, pattern=_NO_NUL)
    # The reporter's own id for this event: a retry with the same id counts once.
    id: str | None = Field(None, max_length=64, pattern=_NO_NUL)

    @model_validator(mode="after")
    def _one_target(self) -> MessageEvent:
        if bool(self.message_id) == bool(self.card_id):
            raise ValueError("give exactly one of message_id or card_id")
        return self


class AppSession(_Item):
    type: Literal["app_session"]
    external_id: str | None = Field(None, max_length=255, pattern=_NO_NUL)
    braze_id: str | None = Field(None, max_length=24, pattern=_NO_NUL)
    app_id: str = Field("", max_length=64, pattern=_NO_NUL)
    app_version: str = Field("", max_length=64, pattern=_NO_NUL)

    @model_validator(mode="after")
    def _one_user(self) -> AppSession:
        if bool(self.external_id) == bool(self.braze_id):
            raise ValueError("give exactly one of external_id or braze_id")
        return self


class EngagementBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Annotated[MessageEvent | AppSession, Field(discriminator="type")]] = Field(
        min_length=1, max_length=MAX_EVENTS)


class EngagementResponse(BaseModel):
    message: str
    events_processed: int
    events_recorded: int


def _when(moment: datetime | None) -> datetime:
    if moment is None:
        return timezone.now()
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment


@endpoint("/engagement/track", permission=Permission.ENGAGEMENT_TRACK.value,
          summary="Report push opens, card views, SMS receipts, app sessions",
          body=EngagementBody, response=EngagementResponse, tags=("Engagement",))
def engagement_track(request: HttpRequest, body: EngagementBody) -> JsonResponse:
    """Record engagement that only apps and providers see.

    Message events name the delivery by `message_id` (or a content card by `card_id`);
    one-time events (a push open, a receipt, a dismissal) count once per message, and
    repeatable ones (impressions, clicks) once per `id` when given.
    """
    message_ids = {e.message_id for e in body.events
                   if isinstance(e, MessageEvent) and e.message_id}
    card_ids = {e.card_id for e in body.events if isinstance(e, MessageEvent) and e.card_id}
    deliveries = {d.message_id: d for d in Delivery.objects.filter(message_id__in=message_ids)}
    cards = {c.card_id: c for c in ContentCard.objects.select_related("delivery")
             .filter(card_id__in=card_ids, delivery__isnull=False)}
    external_ids = {e.external_id for e in body.events
                    if isinstance(e, AppSession) and e.external_id}
    braze_ids = {e.braze_id for e in body.events if isinstance(e, AppSession) and e.braze_id}
    profiles = {}
    for profile in Profile.objects.filter(Q(external_id__in=external_ids)
                                          | Q(braze_id__in=braze_ids)).only(
                                              "pk", "external_id", "braze_id"):
        profiles[("external_id", profile.external_id)] = profile.pk
        profiles[("braze_id", profile.braze_id)] = profile.pk

    errors = []
    records = []
    sessions = []
    for index, event in enumerate(body.events):
        when = _when(event.time)
        if isinstance(event, AppSession):
            field = "external_id" if event.external_id else "braze_id"
            profile_id = profiles.get((field, getattr(event, field)))
            if profile_id is None:
                errors.append(f"events[{index}].{field}: no such user")
            else:
                sessions.append((profile_id, when, event))
            continue
        if event.card_id:
            card = cards.get(event.card_id)
            delivery = card.delivery if card else None
            if delivery is None:
                errors.append(f"events[{index}].card_id: no such content card")
                continue
        else:
            delivery = deliveries.get(event.message_id)
            if delivery is None:
                errors.append(f"events[{index}].message_id: no such message")
                continue
        kind, once = MESSAGE_EVENTS[event.type]
        suffix = "" if once else f":{event.id or when.isoformat()}"
        records.append(delivery_event(
            delivery, kind=kind, dedupe_key=f"{delivery.message_id}:{kind}{suffix}",
            occurred_at=when, properties={"reported_as": event.type}))
    if errors:
        raise ApiError(400, errors[0] if len(errors) == 1 else "Bad Request", errors)

    with transaction.atomic():
        recorded = engagement_record_many(events=records)
        app_sessions_record(sessions=[
            {"profile_id": profile_id, "time": when, "app_id": session.app_id,
             "app_version": session.app_version} for profile_id, when, session in sessions])
    return api_response({"events_processed": len(body.events),
                         "events_recorded": len(recorded) + len(sessions)}, status=201)
