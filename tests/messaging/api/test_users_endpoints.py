"""Profile endpoints: /users/alias/new, /users/identify, /users/delete, /users/export/ids,
/email/status and /email/unsubscribes (spec §3b)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from analytics.models import CustomEvent
from messaging.models import EmailSubscriptionState, Profile, PushToken, UserAlias

pytestmark = pytest.mark.django_db


def alias(name, label="crm"):
    return {"alias_name": name, "alias_label": label}


# --- /users/alias/new -----------------------------------------------------------------------


def test_alias_new_creates_alias_only_user_and_attaches_to_identified(api):
    Profile.objects.create(external_id="known")
    response = api.post("/users/alias/new", {"user_aliases": [
        {**alias("lead-1")}, {**alias("lead-2"), "external_id": "known"},
        {**alias("lead-3"), "external_id": "unknown"}]})
    assert response.status_code == 201
    assert response.json() == {"message": "success", "aliases_processed": 3}
    assert UserAlias.objects.get(alias_name="lead-1").profile.external_id is None
    assert UserAlias.objects.get(alias_name="lead-2").profile.external_id == "known"
    # An unknown external_id is a silent no-op (spec §3b.1).
    assert not UserAlias.objects.filter(alias_name="lead-3").exists()
    assert Profile.objects.count() == 2


def test_alias_new_taken_pair_changes_nothing_but_counts(api):
    api.post("/users/alias/new", {"user_aliases": [alias("dup")]})
    response = api.post("/users/alias/new", {"user_aliases": [alias("dup")]})
    assert response.json()["aliases_processed"] == 1
    assert UserAlias.objects.count() == 1 and Profile.objects.count() == 1


def test_alias_new_accepts_recorded_nested_shape(api):
    response = api.post("/users/alias/new", {"user_aliases": [{"user_alias": alias("nest")}]})
    assert response.json()["aliases_processed"] == 1
    assert UserAlias.objects.filter(alias_name="nest").exists()


@pytest.mark.parametrize("body, status, message", [
    ({}, 400, "user_aliases: Field required"),
    ({"user_aliases": []}, 400, None),
    ({"user_aliases": [{"alias_name": "x"}]}, 400, "user_aliases[0].alias_label: Field required"),
    ({"user_aliases": [alias(f"a{i}") for i in range(51)]}, 400,
     "The max number of ids per request was exceeded"),
])
def test_alias_new_invalid(api, body, status, message):
    response = api.post("/users/alias/new", body)
    assert response.status_code == status
    if message:
        assert response.json()["message"] == message
    assert not UserAlias.objects.exists()


# --- /users/identify -------------------------------------------------------------------------


def test_identify_alias_without_target_assigns_external_id(api):
    api.post("/users/alias/new", {"user_aliases": [alias("anon")]})
    response = api.post("/users/identify", {"aliases_to_identify": [
        {"external_id": "cust-7", "user_alias": alias("anon")}]})
    assert response.json() == {"message": "success", "aliases_processed": 1}
    profile = Profile.objects.get()
    assert profile.external_id == "cust-7" and profile.aliases.get().alias_name == "anon"


def test_identify_folds_alias_profile_into_existing_user(api):
    api.post("/users/track", {
        "attributes": [{"external_id": "cust", "first_name": "Kept", "tier": "gold"},
                       {"user_alias": alias("anon"), "_update_existing_only": False,
                        "first_name": "Lost", "last_name": "Carried", "tier": "bronze",
                        "only_anon": 1,
                        "push_tokens": [{"app_id": "a", "token": "t"}]}],
        "events": [{"user_alias": alias("anon"), "name": "browsed", "time": "2024-01-01"}],
    })
    anon = UserAlias.objects.get(alias_name="anon").profile
    api.post("/users/identify", {"aliases_to_identify": [
        {"external_id": "cust", "user_alias": alias("anon")}], "merge_behavior": "merge"})
    assert not Profile.objects.filter(pk=anon.pk).exists()
    target = Profile.objects.get()
    # Only what exists solely on the unidentified profile is carried (spec §3b.2).
    assert (target.first_name, target.last_name) == ("Kept", "Carried")
    assert target.custom_attributes == {"tier": "gold", "only_anon": 1}
    assert target.aliases.get().alias_name == "anon"
    assert PushToken.objects.get().profile == target
    assert CustomEvent.objects.get().profile == target


def test_identify_alias_name_is_case_sensitive(api):
    api.post("/users/alias/new", {"user_aliases": [alias("Anon")]})
    response = api.post("/users/identify", {"aliases_to_identify": [
        {"external_id": "x", "user_alias": alias("anon")}]})
    assert response.status_code == 201
    assert Profile.objects.get().external_id is None


def test_identify_by_email_with_prioritization(api):
    older = Profile.objects.create(email="e@example.test")
    newer = Profile.objects.create(email="e@example.test")
    Profile.objects.filter(pk=older.pk).update(updated_at=timezone.now() - timedelta(days=1))
    # Two candidates and no ordering rule: nothing happens.
    api.post("/users/identify", {"emails_to_identify": [
        {"external_id": "e1", "email": "e@example.test", "prioritization": ["unidentified"]}]})
    assert not Profile.objects.filter(external_id="e1").exists()
    api.post("/users/identify", {"emails_to_identify": [
        {"external_id": "e1", "email": "E@example.test",
         "prioritization": ["unidentified", "most_recently_updated"]}]})
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.external_id == "e1" and older.external_id is None


def test_identify_by_phone(api):
    Profile.objects.create(phone="+15550100")
    api.post("/users/identify", {"phone_numbers_to_identify": [
        {"external_id": "p1", "phone": "+15550100", "prioritization": ["unidentified"]}]})
    assert Profile.objects.get().external_id == "p1"


@pytest.mark.parametrize("body, needle", [
    ({}, "one of aliases_to_identify"),
    ({"aliases_to_identify": [{"external_id": "x"}]}, "user_alias"),
    ({"emails_to_identify": [{"external_id": "x", "email": "a@b.c",
                              "prioritization": ["identified", "unidentified"]}]}, "only one"),
    ({"aliases_to_identify": [{"external_id": str(i), "user_alias": alias(str(i))}
                              for i in range(51)]}, "max number of ids"),
    ({"aliases_to_identify": [], "merge_behavior": "sometimes"}, "merge_behavior"),
])
def test_identify_invalid(api, body, needle):
    response = api.post("/users/identify", body)
    assert response.status_code == 400
    assert needle in str(response.json())


# --- /users/delete ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["external_ids", "braze_ids", "user_aliases",
                                  "email_addresses", "phone_numbers"])
def test_delete_by_each_identifier(api, kind):
    doomed = Profile.objects.create(external_id="d", email="d@example.test", phone="+1999")
    UserAlias.objects.create(profile=doomed, **alias("dd"))
    kept = Profile.objects.create(external_id="k")
    values = {
        "external_ids": ["d", "nobody"], "braze_ids": [doomed.braze_id],
        "user_aliases": [alias("dd")],
        "email_addresses": [{"email": "d@example.test", "prioritization": ["identified"]}],
        "phone_numbers": ["+1999"],
    }[kind]
    response = api.post("/users/delete", {kind: values})
    assert response.status_code == 201
    assert response.json() == {"message": "success", "deleted": len(values)}
    assert list(Profile.objects.all()) == [kept]
    assert not UserAlias.objects.exists()


def test_delete_ambiguous_email_deletes_nothing(api):
    Profile.objects.create(email="same@example.test")
    Profile.objects.create(email="same@example.test")
    api.post("/users/delete", {"email_addresses": ["same@example.test"]})
    assert Profile.objects.count() == 2


@pytest.mark.parametrize("body, needle", [
    ({}, "exactly one"),
    ({"external_ids": ["a"], "braze_ids": ["b"]}, "exactly one"),
    ({"external_ids": [str(i) for i in range(51)]}, "The max number of ids per request"),
    ({"external_ids": "a"}, "external_ids"),
    ({"everyone": True}, "everyone"),
])
def test_delete_invalid_deletes_nothing(api, body, needle):
    Profile.objects.create(external_id="a")
    response = api.post("/users/delete", body)
    assert response.status_code == 400
    assert needle in str(response.json())
    assert Profile.objects.count() == 1


# --- /users/export/ids -----------------------------------------------------------------------


@pytest.fixture
def tracked(api):
    api.post("/users/track", {
        "attributes": [{"external_id": "ana", "first_name": "Ana", "email": "ana@example.test",
                        "phone": "+15550123", "dob": "1990-01-02", "tier": "gold",
                        "current_location": {"longitude": 2.35, "latitude": 48.85},
                        "push_tokens": [{"app_id": "ios-app", "token": "tok",
                                         "device_id": "dev-9"}]}],
        "events": [{"external_id": "ana", "name": "viewed", "time": "2024-01-01T10:00:00Z"},
                   {"external_id": "ana", "name": "viewed", "time": "2024-02-01T10:00:00Z"}],
        "purchases": [{"external_id": "ana", "product_id": "sku", "currency": "USD",
                       "price": 10.5, "quantity": 2, "time": "2024-03-01T00:00:00Z"}],
    })
    api.post("/users/alias/new", {"user_aliases": [{**alias("crm-ana"), "external_id": "ana"}]})
    return Profile.objects.get(external_id="ana")


def test_export_by_external_id_returns_full_profile(api, tracked):
    response = api.post("/users/export/ids", {"external_ids": ["ana", "ghost"]})
    assert response.status_code == 201
    body = response.json()
    assert body["invalid_user_ids"] == ["ghost"]
    (user,) = body["users"]
    assert user["external_id"] == "ana" and user["braze_id"] == tracked.braze_id
    assert user["first_name"] == "Ana" and user["email"] == "ana@example.test"
    assert user["dob"] == "1990-01-02" and user["last_coordinates"] == [2.35, 48.85]
    assert user["custom_attributes"] == {"tier": "gold"}
    assert user["user_aliases"] == [alias("crm-ana")]
    assert user["custom_events"] == [{"name": "viewed", "first": "2024-01-01T10:00:00.000Z",
                                      "last": "2024-02-01T10:00:00.000Z", "count": 2}]
    assert user["purchases"] == [{"name": "sku", "first": "2024-03-01T00:00:00.000Z",
                                  "last": "2024-03-01T00:00:00.000Z", "count": 2}]
    assert user["total_revenue"] == 21.0
    assert user["push_tokens"] == [{"app": "ios-app", "token": "tok", "device_id": "dev-9",
                                    "notifications_enabled": True}]
    assert user["devices"] == [{"device_id": "dev-9"}]
    assert user["created_at"].endswith("Z")
    assert "last_name" not in user  # only keys with data


@pytest.mark.parametrize("body", [
    {"user_aliases": [alias("crm-ana")]},
    {"braze_id": "BRAZE"},
    {"email_address": "ANA@example.test"},
    {"phone": "+15550123"},
    {"device_id": "dev-9"},
])
def test_export_by_each_identifier(api, tracked, body):
    if body.get("braze_id") == "BRAZE":
        body = {"braze_id": tracked.braze_id}
    users = api.post("/users/export/ids", body).json()["users"]
    assert [u["external_id"] for u in users] == ["ana"]


def test_export_fields_to_export_limits_keys(api, tracked):
    body = api.post("/users/export/ids", {"external_ids": ["ana"],
                                          "fields_to_export": ["first_name", "email"]}).json()
    assert body["users"] == [{"first_name": "Ana", "email": "ana@example.test"}]
    assert "invalid_user_ids" not in body


def test_export_integer_ids_come_back_as_strings(api):
    Profile.objects.create(external_id="400")
    users = api.post("/users/export/ids", {"external_ids": [400, 401]}).json()
    assert users["users"][0]["external_id"] == "400" and users["invalid_user_ids"] == ["401"]


def test_export_nothing_matched(api):
    body = api.post("/users/export/ids", {"email_address": "none@example.test"}).json()
    assert body == {"message": "success", "users": [], "invalid_user_ids": ["none@example.test"]}


@pytest.mark.parametrize("body, needle", [
    ({}, "give external_ids"),
    ({"email_address": "a@b.c", "phone": "+1"}, "at most one"),
    ({"external_ids": ["a"], "fields_to_export": ["shoe_size"]}, "fields_to_export"),
    ({"external_ids": [str(i) for i in range(51)]},
     "The max number of external_ids and aliases per request was exceeded"),
    ({"external_ids": ["a"] * 30, "user_aliases": [alias(str(i)) for i in range(21)]},
     "The max number of external_ids and aliases"),
])
def test_export_invalid(api, body, needle):
    response = api.post("/users/export/ids", body)
    assert response.status_code == 400
    assert needle in str(response.json())


# --- /email/status and /email/unsubscribes ------------------------------------------------


def test_email_status_updates_profiles_and_remembers_unknown(api):
    Profile.objects.create(external_id="a", email="a@example.test")
    Profile.objects.create(external_id="b", email="a@example.test")
    response = api.post("/email/status", {"email": ["A@example.test", "new@example.test"],
                                          "subscription_state": "unsubscribed"})
    assert response.status_code == 201 and response.json() == {"message": "success"}
    assert set(Profile.objects.values_list("email_subscribe", flat=True)) == {"unsubscribed"}
    assert EmailSubscriptionState.objects.get(email="new@example.test").state == "unsubscribed"
    # The remembered state applies when a profile later gets the address.
    api.post("/users/track", {"attributes": [{"external_id": "c", "email": "new@example.test"}]})
    assert Profile.objects.get(external_id="c").email_subscribe == "unsubscribed"


def test_email_status_single_address(api):
    Profile.objects.create(external_id="a", email="a@example.test", email_subscribe="unsubscribed")
    api.post("/email/status", {"email": "a@example.test", "subscription_state": "opted_in"})
    assert Profile.objects.get().email_subscribe == "opted_in"


@pytest.mark.parametrize("body, needle", [
    ({"subscription_state": "subscribed"}, "email"),
    ({"email": "a@example.test"}, "subscription_state"),
    ({"email": "a@example.test", "subscription_state": "maybe"}, "subscription_state"),
    ({"email": "not-an-address", "subscription_state": "subscribed"}, "valid email"),
    ({"email": [f"u{i}@example.test" for i in range(51)], "subscription_state": "subscribed"},
     "at most 50"),
    ({"email": [], "subscription_state": "subscribed"}, "at least one"),
])
def test_email_status_invalid_changes_nothing(api, body, needle):
    response = api.post("/email/status", body)
    assert response.status_code == 400
    assert needle in str(response.json())
    assert not EmailSubscriptionState.objects.exists()


def test_email_unsubscribes_lists_window_and_pages(api):
    api.post("/email/status", {"email": ["x@example.test", "y@example.test", "z@example.test"],
                               "subscription_state": "unsubscribed"})
    api.post("/email/status", {"email": "s@example.test", "subscription_state": "subscribed"})
    EmailSubscriptionState.objects.filter(email="x@example.test").update(
        updated_at=datetime(2024, 1, 5, 12, tzinfo=UTC))
    EmailSubscriptionState.objects.filter(email="y@example.test").update(
        updated_at=datetime(2024, 1, 6, 12, tzinfo=UTC))
    EmailSubscriptionState.objects.filter(email="z@example.test").update(
        updated_at=datetime(2024, 3, 1, tzinfo=UTC))
    response = api.get("/email/unsubscribes", {"start_date": "2024-01-01",
                                               "end_date": "2024-02-01"})
    assert response.status_code == 200
    assert response.json() == {"message": "success", "emails": [
        {"email": "y@example.test", "unsubscribed_at": "2024-01-06 12:00:00 +0000"},
        {"email": "x@example.test", "unsubscribed_at": "2024-01-05 12:00:00 +0000"}]}
    page = api.get("/email/unsubscribes", {"start_date": "2024-01-01", "end_date": "2024-02-01",
                                           "limit": 1, "offset": 1, "sort_direction": "desc"})
    assert [e["email"] for e in page.json()["emails"]] == ["x@example.test"]
    one = api.get("/email/unsubscribes", {"end_date": "2024-02-01", "email": "z@example.test"})
    assert [e["email"] for e in one.json()["emails"]] == ["z@example.test"]
    none = api.get("/email/unsubscribes", {"end_date": "2024-02-01", "email": "s@example.test"})
    assert none.json() == {"message": "success", "emails": []}


@pytest.mark.parametrize("params, needle", [
    ({}, "end_date"),
    ({"end_date": "2024-01-01"}, "start_date or email"),
    ({"start_date": "2024-02-01", "end_date": "2024-01-01"}, "earlier"),
    ({"start_date": "2024-01-01", "end_date": "2024-02-01", "limit": 501}, "limit"),
    ({"start_date": "2024-01-01", "end_date": "not-a-date"}, "end_date"),
])
def test_email_unsubscribes_invalid(api, params, needle):
    response = api.get("/email/unsubscribes", params)
    assert response.status_code == 400
    assert needle in str(response.json())
