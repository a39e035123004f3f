"""POST /campaigns/trigger/send and /campaigns/trigger/schedule/*: valid and invalid bodies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, MessageVariation
from messaging.models import Delivery, Dispatch, ScheduledMessage, UserAlias

from .conftest import EMAIL

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_profile):
    ada = make_profile(external_id="ada", first_name="Ada", email="ada@example.test")
    bob = make_profile(external_id="bob", first_name="Bob", email="bob@example.test")
    UserAlias.objects.create(profile=bob, alias_label="crm", alias_name="b-1")
    held = make_profile(external_id="held", first_name="Held", email="held@example.test",
                        in_global_control_group=True)
    return ada, bob, held


def _send(api, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return api.post("/campaigns/trigger/send", data)


def test_trigger_renders_request_and_recipient_properties(
    api, triggered, people, django_capture_on_commit_callbacks
):
    response = _send(api, {
        "campaign_id": triggered.campaign_id,
        "trigger_properties": {"order": "A-1", "note": "See you"},
        "recipients": [
            {"external_user_id": "ada"},
            {"user_alias": {"alias_label": "crm", "alias_name": "b-1"},
             "trigger_properties": {"order": "B-2"}},
            {"external_user_id": "nobody"},
        ],
    }, django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["message"] == "success"
    assert answer["errors"] == ["recipients[2]: no user with external_id 'nobody'"]
    assert Dispatch.objects.get().dispatch_id == answer["dispatch_id"]
    subjects = dict(Delivery.objects.values_list("profile__external_id", "rendered__subject"))
    assert subjects == {"ada": "Order A-1 for Ada", "bob": "Order B-2 for Bob"}
    assert Delivery.objects.get(profile__external_id="bob").rendered["body"] == "<p>See you</p>"


def test_broadcast_leaves_out_the_global_control_group(
    api, triggered, people, django_capture_on_commit_callbacks
):
    response = _send(api, {"campaign_id": triggered.campaign_id, "broadcast": True},
                     django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.json()
    assert sorted(Delivery.objects.values_list("profile__external_id", flat=True)) == [
        "ada", "bob",
    ]


def test_api_campaign_still_reaches_the_global_control_group(api, campaign, variation, people,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/messages/send", {
            "campaign_id": campaign.campaign_id, "external_user_ids": ["held"],
            "messages": {"email": {**EMAIL, "message_variation_id": variation("email")}},
        })
    assert response.status_code == 201
    assert Delivery.objects.get().profile.external_id == "held"


def test_variants_split_the_audience_by_random_bucket(
    api, triggered, make_profile, django_capture_on_commit_callbacks
):
    MessageVariation.objects.create(
        campaign=triggered, channel="email", name="Email B", position=1,
        content={**EMAIL, "subject": "B"},
    )
    for n, bucket in enumerate([10, 4999, 5000, 9999]):
        make_profile(external_id=f"p{n}", email=f"p{n}@example.test", random_bucket=bucket)
    response = _send(api, {"campaign_id": triggered.campaign_id, "broadcast": True,
                           "trigger_properties": {"order": "X"}},
                     django_capture_on_commit_callbacks)
    assert response.status_code == 201
    assert Dispatch.objects.count() == 2
    got = dict(Delivery.objects.values_list("profile__external_id", "variation__name"))
    assert got == {"p0": "Email A", "p1": "Email A", "p2": "Email B", "p3": "Email B"}


@pytest.mark.parametrize(("change", "status", "text"), [
    ({"campaign_id": "nope"}, 400, "Invalid Campaign ID"),
    ({"recipients": None}, 400, "No Recipients"),
    ({"broadcast": True}, 400, "Bad Request"),
    ({"recipients": [{"external_user_id": f"u{n}"} for n in range(51)]}, 400,
     "The max number of external_ids and aliases per request was exceeded"),
    ({"recipients": [{"external_user_id": "ada", "user_alias": {
        "alias_label": "a", "alias_name": "b"}}]}, 400, None),
    ({"recipients": [{"email": "ada@example.test"}]}, 400, None),
    ({"trigger_properties": {"big": "x" * 52_000}}, 400, "Bad Request"),
])
def test_trigger_refusals(api, triggered, people, change, status, text):
    data = {"campaign_id": triggered.campaign_id,
            "recipients": [{"external_user_id": "ada"}], **change}
    data = {k: v for k, v in data.items() if v is not None}
    response = api.post("/campaigns/trigger/send", data)
    assert response.status_code == status, response.json()
    if text:
        assert response.json()["message"] == text
    assert Dispatch.objects.count() == 0


def test_an_api_campaign_is_not_triggered_and_a_triggered_one_is_not_sent(
    api, campaign, triggered, people, variation
):
    refused = api.post("/campaigns/trigger/send", {
        "campaign_id": campaign.campaign_id, "recipients": [{"external_user_id": "ada"}],
    })
    assert refused.status_code == 400 and refused.json()["message"] == "Invalid Campaign ID"
    sent = api.post("/messages/send", {
        "campaign_id": triggered.campaign_id, "external_user_ids": ["ada"],
        "messages": {"email": {**EMAIL, "message_variation_id":
                               str(triggered.variations.get().api_id)}},
    })
    assert sent.status_code == 400 and sent.json()["message"] == "Invalid Campaign ID"


def test_unwritten_content_and_archived_campaign_are_refused(api, triggered, people):
    variation = triggered.variations.get()
    variation.content = {}
    variation.save()
    body = {"campaign_id": triggered.campaign_id, "recipients": [{"external_user_id": "ada"}]}
    empty = api.post("/campaigns/trigger/send", body)
    assert empty.status_code == 400 and empty.json()["message"] == "No message to send"
    triggered.status = Campaign.Status.ARCHIVED
    triggered.save()
    archived = api.post("/campaigns/trigger/send", body)
    assert archived.status_code == 400 and "archived" in archived.json()["message"]


def test_trigger_needs_its_permission(api, make_api_key, triggered, people):
    _, key = make_api_key(permissions=["messages.send"])
    body = {"campaign_id": triggered.campaign_id, "recipients": [{"external_user_id": "ada"}]}
    assert api.post("/campaigns/trigger/send", body, key=key).status_code == 403
    for path in ("create", "update", "delete"):
        response = api.post(f"/campaigns/trigger/schedule/{path}", body, key=key)
        assert response.status_code == 403, path


def test_trigger_schedule_fires_with_the_content_as_it_is_then(api, triggered, people, fire):
    when = (timezone.now() + timedelta(minutes=5)).replace(microsecond=0)
    response = api.post("/campaigns/trigger/schedule/create", {
        "campaign_id": triggered.campaign_id, "recipients": [{"external_user_id": "ada"}],
        "trigger_properties": {"order": "S-9"}, "schedule": {"time": when.isoformat()},
    })
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert set(answer) == {"dispatch_id", "schedule_id", "message"}
    variation = triggered.variations.get()
    variation.content = {**EMAIL, "subject": "Edited {{api_trigger_properties.${order}}}"}
    variation.save()
    assert fire(now=when + timedelta(seconds=5)) == 1
    assert Dispatch.objects.get().dispatch_id == answer["dispatch_id"]
    assert Delivery.objects.get().rendered["subject"] == "Edited S-9"


def test_trigger_schedule_update_and_delete_name_the_campaign(api, triggered, people, fire):
    created = api.post("/campaigns/trigger/schedule/create", {
        "campaign_id": triggered.campaign_id, "recipients": [{"external_user_id": "ada"}],
        "schedule": {"time": (timezone.now() + timedelta(hours=1)).isoformat()},
    }).json()
    schedule_id = created["schedule_id"]
    later = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    other = Campaign.objects.create(name="Other", kind=Campaign.Kind.API_TRIGGERED)
    wrong = api.post("/campaigns/trigger/schedule/update", {
        "campaign_id": other.campaign_id, "schedule_id": schedule_id,
        "schedule": {"time": later.isoformat()},
    })
    assert wrong.status_code == 404
    moved = api.post("/campaigns/trigger/schedule/update", {
        "campaign_id": triggered.campaign_id, "schedule_id": schedule_id,
        "schedule": {"time": later.isoformat()},
    })
    assert moved.status_code == 201 and moved.json() == {"message": "success"}
    assert ScheduledMessage.objects.get().send_at == later
    # A trigger's schedule is not an API campaign's: the other endpoint does not know it.
    assert api.post("/messages/schedule/delete",
                    {"schedule_id": schedule_id}).status_code == 404
    deleted = api.post("/campaigns/trigger/schedule/delete",
                       {"campaign_id": triggered.campaign_id, "schedule_id": schedule_id})
    assert deleted.status_code == 201
    assert fire(now=later + timedelta(minutes=1)) == 0
    assert ScheduledMessage.objects.get().status == "cancelled"


def test_trigger_schedule_of_a_campaign_archived_meanwhile_is_not_sent(api, triggered, people,
                                                                       fire):
    when = timezone.now() + timedelta(minutes=1)
    api.post("/campaigns/trigger/schedule/create", {
        "campaign_id": triggered.campaign_id, "recipients": [{"external_user_id": "ada"}],
        "schedule": {"time": when.isoformat()},
    })
    triggered.status = Campaign.Status.ARCHIVED
    triggered.save()
    assert fire(now=when + timedelta(minutes=1)) == 0
    row = ScheduledMessage.objects.get()
    assert row.status == "failed" and "archived" in row.error


def test_variant_groups_give_each_bucket_the_variant_of_its_even_share():
    from types import SimpleNamespace

    from messaging.services.triggers import BUCKETS, variant_groups

    email = [SimpleNamespace(channel="email", name=n) for n in "AB"]
    sms = [SimpleNamespace(channel="sms", name=n) for n in "XYZ"]
    groups = variant_groups(email + sms)
    assert groups[0][0][0] == 0 and groups[-1][0][1] == BUCKETS
    for (low, high), chosen in groups:
        for bucket in (low, high - 1):
            assert chosen["email"] is email[bucket * 2 // BUCKETS]
            assert chosen["sms"] is sms[bucket * 3 // BUCKETS]
