"""Campaign-wide unique recipients, and Content Card recipients counted on view (spec §1.8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from analytics.models import Conversion
from analytics.selectors import variation_results
from analytics.services import custom_event_record
from campaigns.models import ConversionEvent
from messaging.models import ContentCard

from .helpers import make_campaign, make_profile, record, send

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def multichannel():
    """ann gets the email and the push on day 1; bob only the email; ann the push again on
    day 2 (a new send), cleo the email on day 2."""
    campaign = make_campaign(variations=[("email", "Mail"), ("apple_push", "Push")])
    email, push = campaign.variations.all()
    ann, bob, cleo = (make_profile(n) for n in ("ann", "bob", "cleo"))
    send(email, ann, sent_at=SENT, send_id="s1")
    send(push, ann, sent_at=SENT + timedelta(minutes=1), send_id="s1")
    send(email, bob, sent_at=SENT, send_id="s1")
    send(push, ann, sent_at=SENT + timedelta(days=1), send_id="s2")
    send(email, cleo, sent_at=SENT + timedelta(days=1), send_id="s2")
    return campaign


def _series(api, path, campaign, **extra):
    response = api.get(path, {"campaign_id": str(campaign.api_id), "length": 2,
                              "ending_at": "2026-03-05T00:00:00Z", **extra})
    assert response.status_code == 200, response.content
    return response.json()["data"]


def _entries(day):
    return {e["variation_name"]: e["unique_recipients"]
            for entries in day["messages"].values() for e in entries}


def test_day_unique_recipients_count_a_profile_once_across_channels(api, multichannel):
    day1, day2 = _series(api, "/campaigns/data_series", multichannel)
    # Variation entries keep their own counts; the day counts ann once.
    assert _entries(day1) == {"Mail": 2, "Push": 1}
    assert day1["unique_recipients"] == 2
    assert _entries(day2) == {"Mail": 1, "Push": 1}
    assert day2["unique_recipients"] == 2


def test_send_series_counts_the_send_alone(api, multichannel):
    day1, day2 = _series(api, "/sends/data_series", multichannel, send_id="s1")
    assert (day1["unique_recipients"], day2["unique_recipients"]) == (2, 0)
    day1, day2 = _series(api, "/sends/data_series", multichannel, send_id="s2")
    assert (day1["unique_recipients"], day2["unique_recipients"]) == (0, 2)


def test_results_total_row_counts_distinct_profiles(multichannel):
    results = variation_results(campaign=multichannel)
    assert [row.recipients for row in results.rows] == [3, 1]  # Mail: ann bob cleo; Push: ann
    assert results.total.recipients == 3  # ann, bob, cleo — not 4
    one_send = variation_results(campaign=multichannel, send_id="s2")
    assert one_send.total.recipients == 2  # ann (push) and cleo


def test_results_page_shows_the_exact_total(marketer_client, multichannel):
    url = reverse("analytics:campaign-results", args=[multichannel.api_id])
    response = marketer_client.get(url, {"start": "2026-03-04", "end": "2026-03-05"})
    assert response.status_code == 200
    assert response.context["results"].total.recipients == 3
    day1 = marketer_client.get(url, {"start": "2026-03-04", "end": "2026-03-04"})
    assert day1.context["results"].total.recipients == 2


@pytest.fixture
def card_campaign():
    campaign = make_campaign(
        variations=[("content_card", "Card")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "buy", "window": timedelta(hours=2)})])
    (variation,) = campaign.variations.all()
    profiles = {name: make_profile(name) for name in ("viewer", "ignorer")}
    cards = {}
    for name, profile in profiles.items():
        delivery = send(variation, profile, sent_at=SENT)
        cards[name] = ContentCard.objects.create(delivery=delivery, profile=profile, title="Hi",
                                                 campaign=campaign, variation=variation)
    return campaign, profiles, cards


def test_card_recipient_is_who_viewed_it_and_the_view_opens_the_window(api, card_campaign):
    campaign, profiles, cards = card_campaign
    viewed = SENT + timedelta(hours=5)
    for _ in range(2):  # a retry counts nothing more
        response = api.post("/engagement/track", {"events": [
            {"type": "card_impression", "card_id": cards["viewer"].card_id, "id": "v1",
             "time": viewed.isoformat()}]})
        assert response.status_code == 201
    # Both were sent the card 5 h ago, but only the view opens the (2 h) window: the
    # viewer's purchase 1 h after viewing converts, the ignorer's does not.
    for name in ("viewer", "ignorer"):
        custom_event_record(profile_id=profiles[name].pk, name="buy",
                            time=viewed + timedelta(hours=1))
    assert list(Conversion.objects.values_list("profile__external_id", "sent_at")) == [
        ("viewer", viewed)]

    results = variation_results(campaign=campaign)
    (row,) = results.rows
    assert (row.sends, row.recipients, results.total.recipients) == (2, 1, 1)
    assert row.conversions[0]["count"] == 1 and row.conversions[0]["rate"] == 1.0
    day = _series(api, "/campaigns/data_series", campaign)[0]
    assert day["unique_recipients"] == 1
    (entry,) = day["messages"]["content_cards"]
    assert (entry["sent"], entry["unique_recipients"], entry["unique_impressions"]) == (2, 1, 1)


def test_the_window_runs_from_the_view_not_the_send(card_campaign):
    campaign, profiles, cards = card_campaign
    viewed = SENT + timedelta(hours=1)
    record(cards["viewer"].delivery, "impression", occurred_at=viewed)
    custom_event_record(profile_id=profiles["viewer"].pk, name="buy",
                        time=viewed + timedelta(hours=2, seconds=1))
    assert not Conversion.objects.exists()
    custom_event_record(profile_id=profiles["viewer"].pk, name="buy",
                        time=viewed + timedelta(hours=2))  # 3 h after the send
    assert Conversion.objects.get().sent_at == viewed
