"""The subscription group registry: unknown IDs refused by the subscription endpoints and
the SMS channel, /subscription/user/status, the data migration, the ready curl."""

from __future__ import annotations

import importlib
import json
import shlex

import pytest
from django.apps import apps as django_apps

from messaging.models import Dispatch, Profile, SubscriptionGroup
from messaging.services.providers import subscription_group_create
from tests.analytics.helpers import make_campaign

pytestmark = pytest.mark.django_db

UNKNOWN = "Invalid subscription group ID"


@pytest.fixture
def groups():
    email = subscription_group_create(name="Newsletter", channel="email")
    sms = subscription_group_create(name="Order texts", channel="sms",
                                    sender_numbers=["+1 415 555 0100"])
    return email, sms


def _groups_of(external_id):
    return Profile.objects.get(external_id=external_id).standard_extras.get("subscription_groups")


def test_without_any_group_registered_any_id_is_accepted(api):
    Profile.objects.create(external_id="ada")
    response = api.post("/subscription/status/set", {
        "subscription_group_id": "anything", "subscription_state": "subscribed",
        "external_id": ["ada"]})
    assert response.status_code == 201


def test_status_set_refuses_an_unknown_group_and_writes_nothing(api, groups):
    Profile.objects.create(external_id="ada")
    response = api.post("/subscription/status/set", {
        "subscription_group_id": "nope", "subscription_state": "subscribed",
        "external_id": ["ada"]})
    assert response.status_code == 400
    assert response.json()["message"] == UNKNOWN
    assert not _groups_of("ada")
    ok = api.post("/subscription/status/set", {
        "subscription_group_id": groups[0].group_id, "subscription_state": "subscribed",
        "external_id": ["ada"]})
    assert ok.status_code == 201
    assert _groups_of("ada") == {groups[0].group_id: "subscribed"}


def test_v2_checks_every_group_before_writing_any(api, groups):
    Profile.objects.create(external_id="ada")
    response = api.post("/v2/subscription/status/set", {"subscription_groups": [
        {"subscription_group_id": groups[0].group_id, "subscription_state": "subscribed",
         "external_ids": ["ada"]},
        {"subscription_group_id": "nope", "subscription_state": "subscribed",
         "external_ids": ["ada"]},
    ]})
    assert response.status_code == 400 and response.json()["message"] == UNKNOWN
    assert not _groups_of("ada")


def test_status_get_refuses_an_unknown_group(api, groups):
    response = api.get("/subscription/status/get",
                       {"subscription_group_id": "nope", "external_id": "ada"})
    assert response.status_code == 400 and response.json()["message"] == UNKNOWN


def test_an_sms_send_needs_a_registered_sms_group(api, groups):
    Profile.objects.create(external_id="ada", phone="+14155550199")
    sms = {"app_id": "any", "body": "Hi"}
    for group_id in ("nope", groups[0].group_id):  # unknown; an email group
        response = api.post("/messages/send", {"external_user_ids": ["ada"], "messages": {
            "sms": {**sms, "subscription_group_id": group_id}}})
        assert response.status_code == 400
        assert response.json()["message"] == UNKNOWN
    assert not Dispatch.objects.exists()
    response = api.post("/messages/send", {"external_user_ids": ["ada"], "messages": {
        "sms": {**sms, "subscription_group_id": groups[1].group_id}}})
    assert response.status_code == 201


def test_user_status_lists_each_users_groups(api, groups):
    email, sms = groups
    Profile.objects.create(external_id="ada", email="ada@example.test", standard_extras={
        "subscription_groups": {email.group_id: "subscribed", sms.group_id: "unsubscribed"}})
    Profile.objects.create(external_id="bob")
    response = api.get("/subscription/user/status", {"external_id[]": ["ada", "bob"]})
    assert response.status_code == 200
    answer = response.json()
    assert answer["total_count"] == 2 and answer["message"] == "success"
    ada, bob = answer["users"]
    assert ada["external_id"] == "ada" and ada["email"] == "ada@example.test"
    assert ada["subscription_groups"] == [
        {"id": g.group_id, "name": g.name, "channel": g.channel, "status": s}
        for g, s in sorted([(email, "Subscribed"), (sms, "Unsubscribed")],
                           key=lambda pair: pair[0].group_id)
    ]
    assert bob["subscription_groups"] == []
    assert api.get("/subscription/user/status", {"limit": 5}).status_code == 400
    assert api.get("/subscription/user/status",
                   {"external_id": "ada", "limit": 101}).status_code == 400


def test_the_data_migration_registers_ids_already_stored(db):
    Profile.objects.create(external_id="a", standard_extras={
        "subscription_groups": {"legacy-email": "subscribed"}})
    Profile.objects.create(external_id="b", standard_extras={"subscription_groups": [
        {"subscription_group_id": "legacy-sms", "subscription_state": "unsubscribed"}]})
    Dispatch.objects.create(messages={"sms": {"subscription_group_id": "legacy-sms"}},
                            audience={})
    migration = importlib.import_module(
        "messaging.migrations.0007_subscription_groups_register_stored")
    migration.register(django_apps, None)
    migration.register(django_apps, None)  # twice: nothing registered twice
    registered = dict(SubscriptionGroup.objects.values_list("group_id", "channel"))
    assert registered == {"legacy-email": "email", "legacy-sms": "sms"}


def test_the_ready_curl_names_the_sms_group(marketer_client, groups):
    campaign = make_campaign(variations=[("sms", "Variant 1")])
    curl = marketer_client.get(f"/messaging/campaigns/{campaign.api_id}/").context["curl"]
    sent = json.loads(shlex.split(curl)[-1])
    assert sent["messages"]["sms"]["subscription_group_id"] == groups[1].group_id


def test_settings_page_creates_groups_and_refuses_bad_numbers(developer_client, client,
                                                              make_user):
    empty = developer_client.get("/settings/subscription-groups/")
    assert "No subscription groups yet" in empty.content.decode()
    bad = developer_client.post("/settings/subscription-groups/", {
        "name": "Texts", "channel": "sms", "sender_numbers": "555-0100"})
    assert bad.status_code == 400 and "not an E.164 number" in bad.content.decode()
    none = developer_client.post("/settings/subscription-groups/", {
        "name": "Texts", "channel": "sms", "sender_numbers": ""})
    assert "needs a sender number" in none.content.decode()
    assert not SubscriptionGroup.objects.exists()
    ok = developer_client.post("/settings/subscription-groups/", {
        "name": "Texts", "channel": "sms", "sender_numbers": "+14155550100\n+14155550101"})
    assert ok.status_code == 302
    group = SubscriptionGroup.objects.get()
    assert group.sender_numbers == ["+14155550100", "+14155550101"]
    listing = developer_client.get("/settings/subscription-groups/").content.decode()
    assert group.group_id in listing and "+14155550101" in listing
    client.force_login(make_user("viewer", role="Viewer"))
    assert client.get("/settings/subscription-groups/").status_code == 200
    assert client.post("/settings/subscription-groups/", {
        "name": "x", "channel": "email"}).status_code == 403
