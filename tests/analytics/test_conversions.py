"""Conversions: matched within the deadline (edges exact), once per profile, with revenue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from analytics.models import Conversion, DailyRollup
from analytics.services import app_session_record, custom_event_record, purchase_record
from campaigns.models import ConversionEvent

from .helpers import make_campaign, make_profile, send

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
Kind = ConversionEvent.Kind


def _total(campaign, field):
    return DailyRollup.objects.filter(campaign=campaign).aggregate(n=Sum(field))["n"] or 0


def _checkout_campaign(window=timedelta(days=1), **kwargs):
    return make_campaign(conversions=[(Kind.PERFORMS_CUSTOM_EVENT,
                                       {"custom_event_name": "checkout", "window": window})],
                         **kwargs)


@pytest.mark.parametrize(("after", "counts"), [
    (timedelta(days=1), 1),                        # exactly at the deadline
    (timedelta(days=1, seconds=1), 0),             # one second later
    (timedelta(0), 1),                             # the same instant as the send
    (timedelta(seconds=-1), 0),                    # before the message was sent
])
def test_conversion_window_edges_are_exact(after, counts):
    campaign = _checkout_campaign()
    profile = make_profile("u1")
    send(campaign.variations.get(), profile, sent_at=SENT)
    custom_event_record(profile_id=profile.pk, name="checkout", time=SENT + after)
    assert _total(campaign, "conversions") == counts
    assert _total(campaign, "conversions_by_send_time") == counts


def test_conversion_counts_once_per_profile_and_event():
    campaign = _checkout_campaign()
    profile = make_profile("u1")
    send(campaign.variations.get(), profile, sent_at=SENT)
    for minutes in (1, 2, 3):
        custom_event_record(profile_id=profile.pk, name="checkout",
                            time=SENT + timedelta(minutes=minutes))
    custom_event_record(profile_id=profile.pk, name="other", time=SENT + timedelta(minutes=4))
    assert Conversion.objects.count() == 1
    assert _total(campaign, "conversions") == 1


def test_conversion_goes_to_the_variation_and_send_id_most_recently_received():
    campaign = _checkout_campaign(variations=[("email", "A"), ("email", "B")])
    a, b = campaign.variations.all()
    profile = make_profile("u1")
    send(a, profile, sent_at=SENT, send_id="first")
    send(b, profile, sent_at=SENT + timedelta(hours=1), send_id="second")
    custom_event_record(profile_id=profile.pk, name="checkout", time=SENT + timedelta(hours=2))
    conversion = Conversion.objects.get()
    assert (conversion.variation_id, conversion.send_id) == (b.pk, "second")
    assert DailyRollup.objects.get(variation=b, send_id="second").conversions == 1
    assert DailyRollup.objects.get(variation=a, send_id="first").conversions == 0


def test_conversion_and_send_days_are_bucketed_separately():
    campaign = _checkout_campaign(window=timedelta(days=3))
    profile = make_profile("u1")
    variation = campaign.variations.get()
    send(variation, profile, sent_at=SENT)
    custom_event_record(profile_id=profile.pk, name="checkout", time=SENT + timedelta(days=2))
    send_day = DailyRollup.objects.get(variation=variation, day=SENT.date())
    conversion_day = DailyRollup.objects.get(variation=variation,
                                             day=(SENT + timedelta(days=2)).date())
    assert (send_day.conversions, send_day.conversions_by_send_time) == (0, 1)
    assert (conversion_day.conversions, conversion_day.conversions_by_send_time) == (1, 0)


def test_one_action_counts_for_every_campaign_whose_window_is_open():
    first, second = _checkout_campaign(name="One"), _checkout_campaign(name="Two")
    unrelated = _checkout_campaign(name="Not received")
    profile = make_profile("u1")
    send(first.variations.get(), profile, sent_at=SENT)
    send(second.variations.get(), profile, sent_at=SENT)
    custom_event_record(profile_id=profile.pk, name="checkout", time=SENT + timedelta(hours=1))
    assert [_total(c, "conversions") for c in (first, second, unrelated)] == [1, 1, 0]


def test_each_channel_of_a_multichannel_campaign_is_its_own_opportunity():
    campaign = _checkout_campaign(variations=[("email", "Mail"), ("apple_push", "Push")])
    profile = make_profile("u1")
    for variation in campaign.variations.all():
        send(variation, profile, sent_at=SENT)
    custom_event_record(profile_id=profile.pk, name="checkout", time=SENT + timedelta(hours=1))
    assert _total(campaign, "conversions") == 2


def test_purchase_converts_and_adds_revenue_within_the_primary_window():
    campaign = make_campaign(conversions=[
        (Kind.MAKES_SPECIFIC_PURCHASE, {"product_id": "socks", "window": timedelta(days=2)}),
        (Kind.MAKES_ANY_PURCHASE, {"window": timedelta(days=5)}),
    ])
    profile = make_profile("u1")
    send(campaign.variations.get(), profile, sent_at=SENT)
    purchase_record(profile_id=profile.pk, product_id="hat", currency="USD",
                    price=Decimal("10.00"), quantity=2, time=SENT + timedelta(days=1))
    purchase_record(profile_id=profile.pk, product_id="socks", currency="USD",
                    price=Decimal("4.50"), quantity=1, time=SENT + timedelta(days=1, hours=1))
    # After the 2-day primary window: converts on B (5 days) but adds no revenue.
    purchase_record(profile_id=profile.pk, product_id="socks", currency="USD",
                    price=Decimal("99"), quantity=1, time=SENT + timedelta(days=3))
    assert (_total(campaign, "conversions"), _total(campaign, "conversions1")) == (1, 1)
    assert _total(campaign, "revenue") == Decimal("24.50")


def test_revenue_window_defaults_to_three_days_without_conversion_events():
    campaign = make_campaign()
    profile = make_profile("u1")
    send(campaign.variations.get(), profile, sent_at=SENT)
    purchase_record(profile_id=profile.pk, product_id="a", currency="USD", price=5, quantity=1,
                    time=SENT + timedelta(days=3))
    purchase_record(profile_id=profile.pk, product_id="a", currency="USD", price=7, quantity=1,
                    time=SENT + timedelta(days=3, seconds=1))
    assert _total(campaign, "revenue") == Decimal("5")


def test_sessions_and_upgrades_convert():
    campaign = make_campaign(conversions=[
        (Kind.STARTS_SESSION, {"window": timedelta(days=1)}),
        (Kind.UPGRADES_APP, {"window": timedelta(days=1)}),
    ])
    profile = make_profile("u1")
    send(campaign.variations.get(), profile, sent_at=SENT)
    app_session_record(profile_id=profile.pk, time=SENT - timedelta(days=1), app_id="ios",
                       app_version="1.9")
    app_session_record(profile_id=profile.pk, time=SENT + timedelta(hours=1), app_id="ios",
                       app_version="1.9")
    assert (_total(campaign, "conversions"), _total(campaign, "conversions1")) == (1, 0)
    app_session_record(profile_id=profile.pk, time=SENT + timedelta(hours=2), app_id="ios",
                       app_version="1.10")
    assert _total(campaign, "conversions1") == 1


def test_downgrade_is_not_an_upgrade():
    campaign = make_campaign(conversions=[(Kind.UPGRADES_APP, {"window": timedelta(days=1)})])
    profile = make_profile("u1")
    send(campaign.variations.get(), profile, sent_at=SENT)
    app_session_record(profile_id=profile.pk, time=SENT, app_id="ios", app_version="2.0")
    app_session_record(profile_id=profile.pk, time=SENT + timedelta(hours=1), app_id="ios",
                       app_version="1.5")
    assert _total(campaign, "conversions") == 0
