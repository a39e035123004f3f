"""POST /engagement/track: push opens, card events, SMS receipts, app sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum

from analytics.models import DailyRollup, EngagementEvent
from campaigns.models import ConversionEvent
from messaging.models import ContentCard
from tests.analytics.helpers import make_campaign, make_profile, send

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _sum(field):
    return DailyRollup.objects.aggregate(n=Sum(field))["n"] or 0


@pytest.fixture
def deliveries():
    campaign = make_campaign(
        variations=[("apple_push", "Push"), ("sms", "Text"), ("content_card", "Card")],
        conversions=[(ConversionEvent.Kind.STARTS_SESSION, {"window": timedelta(days=1)})])
    push, sms, card = campaign.variations.all()
    profile = make_profile("ann")
    return {"push": send(push, profile, sent_at=SENT), "sms": send(sms, profile, sent_at=SENT),
            "card": send(card, profile, sent_at=SENT), "profile": profile}


def test_events_are_recorded_once_and_rolled_up(api, deliveries):
    card = ContentCard.objects.create(delivery=deliveries["card"], profile=deliveries["profile"],
                                      title="Hi")
    body = {"events": [
        {"type": "push_open", "message_id": deliveries["push"].message_id,
         "time": "2026-03-04T11:00:00Z"},
        {"type": "sms_delivered", "message_id": deliveries["sms"].message_id},
        {"type": "card_impression", "card_id": card.card_id, "id": "imp-1",
         "time": "2026-03-04T11:30:00Z"},
        {"type": "card_impression", "card_id": card.card_id, "id": "imp-2"},
        {"type": "card_dismissal", "card_id": card.card_id},
        {"type": "app_session", "external_id": "ann", "app_id": "ios",
         "time": "2026-03-04T12:00:00Z"},
    ]}
    response = api.post("/engagement/track", body)
    assert response.status_code == 201, response.content
    assert response.json() == {"message": "success", "events_processed": 6, "events_recorded": 6}
    replay = api.post("/engagement/track", body).json()
    assert replay["events_recorded"] == 1  # only the session is not deduplicated
    # (first_impressions: the two views fall on different days, each its own daily unique.)
    assert (_sum("direct_opens"), _sum("delivered"), _sum("impressions"),
            _sum("first_impressions"), _sum("dismissals")) == (1, 1, 2, 1, 1)
    # The session converts once per channel the profile received (three channels: the
    # card counts because it was viewed before the session, spec §1.8).
    assert _sum("conversions") == 3
    assert EngagementEvent.objects.get(kind="direct_open").occurred_at == SENT + timedelta(hours=1)


def test_one_bad_item_records_nothing(api, deliveries):
    response = api.post("/engagement/track", {"events": [
        {"type": "push_open", "message_id": deliveries["push"].message_id},
        {"type": "sms_delivered", "message_id": "0" * 32},
        {"type": "app_session", "external_id": "nobody"},
    ]})
    assert response.status_code == 400
    assert response.json()["errors"] == ["events[1].message_id: no such message",
                                         "events[2].external_id: no such user"]
    assert EngagementEvent.objects.exclude(kind="sent").count() == 0


@pytest.mark.parametrize("body", [
    {},
    {"events": []},
    {"events": [{"type": "push_open"}]},
    {"events": [{"type": "push_open", "message_id": "a", "card_id": "b"}]},
    {"events": [{"type": "teleport", "message_id": "a"}]},
    {"events": [{"type": "push_open", "message_id": "a", "extra": 1}]},
    {"events": [{"type": "push_open", "message_id": "a"}] * 76},
    {"events": "nope"},
])
def test_malformed_bodies_are_400_in_brazes_envelope(api, body):
    response = api.post("/engagement/track", body)
    assert response.status_code == 400
    payload = response.json()
    assert isinstance(payload["message"], str) and payload["message"] != "success"


def test_engagement_needs_its_permission(api, make_api_key, deliveries):
    _, key = make_api_key(permissions=["users.track"])
    response = api.post("/engagement/track", {"events": [
        {"type": "push_open", "message_id": deliveries["push"].message_id}]}, key=key)
    assert response.status_code == 403
    assert EngagementEvent.objects.exclude(kind="sent").count() == 0
