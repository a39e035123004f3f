"""Subscription groups: /subscription/status/set, /v2/subscription/status/set, /…/get (§3b.7)."""

from __future__ import annotations

import pytest

from messaging.models import Profile

pytestmark = pytest.mark.django_db

GROUP = "7f3c0e1a-5b2d-4c11-9e0b-000000000001"


def groups(profile: Profile) -> dict:
    profile.refresh_from_db()
    return profile.standard_extras.get("subscription_groups", {})


def test_set_by_external_id_then_get(api):
    ana = Profile.objects.create(external_id="ana")
    Profile.objects.create(external_id="bob")
    response = api.post("/subscription/status/set", {
        "subscription_group_id": GROUP, "subscription_state": "unsubscribed",
        "external_id": ["ana"]})
    assert response.status_code == 201 and response.json() == {"message": "success"}
    assert groups(ana) == {GROUP: "unsubscribed"}
    response = api.get("/subscription/status/get", {"subscription_group_id": GROUP,
                                                    "external_id[]": ["ana", "bob", "nobody"]})
    assert response.status_code == 200
    assert response.json()["status"] == {"ana": "Unsubscribed", "bob": "Unknown",
                                         "nobody": "Unknown"}


def test_set_by_email_updates_every_profile_sharing_it(api):
    first = Profile.objects.create(external_id="a", email="same@example.test")
    second = Profile.objects.create(external_id="b", email="same@example.test")
    api.post("/subscription/status/set", {"subscription_group_id": GROUP,
                                          "subscription_state": "subscribed",
                                          "email": "SAME@example.test"})
    assert groups(first) == groups(second) == {GROUP: "subscribed"}
    status = api.get("/subscription/status/get", {"subscription_group_id": GROUP,
                                                  "email": "same@example.test"}).json()
    assert status["status"] == {"same@example.test": "Subscribed"}


def test_track_and_status_share_the_same_state(api):
    api.post("/users/track", {"attributes": [{"external_id": "t", "subscription_groups": [
        {"subscription_group_id": GROUP, "subscription_state": "subscribed"}]}]})
    status = api.get("/subscription/status/get", {"subscription_group_id": GROUP,
                                                  "external_id": "t"}).json()
    assert status["status"] == {"t": "Subscribed"}


def test_v2_sets_several_groups(api):
    profile = Profile.objects.create(external_id="v", phone="+15550100")
    response = api.post("/v2/subscription/status/set", {"subscription_groups": [
        {"subscription_group_id": "g1", "subscription_state": "subscribed", "external_id": "v"},
        {"subscription_group_id": "g2", "subscription_state": "unsubscribed",
         "phones": ["+15550100"], "use_double_opt_in_logic": True},
    ]})
    assert response.status_code == 201
    assert groups(profile) == {"g1": "subscribed", "g2": "unsubscribed"}


@pytest.mark.parametrize("path, body, needle", [
    ("/subscription/status/set", {"subscription_group_id": GROUP, "subscription_state":
     "subscribed", "email": "a@example.test", "phone": "+1555"},
     "Either an email address or a phone number should be provided, but not both."),
    ("/subscription/status/set", {"subscription_group_id": GROUP,
                                  "subscription_state": "opted_in", "external_id": "a"},
     "subscription_state"),
    ("/subscription/status/set", {"subscription_group_id": GROUP,
                                  "subscription_state": "subscribed"}, "give external_id"),
    ("/subscription/status/set", {"subscription_group_id": GROUP, "subscription_state":
     "subscribed", "external_id": [str(i) for i in range(51)]}, "external_id"),
    ("/v2/subscription/status/set", {"subscription_groups": []}, "subscription_groups"),
])
def test_invalid_requests_change_nothing(api, path, body, needle):
    profile = Profile.objects.create(external_id="a", email="a@example.test")
    response = api.post(path, body)
    assert response.status_code == 400
    assert needle in str(response.json())
    assert groups(profile) == {}


@pytest.mark.parametrize("params, needle", [
    ({"external_id": "a"}, "subscription_group_id"),
    ({"subscription_group_id": GROUP}, "give external_id"),
    ({"subscription_group_id": GROUP, "email": "a@example.test", "phone": "+1"},
     "not both"),
])
def test_get_invalid(api, params, needle):
    response = api.get("/subscription/status/get", params)
    assert response.status_code == 400
    assert needle in str(response.json())
