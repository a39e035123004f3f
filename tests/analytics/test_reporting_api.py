"""Reporting endpoints: KPIs, sessions, events, purchases and segment series (Braze's shapes),
read from the daily rollups that /users/track fills."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from django.utils import timezone

from analytics.models import ActiveDay, ActivityRollup, Segment
from messaging.models import Profile, PushToken

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def at(days: int) -> str:
    return (DAY + timedelta(days=days)).isoformat()


@pytest.fixture
def activity(api):
    response = api.post("/users/track", {
        "events": [
            {"external_id": "ann", "name": "viewed", "time": at(0), "app_id": "web"},
            {"external_id": "ann", "name": "viewed", "time": at(0)},
            {"external_id": "bob", "name": "viewed", "time": at(-1)},
            {"external_id": "bob", "name": "added_to_cart", "time": at(0)},
        ],
        "purchases": [
            {"external_id": "ann", "product_id": "shoe", "currency": "USD", "price": 10.5,
             "quantity": 2, "time": at(0)},
            {"external_id": "cid", "product_id": "hat", "currency": "USD", "price": 3,
             "time": at(-40)},
        ],
        "attributes": [{"external_id": "dan", "date_of_last_session": at(-1)}],
    })
    assert response.status_code == 201, response.content
    return response


def series(api, path, **params):
    params.setdefault("length", 3)
    params.setdefault("ending_at", "2026-03-10")
    response = api.get(path, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "success"
    return body["data"]


def test_event_series_counts_per_day_and_app(api, activity):
    assert series(api, "/events/data_series", event="viewed") == [
        {"time": "2026-03-08", "count": 0}, {"time": "2026-03-09", "count": 1},
        {"time": "2026-03-10", "count": 2}]
    assert series(api, "/events/data_series", event="viewed", app_id="web", length=1) == [
        {"time": "2026-03-10", "count": 1}]
    assert series(api, "/events/data_series", event="never", length=1) == [
        {"time": "2026-03-10", "count": 0}]


def test_event_lists(api, activity):
    assert api.get("/events/list").json() == {"message": "success",
                                              "events": ["added_to_cart", "viewed"]}
    assert api.get("/events/list", {"page": 1}).json()["events"] == []
    events = api.get("/events").json()["events"]
    assert events == [{"name": "added_to_cart", "description": None,
                       "included_in_analytics_report": False, "status": "Active",
                       "tag_names": []},
                      {"name": "viewed", "description": None,
                       "included_in_analytics_report": False, "status": "Active",
                       "tag_names": []}]


def test_events_pages_by_cursor_in_the_link_header(api):
    ActivityRollup.objects.bulk_create([
        ActivityRollup(day=DAY.date(), kind="event", name=f"e{i:03d}", count=1)
        for i in range(60)])
    first = api.get("/events")
    assert len(first.json()["events"]) == 50
    link = first.headers["Link"]
    assert link.endswith('rel="next"') and 'rel="prev"' not in link
    assert link == '</events?cursor=c2tpcDo1MA==>; rel="next"'  # Braze's form
    cursor = unquote(link.split("cursor=")[1].split(">")[0])
    assert base64.b64decode(cursor) == b"skip:50"
    second = api.get("/events", {"cursor": cursor})
    names = [e["name"] for e in second.json()["events"]]
    assert names == [f"e{i:03d}" for i in range(50, 60)]
    assert 'rel="next"' not in second.headers["Link"]
    bad = api.get("/events", {"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["message"] == "Invalid cursor"


def test_purchase_series_and_products(api, activity):
    assert api.get("/purchases/product_list").json()["products"] == ["hat", "shoe"]
    assert series(api, "/purchases/quantity_series", length=1) == [
        {"time": "2026-03-10", "purchase_quantity": 2}]
    assert series(api, "/purchases/revenue_series", length=1, product="shoe") == [
        {"time": "2026-03-10", "revenue": 21.0}]
    assert series(api, "/purchases/revenue_series", length=1, product="hat") == [
        {"time": "2026-03-10", "revenue": 0.0}]


def test_sessions_dau_and_mau(api, activity):
    assert series(api, "/sessions/data_series", length=2) == [
        {"time": "2026-03-09", "sessions": 1}, {"time": "2026-03-10", "sessions": 0}]
    # ann and bob on the 10th; bob and dan (a session) on the 9th.
    assert series(api, "/kpi/dau/data_series", length=2) == [
        {"time": "2026-03-09", "dau": 2}, {"time": "2026-03-10", "dau": 2}]
    # cid bought 40 days earlier: outside the 30-day window.
    assert series(api, "/kpi/mau/data_series", length=2) == [
        {"time": "2026-03-09", "mau": 2}, {"time": "2026-03-10", "mau": 3}]
    assert ActiveDay.objects.count() == 5


def test_new_users_and_uninstalls(api):
    today = timezone.now()
    Profile.objects.create(external_id="a")
    old = Profile.objects.create(external_id="b")
    Profile.objects.filter(pk=old.pk).update(created_at=today - timedelta(days=1))
    PushToken.objects.create(profile=old, app_id="ios", token="t1", invalidated_at=today)
    PushToken.objects.create(profile=old, app_id="android", token="t2", invalidated_at=today)
    PushToken.objects.create(profile=old, app_id="ios", token="t3")
    end = today.astimezone(UTC).date()
    data = series(api, "/kpi/new_users/data_series", length=2, ending_at=end.isoformat())
    assert [row["new_users"] for row in data] == [1, 1]
    assert data[-1]["time"] == end.isoformat()
    assert series(api, "/kpi/uninstalls/data_series", length=1, ending_at=end.isoformat(),
                  app_id="ios") == [{"time": end.isoformat(), "uninstalls": 1}]


def test_segment_size_series(api):
    segment = Segment.objects.create(name="Buyers", size=7)
    Segment.objects.filter(pk=segment.pk).update(created_at=DAY)
    assert series(api, "/segments/data_series", segment_id=segment.segment_id, length=2) == [
        {"time": "2026-03-09", "size": 0}, {"time": "2026-03-10", "size": 7}]
    unknown = api.get("/segments/data_series", {"segment_id": "nope", "length": 1})
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "segment_id must be a string of the segment api identifier"


@pytest.mark.parametrize("path, params, text", [
    ("/events/data_series", {"length": 1}, "event"),
    ("/events/data_series", {"event": "x", "length": 0}, "length"),
    ("/events/data_series", {"event": "x", "length": 101}, "length"),
    ("/events/data_series", {"event": "x", "length": 1, "unit": "hour"}, "unit"),
    ("/events/data_series", {"event": "x", "length": 1, "segment_id": "s"},
     "Herald keeps these figures for all users"),
    ("/sessions/data_series", {"length": 1, "ending_at": "yesterday"}, "ending_at"),
    ("/kpi/dau/data_series", {}, "length"),
    ("/kpi/mau/data_series", {"length": "x"}, "length"),
    ("/kpi/new_users/data_series", {"length": 1, "ending_at": "1850-01-01"}, "ending_at"),
    ("/purchases/quantity_series", {"length": 1, "segment_id": "s"}, "segment"),
    ("/segments/data_series", {"length": 1}, "segment_id"),
    ("/events/list", {"page": -1}, "page"),
])
def test_invalid_queries_are_400_in_braze_shape(api, path, params, text):
    response = api.get(path, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert text in body["message"] + " ".join(body.get("errors", []))


@pytest.mark.parametrize("path, permission", [
    ("/kpi/dau/data_series", "kpi.dau.data_series"),
    ("/events/list", "events.list"),
    ("/events", "events.get"),
    ("/purchases/product_list", "purchases.product_list"),
])
def test_each_endpoint_needs_its_permission(api, make_api_key, path, permission):
    _, key = make_api_key(permissions=["users.track"])
    response = api.get(path, {"length": 1}, key=key)
    assert response.status_code == 403
    assert permission in response.json()["errors"][0]
