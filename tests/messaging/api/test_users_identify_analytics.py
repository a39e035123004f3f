"""Analytics through the profile endpoints: a folded profile's history stays counted once
(POST /users/identify), and /users/export/ids reports campaigns_received in Braze's shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from analytics.models import Conversion, DailyRollup, Segment, SegmentMember
from analytics.services import segment_create_from_results
from campaigns.models import ConversionEvent
from messaging.models import Profile, UserAlias
from tests.analytics.helpers import make_campaign, make_profile, record, send

pytestmark = pytest.mark.django_db

ANON = {"alias_label": "crm", "alias_name": "visitor-7"}


def _conversions(campaign) -> int:
    return DailyRollup.objects.filter(campaign=campaign).aggregate(n=Sum("conversions"))["n"]


@pytest.fixture
def merge_world(api):
    campaign = make_campaign(
        variations=[("email", "Mail"), ("apple_push", "Push")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "checkout", "window": timedelta(days=3)})])
    mail, push = campaign.variations.order_by("position")
    sent = timezone.now() - timedelta(hours=3)
    anon = Profile.objects.create(email="visitor@example.test")
    UserAlias.objects.create(profile=anon, **ANON)
    known = make_profile("known")
    send(mail, anon, sent_at=sent)
    send(push, anon, sent_at=sent)
    send(mail, known, sent_at=sent + timedelta(minutes=1))
    # The anonymous visitor converts (on both channels it received); "known" has not yet.
    response = api.post("/users/track", {"events": [
        {"user_alias": ANON, "name": "checkout",
         "time": (sent + timedelta(hours=1)).isoformat()}]})
    assert response.json()["events_processed"] == 1
    push_receivers = segment_create_from_results(campaign=campaign, behavior="received",
                                                 variation=push)
    return {"campaign": campaign, "anon": anon, "known": known, "segment": push_receivers,
            "sent": sent}


def test_identified_profile_keeps_its_conversions_and_does_not_convert_twice(api, merge_world):
    w = merge_world
    assert _conversions(w["campaign"]) == 2  # email and push, both the visitor's
    response = api.post("/users/identify", {"aliases_to_identify": [
        {"external_id": "known", "user_alias": ANON}]})
    assert response.status_code == 201, response.content
    assert not Profile.objects.filter(pk=w["anon"].pk).exists()  # folded into "known"

    # The visitor's conversions are now the known user's ...
    assert sorted(Conversion.objects.filter(profile=w["known"])
                  .values_list("channel", flat=True)) == ["apple_push", "email"]
    # ... so the same user doing it again (now identified) converts nothing more.
    response = api.post("/users/track", {"events": [
        {"external_id": "known", "name": "checkout",
         "time": (w["sent"] + timedelta(hours=2)).isoformat()}]})
    assert response.json()["events_processed"] == 1
    assert Conversion.objects.count() == 2
    assert _conversions(w["campaign"]) == 2


def test_merged_profile_keeps_its_segment_membership(api, merge_world):
    w = merge_world
    segment = w["segment"]
    assert list(segment.members.values_list("profile_id", flat=True)) == [w["anon"].pk]
    api.post("/users/identify", {"aliases_to_identify": [
        {"external_id": "known", "user_alias": ANON}]})
    assert list(SegmentMember.objects.filter(segment=segment)
                .values_list("profile_id", flat=True)) == [w["known"].pk]
    assert Segment.objects.get(pk=segment.pk).size == 1


def test_both_converted_before_the_merge_count_once_after(api, merge_world):
    w = merge_world
    api.post("/users/track", {"events": [
        {"external_id": "known", "name": "checkout",
         "time": (w["sent"] + timedelta(hours=2)).isoformat()}]})
    assert _conversions(w["campaign"]) == 3  # two people so far: visitor (2), known (1)
    api.post("/users/identify", {"aliases_to_identify": [
        {"external_id": "known", "user_alias": ANON}]})
    # One user: the known profile's email conversion kept, the visitor's push one moved.
    assert _conversions(w["campaign"]) == 2
    assert sorted(Conversion.objects.values_list("profile__external_id", "channel")) == [
        ("known", "apple_push"), ("known", "email")]


# --- /users/export/ids: campaigns_received ---------------------------------------------------


def test_export_reports_campaigns_received_with_engagement_and_conversion(api):
    shop = make_campaign("Shop", variations=[("email", "Mail")], conversions=[
        (ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
         {"custom_event_name": "checkout", "window": timedelta(days=1)})])
    news = make_campaign("News", variations=[("apple_push", "Push A")])
    ana = make_profile("ana")
    now = timezone.now()
    shop_delivery = send(shop.variations.get(), ana, sent_at=now - timedelta(hours=5))
    record(shop_delivery, "open", occurred_at=now - timedelta(hours=4))
    send(news.variations.get(), ana, sent_at=now - timedelta(hours=1))
    api.post("/users/track", {"events": [
        {"external_id": "ana", "name": "checkout",
         "time": (now - timedelta(hours=3)).isoformat()}]})

    response = api.post("/users/export/ids", {"external_ids": ["ana"],
                                              "fields_to_export": ["campaigns_received"]})
    assert response.status_code == 201, response.content
    (user,) = response.json()["users"]
    assert set(user) == {"campaigns_received"}
    news_entry, shop_entry = user["campaigns_received"]  # newest first
    assert shop_entry == {
        "name": "Shop", "api_campaign_id": str(shop.api_id),
        "last_received": shop_entry["last_received"],
        "engaged": {"opened_email": True, "clicked_email": False, "opened_push": False,
                    "clicked_triggered_in_app_message": False},
        "converted": True, "multiple_converted": {"Primary Conversion Event - A": True},
        "variation_name": "Mail", "variation_api_id": str(shop.variations.get().api_id),
        "in_control": False,
    }
    assert news_entry["name"] == "News" and news_entry["converted"] is False
    assert news_entry["engaged"] == {"opened_email": False, "clicked_email": False,
                                     "opened_push": False,
                                     "clicked_triggered_in_app_message": False}
    assert news_entry["last_received"] > shop_entry["last_received"]
    assert news_entry["last_received"].endswith("Z")


def test_export_leaves_out_campaigns_received_for_a_profile_never_messaged(api):
    make_profile("quiet")
    response = api.post("/users/export/ids", {"external_ids": ["quiet"]})
    (user,) = response.json()["users"]
    assert user["external_id"] == "quiet" and "campaigns_received" not in user
