"""POST /messages/schedule/create|update|delete and GET /messages/scheduled_broadcasts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from messaging.models import Delivery, Dispatch, Profile, ScheduledMessage
from messaging.scheduling import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def fire(django_capture_on_commit_callbacks):
    """fire(now=None) -> dispatches written by one tick, delivered (eager Celery)."""

    def tick(now=None):
        with django_capture_on_commit_callbacks(execute=True):
            return services.schedules_fire_due(now=now)

    return tick


def _email(variation):
    return {
        "email": {
            "app_id": "a",
            "message_variation_id": variation("email"),
            "from": "Acme <o@acme.test>",
            "subject": "Hello {{${first_name}}}",
            "body": "<p>Hi</p>",
        }
    }


def _in(minutes: float) -> str:
    return (timezone.now() + timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


@pytest.fixture
def body(campaign, variation, make_profile):
    make_profile(external_id="ada", first_name="Ada", email="ada@example.test")
    return {
        "campaign_id": campaign.campaign_id,
        "external_user_ids": ["ada"],
        "schedule": {"time": _in(30)},
        "messages": _email(variation),
    }


def test_create_answers_dispatch_and_schedule_ids_and_sends_nothing_yet(api, body):
    response = api.post("/messages/schedule/create", body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["message"] == "success"
    assert re.fullmatch(r"[0-9a-f]{32}", answer["dispatch_id"])
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["schedule_id"])
    row = ScheduledMessage.objects.get(schedule_id=answer["schedule_id"])
    assert row.status == "scheduled" and row.dispatch_id == answer["dispatch_id"]
    assert Dispatch.objects.count() == 0


def test_a_due_schedule_fires_once_with_the_announced_dispatch_id(fire, api, body):
    body["schedule"]["time"] = _in(1)
    answer = api.post("/messages/schedule/create", body).json()
    assert fire() == 0  # not yet
    later = timezone.now() + timedelta(minutes=2)
    assert fire(now=later) == 1
    assert fire(now=later) == 0  # once
    dispatch = Dispatch.objects.get()
    assert dispatch.dispatch_id == answer["dispatch_id"]
    delivery = Delivery.objects.get()
    assert delivery.rendered["subject"] == "Hello Ada"
    row = ScheduledMessage.objects.get()
    assert row.status == "sent" and row.dispatch_ids == [answer["dispatch_id"]]


def test_create_refuses_what_send_refuses_with_brazes_texts(api, body, variation):
    cases = [
        ({"messages": None}, "No message to send"),
        ({"external_user_ids": None}, "No Recipients"),
        ({"campaign_id": "nope"}, "Invalid Campaign ID"),
        ({"messages": {"email": {**_email(variation)["email"], "message_variation_id": None}}},
         "Message Variant Unspecified"),
        ({"external_user_ids": [f"u{n}" for n in range(51)]},
         "The max number of external_ids and aliases per request was exceeded"),
    ]
    for change, text in cases:
        response = api.post("/messages/schedule/create", {**body, **change})
        assert response.status_code == 400, (change, response.json())
        assert response.json()["message"] == text
    assert ScheduledMessage.objects.count() == 0


def test_create_refuses_bad_schedules(api, body):
    cases = [
        (None, "schedule"),
        ({}, "schedule.time"),
        ({"time": "tomorrow"}, "schedule.time"),
        ({"time": "2026-05-01T09:00:00+02:00", "in_local_time": True}, "no UTC offset"),
        ({"time": "2001-05-01T09:00:00", "in_local_time": True}, "already passed in every"),
        ({"time": _in(5), "when": "soon"}, "schedule.when"),
    ]
    for schedule, named in cases:
        data = {**body, "schedule": schedule}
        if schedule is None:
            data.pop("schedule")
        response = api.post("/messages/schedule/create", data)
        assert response.status_code == 400, (schedule, response.json())
        answer = response.json()
        assert "message" in answer and named in " ".join(answer.get("errors") or []) + str(answer)
    assert ScheduledMessage.objects.count() == 0


def test_optimal_time_falls_back_to_local_time_and_says_so(api, body):
    body["schedule"] = {"time": "2099-05-01T09:00:00", "at_optimal_time": True}
    answer = api.post("/messages/schedule/create", body).json()
    assert any("at_optimal_time" in note for note in answer["errors"])
    row = ScheduledMessage.objects.get()
    assert row.is_local and row.send_at == datetime(2099, 4, 30, 19, 0, tzinfo=UTC)  # UTC+14


def test_local_time_delivers_zone_by_zone(fire, api, body, make_profile):
    make_profile(external_id="tokyo", time_zone="Asia/Tokyo", email="t@example.test")
    make_profile(external_id="paris", time_zone="Europe/Paris", email="p@example.test")
    body["external_user_ids"] = ["tokyo", "paris", "ada"]  # ada has no zone: UTC
    body["schedule"] = {"time": "2099-01-10T09:00:00", "in_local_time": True}
    answer = api.post("/messages/schedule/create", body).json()

    def sent_to():
        return sorted(Delivery.objects.values_list("profile__external_id", flat=True))

    assert fire(now=datetime(2099, 1, 10, 0, 1, tzinfo=UTC)) == 1  # 09:01 Tokyo
    assert sent_to() == ["tokyo"]
    assert Dispatch.objects.get().dispatch_id == answer["dispatch_id"]
    assert fire(now=datetime(2099, 1, 10, 7, 0, tzinfo=UTC)) == 0  # nobody there
    assert fire(now=datetime(2099, 1, 10, 8, 0, tzinfo=UTC)) == 1  # Paris
    assert fire(now=datetime(2099, 1, 10, 9, 0, tzinfo=UTC)) == 1  # UTC
    assert sent_to() == ["ada", "paris", "tokyo"]
    row = ScheduledMessage.objects.get()
    assert row.status == "sending"  # the zones west of UTC are still to come
    assert fire(now=datetime(2099, 1, 11, 0, 0, tzinfo=UTC)) == 0
    row.refresh_from_db()
    assert row.status == "sent" and len(row.dispatch_ids) == 3


def test_update_moves_the_time_and_replaces_only_the_named_channel(api, body, variation):
    body["messages"]["webhook"] = {
        "message_variation_id": variation("webhook"), "url": "https://hooks.test/x",
        "request_method": "POST", "body": "b",
    }
    schedule_id = api.post("/messages/schedule/create", body).json()["schedule_id"]
    new_email = {**_email(variation)["email"], "subject": "New subject"}
    response = api.post("/messages/schedule/update", {
        "schedule_id": schedule_id, "schedule": {"time": _in(90)},
        "messages": {"email": new_email},
    })
    assert response.status_code == 201, response.json()
    assert response.json() == {"message": "success"}
    row = ScheduledMessage.objects.get()
    assert row.plan["messages"]["email"]["subject"] == "New subject"
    assert row.plan["messages"]["webhook"]["url"] == "https://hooks.test/x"
    assert row.send_at > timezone.now() + timedelta(minutes=80)


def test_update_refusals(api, body, variation):
    schedule_id = api.post("/messages/schedule/create", body).json()["schedule_id"]
    unknown = api.post("/messages/schedule/update",
                       {"schedule_id": "00000000-0000-4000-8000-000000000000",
                        "schedule": {"time": _in(5)}})
    assert unknown.status_code == 404 and unknown.json()["message"] == "Not Found"
    neither = api.post("/messages/schedule/update", {"schedule_id": schedule_id})
    assert neither.status_code == 400 and neither.json()["message"] == "Bad Request"
    bad_variant = {**_email(variation)["email"], "message_variation_id": variation("sms")}
    mismatch = api.post("/messages/schedule/update",
                        {"schedule_id": schedule_id, "messages": {"email": bad_variant}})
    assert mismatch.status_code == 400
    assert mismatch.json()["message"] == "Mismatched Message Type"
    row = ScheduledMessage.objects.get()
    assert row.plan["messages"]["email"]["message_variation_id"] == variation("email")


def test_delete_cancels_and_a_cancelled_schedule_never_fires(fire, api, body):
    schedule_id = api.post("/messages/schedule/create", body).json()["schedule_id"]
    response = api.post("/messages/schedule/delete", {"schedule_id": schedule_id})
    assert response.status_code == 201 and response.json() == {"message": "success"}
    again = api.post("/messages/schedule/delete", {"schedule_id": schedule_id})
    assert again.status_code == 201
    assert fire(now=timezone.now() + timedelta(days=1)) == 0
    assert Dispatch.objects.count() == 0
    moved = api.post("/messages/schedule/update",
                     {"schedule_id": schedule_id, "schedule": {"time": _in(5)}})
    assert moved.status_code == 400 and "cancelled" in moved.json()["errors"][0]
    missing = api.post("/messages/schedule/delete", {"schedule_id": "nope"})
    assert missing.status_code == 404


def test_a_sent_schedule_cannot_be_cancelled(fire, api, body):
    body["schedule"]["time"] = _in(-1)
    schedule_id = api.post("/messages/schedule/create", body).json()["schedule_id"]
    assert fire() == 1
    response = api.post("/messages/schedule/delete", {"schedule_id": schedule_id})
    assert response.status_code == 400 and "already sent" in response.json()["errors"][0]


def test_archived_campaign_or_revoked_key_stops_a_due_schedule(fire, api, api_key, body, campaign):
    body["schedule"]["time"] = _in(1)
    api.post("/messages/schedule/create", body)
    campaign.status = campaign.Status.ARCHIVED
    campaign.save()
    assert fire(now=timezone.now() + timedelta(minutes=2)) == 0
    row = ScheduledMessage.objects.get()
    assert row.status == "failed" and "archived" in row.error
    assert Dispatch.objects.count() == 0


def test_each_endpoint_needs_its_permission(api, make_api_key, body):
    _, send_only = make_api_key(permissions=["messages.send"])
    for path in ("/messages/schedule/create", "/messages/schedule/update",
                 "/messages/schedule/delete"):
        response = api.post(path, body, key=send_only)
        assert response.status_code == 403, path
    listing = api.get("/messages/scheduled_broadcasts", {"end_time": _in(60)}, key=send_only)
    assert listing.status_code == 403


def test_scheduled_broadcasts_lists_each_campaign_once_with_its_next_time(api, body, campaign):
    campaign.tags.create(name="orders")
    first = api.post("/messages/schedule/create", {**body, "schedule": {"time": _in(20)}})
    api.post("/messages/schedule/create", {**body, "schedule": {"time": _in(40)}})
    api.post("/messages/schedule/create", {**body, "schedule": {"time": _in(600)}})
    assert first.status_code == 201
    response = api.get("/messages/scheduled_broadcasts", {"end_time": _in(60)})
    assert response.status_code == 200
    (entry,) = response.json()["scheduled_broadcasts"]
    row = ScheduledMessage.objects.get(schedule_id=first.json()["schedule_id"])
    assert entry == {
        "name": campaign.name, "id": campaign.campaign_id, "type": "Campaign",
        "tags": ["orders"], "schedule_type": "UTC",
        "next_send_time": row.send_at.astimezone(UTC).isoformat(),
    }
    assert api.get("/messages/scheduled_broadcasts", {}).status_code == 400
    empty = api.get("/messages/scheduled_broadcasts", {"end_time": _in(10)}).json()
    assert empty == {"scheduled_broadcasts": [], "message": "success"}


def test_profiles_are_untouched_by_scheduling(api, body):
    before = list(Profile.objects.values_list("pk", "updated_at"))
    api.post("/messages/schedule/create", body)
    assert list(Profile.objects.values_list("pk", "updated_at")) == before
