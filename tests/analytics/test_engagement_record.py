"""engagement_record / engagement_record_many: events move the daily rollups exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import DailyRollup, EngagementEvent
from analytics.services import engagement_record, engagement_record_many

from .helpers import make_campaign, make_profile, record, send

pytestmark = pytest.mark.django_db

DAY1 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _rollup(variation, day=None, send_id=""):
    return DailyRollup.objects.get(variation=variation, day=day or DAY1.date(), send_id=send_id)


def test_events_add_up_per_variation_and_day():
    campaign = make_campaign(variations=[("email", "A"), ("email", "B")])
    a, b = campaign.variations.all()
    profiles = [make_profile(f"u{i}") for i in range(5)]
    deliveries_a = [send(a, p, sent_at=DAY1) for p in profiles[:3]]
    deliveries_b = [send(b, p, sent_at=DAY1) for p in profiles[3:]]
    for d in deliveries_a + deliveries_b:
        record(d, "delivered", occurred_at=DAY1)
    # Profile 0 opens three times, profile 1 once; one click; one bounce in B.
    for n in range(3):
        record(deliveries_a[0], "open", occurred_at=DAY1 + timedelta(hours=1), key=f"o{n}")
    record(deliveries_a[1], "open", occurred_at=DAY1 + timedelta(hours=2), key="o-b")
    record(deliveries_a[1], "click", occurred_at=DAY1 + timedelta(hours=2))
    record(deliveries_b[0], "bounce_hard", occurred_at=DAY1)

    ra, rb = _rollup(a), _rollup(b)
    assert (ra.sent, ra.delivered, ra.opens, ra.unique_opens, ra.first_opens) == (3, 3, 4, 2, 2)
    assert (ra.clicks, ra.unique_clicks, ra.unique_recipients) == (1, 1, 3)
    assert (rb.sent, rb.bounce_hard, rb.opens, rb.unique_recipients) == (2, 1, 0, 2)


def test_same_event_twice_counts_once():
    campaign = make_campaign()
    variation = campaign.variations.get()
    delivery = send(variation, make_profile("u1"), sent_at=DAY1)
    first = record(delivery, "delivered", occurred_at=DAY1)
    again = record(delivery, "delivered", occurred_at=DAY1)
    assert first is not None and again is None
    assert _rollup(variation).delivered == 1
    assert EngagementEvent.objects.filter(kind="delivered").count() == 1


def test_batch_with_repeats_counts_each_key_once_and_replay_changes_nothing():
    campaign = make_campaign()
    variation = campaign.variations.get()
    profile = make_profile("u1")
    delivery = send(variation, profile, sent_at=DAY1)
    events = [
        {"kind": "open", "channel": "email", "dedupe_key": f"k{n % 3}",
         "campaign_id": campaign.pk, "variation_id": variation.pk, "profile_id": profile.pk,
         "delivery_id": delivery.pk, "occurred_at": DAY1}
        for n in range(7)
    ]
    assert len(engagement_record_many(events=events)) == 3
    assert engagement_record_many(events=events) == []
    rollup = _rollup(variation)
    assert (rollup.opens, rollup.unique_opens, rollup.first_opens) == (3, 1, 1)


def test_unique_counts_are_per_day_but_first_counts_are_for_life():
    campaign = make_campaign()
    variation = campaign.variations.get()
    delivery = send(variation, make_profile("u1"), sent_at=DAY1)
    record(delivery, "open", occurred_at=DAY1, key="day1")
    record(delivery, "open", occurred_at=DAY1 + timedelta(days=1), key="day2")
    day1, day2 = _rollup(variation), _rollup(variation, day=(DAY1 + timedelta(days=1)).date())
    assert (day1.unique_opens, day2.unique_opens) == (1, 1)
    assert day1.first_opens + day2.first_opens == 1


def test_send_id_gets_its_own_bucket():
    campaign = make_campaign()
    variation = campaign.variations.get()
    send(variation, make_profile("u1"), sent_at=DAY1, send_id="blast-1")
    send(variation, make_profile("u2"), sent_at=DAY1)
    assert _rollup(variation, send_id="blast-1").sent == 1
    assert _rollup(variation, send_id="").sent == 1


def test_event_without_campaign_is_stored_but_not_rolled_up():
    engagement_record_many(events=[{"kind": "sent", "channel": "email", "dedupe_key": "x"}])
    assert EngagementEvent.objects.count() == 1
    assert DailyRollup.objects.count() == 0


def test_single_event_round_trips_every_field():
    campaign = make_campaign()
    variation = campaign.variations.get()
    profile = make_profile("u1")
    event = engagement_record(
        kind="click", channel="email", dedupe_key="one", campaign_id=campaign.pk,
        variation_id=variation.pk, send_id="s-1", profile_id=profile.pk, occurred_at=DAY1,
        properties={"url": "https://a.test/é", "i": [1]})
    stored = EngagementEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.send_id, stored.occurred_at) == ("click", "s-1", DAY1)
    assert stored.properties == {"url": "https://a.test/é", "i": [1]}
    assert (stored.campaign, stored.variation, stored.profile) == (campaign, variation, profile)
