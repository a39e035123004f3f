"""/campaigns/list, /campaigns/details, /campaigns/data_series, /sends/data_series, /segments/*."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.services import custom_event_record, purchase_record, segment_create_from_results
from campaigns.models import Campaign, ConversionEvent, Tag

from .helpers import make_campaign, make_profile, record, send

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def campaign():
    campaign = make_campaign(
        variations=[("email", "Variant 1"), ("email", "Variant 2"), ("apple_push", "Push")],
        conversions=[
            (ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
             {"custom_event_name": "checkout", "window": timedelta(days=1)}),
            (ConversionEvent.Kind.MAKES_ANY_PURCHASE, {"window": timedelta(days=3)}),
        ])
    v1, v2, push = campaign.variations.all()
    alice, bob, cleo = (make_profile(n) for n in ("alice", "bob", "cleo"))
    d1 = send(v1, alice, sent_at=SENT, send_id="blast")
    d2 = send(v2, bob, sent_at=SENT)
    d3 = send(push, cleo, sent_at=SENT, send_id="blast")
    for d in (d1, d2):
        record(d, "delivered", occurred_at=SENT)
    record(d1, "open", occurred_at=SENT + timedelta(hours=1), key="o1")
    record(d1, "open", occurred_at=SENT + timedelta(hours=2), key="o2")
    record(d1, "click", occurred_at=SENT + timedelta(hours=2))
    record(d2, "bounce_soft", occurred_at=SENT)
    record(d3, "direct_open", occurred_at=SENT + timedelta(hours=1))
    custom_event_record(profile_id=alice.pk, name="checkout", time=SENT + timedelta(hours=3))
    purchase_record(profile_id=alice.pk, product_id="p", currency="USD", price=Decimal("12.5"),
                    quantity=1, time=SENT + timedelta(hours=3))
    return campaign


def test_data_series_shape_and_numbers(api, campaign):
    response = api.get("/campaigns/data_series", {
        "campaign_id": str(campaign.api_id), "length": 2, "ending_at": "2026-03-05T00:00:00Z"})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "success"
    assert [day["time"] for day in body["data"]] == ["2026-03-04", "2026-03-05"]
    day = body["data"][0]
    assert set(day) == {"time", "unique_recipients", "revenue", "conversions", "conversions1",
                        "conversions_by_send_time", "conversions1_by_send_time", "messages"}
    assert (day["unique_recipients"], day["revenue"]) == (3, 12.5)
    assert (day["conversions"], day["conversions1"]) == (1, 1)
    assert set(day["messages"]) == {"email", "ios_push"}
    v1, v2 = day["messages"]["email"]
    v1_id = str(campaign.variations.get(name="Variant 1").api_id)
    assert v1 == {
        "variation_api_id": v1_id, "variation_name": "Variant 1", "sent": 1, "delivered": 1,
        "opens": 2, "unique_opens": 1, "clicks": 1, "unique_clicks": 1, "unsubscribes": 0,
        "bounces": 0, "reported_spam": 0, "machine_opens": 0, "unique_recipients": 1,
        "revenue": 12.5, "conversions": 1, "conversions_by_send_time": 1, "conversions1": 1,
        "conversions1_by_send_time": 1, "skipped": 0, "sandboxed": 0,
    }
    assert (v2["sent"], v2["bounces"], v2["conversions"]) == (1, 1, 0)
    (push,) = day["messages"]["ios_push"]
    assert {k: push[k] for k in ("sent", "direct_opens", "total_opens", "bounces",
                                 "body_clicks")} == {"sent": 1, "direct_opens": 1,
                                                     "total_opens": 1, "bounces": 0,
                                                     "body_clicks": 0}
    assert "delivered" not in push  # only the send series adds delivery fields to push
    assert body["data"][1]["messages"]["email"][0]["sent"] == 0


def test_sends_data_series_is_limited_to_the_send_id(api, campaign):
    response = api.get("/sends/data_series", {
        "campaign_id": str(campaign.api_id), "send_id": "blast", "length": 1,
        "ending_at": "2026-03-04"})
    assert response.status_code == 200
    (day,) = response.json()["data"]
    assert day["unique_recipients"] == 2  # alice (email) and cleo (push), not bob
    assert [v["sent"] for v in day["messages"]["email"]] == [1, 0]
    (push,) = day["messages"]["ios_push"]
    assert {k: push[k] for k in ("delivered", "undelivered", "delivery_failed")} == {
        "delivered": 0, "undelivered": 0, "delivery_failed": 0}


@pytest.mark.parametrize("length", ["0", "101", "x", None])
def test_data_series_refuses_bad_length(api, campaign, length):
    params = {"campaign_id": str(campaign.api_id)}
    if length is not None:
        params["length"] = length
    response = api.get("/campaigns/data_series", params)
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("length") and body["errors"][0].startswith("length")


@pytest.mark.parametrize("path", ["/campaigns/data_series", "/campaigns/details"])
@pytest.mark.parametrize("campaign_id", ["nope", "4f1c2b8e-7d3a-4c11-9e0b-5a6f2d1c9e77"])
def test_unknown_campaign_is_a_400(api, path, campaign_id):
    response = api.get(path, {"campaign_id": campaign_id, "length": 1})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "campaign_id must be a string of the campaign api identifier")


def test_data_series_needs_its_permission(api, make_api_key, campaign):
    _, key = make_api_key(permissions=["campaigns.list"])
    response = api.get("/campaigns/data_series",
                       {"campaign_id": str(campaign.api_id), "length": 1}, key=key)
    assert response.status_code == 403
    assert response.json()["message"] == "Access Denied"


def test_campaign_list_pages_by_100_and_sorts(api):
    campaigns = [Campaign.objects.create(name=f"c{i:03}") for i in range(101)]
    Campaign.objects.filter(pk=campaigns[5].pk).update(status=Campaign.Status.ARCHIVED)
    tag = Tag.objects.create(name="transactional")
    campaigns[0].tags.add(tag)
    first = api.get("/campaigns/list").json()["campaigns"]
    second = api.get("/campaigns/list", {"page": 1}).json()["campaigns"]
    assert len(first) == 100 and second == []
    assert first[0] == {"id": str(campaigns[0].api_id), "name": "c000", "is_api_campaign": True,
                        "tags": ["transactional"],
                        "last_edited": campaigns[0].updated_at.astimezone(UTC).replace(
                            microsecond=0).isoformat()}
    assert "c005" not in {c["name"] for c in first}
    with_archived = api.get("/campaigns/list", {"page": 1, "include_archived": "true"}).json()
    assert [c["name"] for c in with_archived["campaigns"]] == ["c100"]
    newest = api.get("/campaigns/list", {"sort_direction": "desc"}).json()["campaigns"]
    assert newest[0]["name"] == "c100"
    assert api.get("/campaigns/list", {"page": -1}).status_code == 400
    assert api.get("/campaigns/list", {"sort_direction": "up"}).status_code == 400


def test_campaign_list_gives_every_tag_once_and_pages_by_campaign(api):
    campaigns = [Campaign.objects.create(name=f"c{i:03}") for i in range(102)]
    zeta, alpha = Tag.objects.create(name="zeta"), Tag.objects.create(name="alpha")
    for campaign in campaigns[:101]:  # tags multiply the joined rows, not the campaigns
        campaign.tags.add(zeta, alpha)
    first = api.get("/campaigns/list").json()["campaigns"]
    second = api.get("/campaigns/list", {"page": 1}).json()["campaigns"]
    assert [c["name"] for c in first] == [f"c{i:03}" for i in range(100)]
    assert {tuple(c["tags"]) for c in first} == {("alpha", "zeta")}
    assert [(c["name"], c["tags"]) for c in second] == [("c100", ["alpha", "zeta"]),
                                                       ("c101", [])]


def test_campaign_list_filters_on_last_edit_time(api):
    old = Campaign.objects.create(name="old")
    Campaign.objects.filter(pk=old.pk).update(updated_at=datetime(2025, 1, 1, tzinfo=UTC))
    Campaign.objects.create(name="new")
    body = api.get("/campaigns/list", {"last_edit.time[gt]": "2025-06-01T00:00:00"}).json()
    assert [c["name"] for c in body["campaigns"]] == ["new"]


def test_campaign_details_shape(api, campaign):
    response = api.get("/campaigns/details", {"campaign_id": str(campaign.api_id)})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "message", "created_at", "updated_at", "archived", "draft", "enabled",
        "has_post_launch_draft", "name", "description", "schedule_type", "channels",
        "first_sent", "last_sent", "tags", "teams", "messages", "conversion_behaviors"}
    assert body["channels"] == ["email", "ios_push"]
    assert (body["archived"], body["draft"], body["enabled"]) == (False, False, True)
    push_id = str(campaign.variations.get(channel="apple_push").api_id)
    assert body["messages"][push_id]["channel"] == "ios_push"
    assert body["messages"][push_id]["name"] == "Push"
    email = next(m for m in body["messages"].values() if m["name"] == "Variant 1")
    assert {"subject", "body", "from", "reply_to", "preheader", "email_headers"} <= set(email)
    assert body["conversion_behaviors"] == [
        {"type": "Performs Custom Event", "window": 86400, "custom_event_name": "checkout"},
        {"type": "Makes Any Purchase", "window": 259200},
    ]


def test_segments_list_and_details(api, campaign):
    segment = segment_create_from_results(campaign=campaign, behavior="opened")
    body = api.get("/segments/list").json()
    assert body == {"message": "success", "segments": [
        {"id": segment.segment_id, "name": segment.name, "analytics_tracking_enabled": False,
         "tags": []}]}
    details = api.get("/segments/details", {"segment_id": segment.segment_id}).json()
    assert details["name"] == segment.name and details["tags"] == []
    assert {"created_at", "updated_at", "description", "text_description", "teams"} <= set(details)
    assert api.get("/segments/details", {"segment_id": "nope"}).status_code == 400
