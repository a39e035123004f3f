"""POST /users/track: attributes, events, purchases, limits and partial success (spec §3.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import CustomEvent, Purchase
from messaging.models import EmailSubscriptionState, Profile, PushToken, UserAlias

pytestmark = pytest.mark.django_db


def track(api, **body):
    return api.post("/users/track", body)


# --- attributes -----------------------------------------------------------------------


def test_attributes_create_profile_with_standard_and_custom_fields(api):
    response = track(api, attributes=[{
        "external_id": "cust-1", "first_name": "Ana", "last_name": "Silva",
        "email": "Ana@Example.test", "phone": "+15555550100", "country": "fr",
        "home_city": "Lyon", "language": "FR", "dob": "1990-04-02", "gender": "female",
        "time_zone": "Europe/Paris", "email_subscribe": "opted_in",
        "push_subscribe": "unsubscribed", "email_click_tracking_disabled": True,
        "current_location": {"longitude": 4.8, "latitude": 45.7},
        "loyalty_tier": "gold", "points": 120, "tags": ["a", "b"],
        "address": {"city": "Lyon", "zip": "69001"},
    }])
    assert response.status_code == 201
    assert response.json() == {"message": "success", "attributes_processed": 1}
    profile = Profile.objects.get(external_id="cust-1")
    assert (profile.first_name, profile.last_name, profile.email) == ("Ana", "Silva",
                                                                      "ana@example.test")
    assert (profile.country, profile.language, profile.gender) == ("FR", "fr", "F")
    assert str(profile.dob) == "1990-04-02" and profile.time_zone == "Europe/Paris"
    assert profile.email_subscribe == "opted_in" and profile.push_subscribe == "unsubscribed"
    assert profile.email_click_tracking_disabled is True
    assert profile.standard_extras["current_location"] == {"longitude": 4.8, "latitude": 45.7}
    assert profile.custom_attributes == {"loyalty_tier": "gold", "points": 120,
                                         "tags": ["a", "b"],
                                         "address": {"city": "Lyon", "zip": "69001"}}
    assert response["X-RateLimit-Limit"] == "3000"


def test_integer_external_id_is_coerced_to_string(api):
    response = track(api, attributes=[{"external_id": 12345, "first_name": "N"}])
    assert response.status_code == 201
    assert Profile.objects.get(external_id="12345").first_name == "N"


def test_custom_attribute_operations(api):
    track(api, attributes=[{"external_id": "u", "count": 1, "tags": ["a", "b", "c"],
                            "gone": "x", "keep": 1}])
    response = track(api, attributes=[
        {"external_id": "u", "count": {"inc": 4}, "tags": {"add": ["a", "d"], "remove": ["b"]},
         "gone": None, "fresh": {"inc": 2}},
    ])
    assert response.status_code == 201
    custom = Profile.objects.get(external_id="u").custom_attributes
    # "a" re-added moves to the end; "b" removed; null deletes; inc on nothing starts at 0.
    assert custom == {"count": 5, "tags": ["c", "a", "d"], "keep": 1, "fresh": 2}


def test_null_clears_standard_field(api):
    track(api, attributes=[{"external_id": "u", "first_name": "A", "home_city": "X"}])
    track(api, attributes=[{"external_id": "u", "first_name": None}])
    profile = Profile.objects.get(external_id="u")
    assert profile.first_name == "" and profile.home_city == "X"


def test_update_existing_only_does_not_create(api):
    response = track(api, attributes=[{"external_id": "ghost", "_update_existing_only": True,
                                       "first_name": "G"}])
    assert response.status_code == 201
    assert not Profile.objects.filter(external_id="ghost").exists()
    Profile.objects.create(external_id="real")
    track(api, attributes=[{"external_id": "real", "_update_existing_only": True,
                            "first_name": "R"}])
    assert Profile.objects.get(external_id="real").first_name == "R"


def test_alias_only_user_needs_explicit_false(api):
    alias = {"alias_name": "lead-1", "alias_label": "crm"}
    track(api, attributes=[{"user_alias": alias, "first_name": "X"}])
    assert not UserAlias.objects.exists()
    track(api, attributes=[{"user_alias": alias, "_update_existing_only": False,
                            "first_name": "X"}])
    profile = UserAlias.objects.get(alias_name="lead-1").profile
    assert profile.first_name == "X" and profile.external_id is None
    # Later objects with the alias update the same profile.
    track(api, attributes=[{"user_alias": alias, "last_name": "Y"}],
          events=[{"user_alias": alias, "name": "e", "time": "2024-01-01T00:00:00Z"}])
    profile.refresh_from_db()
    assert profile.last_name == "Y" and profile.custom_events.count() == 1


def test_braze_id_updates_but_never_creates(api):
    profile = Profile.objects.create(external_id="b")
    track(api, attributes=[{"braze_id": profile.braze_id, "first_name": "Bee"},
                           {"braze_id": "0" * 24, "first_name": "Nobody"}])
    profile.refresh_from_db()
    assert profile.first_name == "Bee" and Profile.objects.count() == 1


def test_email_identifier_creates_then_updates_email_only_profile(api):
    track(api, attributes=[{"email": "x@example.test", "first_name": "X"}])
    track(api, attributes=[{"email": "X@example.test", "phone": "+1555", "last_name": "Z"}])
    profile = Profile.objects.get()
    assert (profile.email, profile.first_name, profile.last_name) == ("x@example.test", "X", "Z")
    assert profile.external_id is None


def test_phone_identifier(api):
    track(api, attributes=[{"phone": "+15550001", "first_name": "P"}])
    assert Profile.objects.get(phone="+15550001").first_name == "P"


def test_remembered_email_state_applies_to_new_profile(api):
    EmailSubscriptionState.objects.create(email="late@example.test", state="unsubscribed")
    track(api, attributes=[{"external_id": "late", "email": "late@example.test"}])
    assert Profile.objects.get(external_id="late").email_subscribe == "unsubscribed"


def test_push_tokens_are_stored_and_move_between_profiles(api):
    tokens = [{"app_id": "app-1", "token": "tok-1", "device_id": "dev-1"}]
    track(api, attributes=[{"external_id": "p1", "push_tokens": tokens}])
    assert PushToken.objects.get().profile.external_id == "p1"
    track(api, attributes=[{"external_id": "p2", "push_tokens": tokens}])
    token = PushToken.objects.get()
    assert token.profile.external_id == "p2" and token.device_id == "dev-1"


def test_subscription_groups_are_kept(api):
    track(api, attributes=[{"external_id": "s", "subscription_groups": [
        {"subscription_group_id": "g1", "subscription_state": "subscribed"}]}])
    extras = Profile.objects.get(external_id="s").standard_extras
    assert extras["subscription_groups"] == {"g1": "subscribed"}


def test_date_of_last_session_reports_an_app_session(api, monkeypatch):
    calls = []
    from analytics import services

    monkeypatch.setattr(services, "app_sessions_record",
                        lambda *, sessions: calls.extend(sessions))
    track(api, attributes=[{"external_id": "s", "date_of_last_session": "2024-05-01T10:00:00Z",
                            "app_version": "2.1.0"}])
    assert len(calls) == 1
    assert calls[0]["time"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert calls[0]["app_version"] == "2.1.0"
    assert calls[0]["profile_id"] == Profile.objects.get(external_id="s").pk


@pytest.mark.parametrize("bad, field", [
    ({"gender": "Z"}, "gender"),
    ({"dob": "02/30/1990"}, "dob"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"email_subscribe": "maybe"}, "email_subscribe"),
    ({"email": "not-an-email"}, "email"),
    ({"current_location": {"longitude": 500, "latitude": 0}}, "current_location"),
    ({"push_tokens": [{"token": "t"}]}, "push_tokens"),
    ({"$bad": 1}, "$bad"),
    ({"long": "x" * 256}, "long"),
    ({"n": {"inc": "one"}}, "inc"),
])
def test_invalid_attribute_is_reported_and_others_processed(api, bad, field):
    response = track(api, attributes=[{"external_id": "ok"}, {"external_id": "bad", **bad}])
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "success" and body["attributes_processed"] == 1
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["input_array"] == "attributes" and error["index"] == 1
    assert field in error["type"]
    assert Profile.objects.filter(external_id="ok").exists()
    assert not Profile.objects.filter(external_id="bad").exists()


def test_missing_identifier_uses_braze_text(api):
    response = track(api, attributes=[{"first_name": "Nobody"}])
    assert response.json()["errors"] == [{
        "type": "'external_id' or 'braze_id' or 'user_alias' is required",
        "input_array": "attributes", "index": 0}]
    assert response.json()["attributes_processed"] == 0


def test_two_identifiers_are_refused(api):
    response = track(api, attributes=[{"external_id": "a", "braze_id": "b" * 24}])
    assert "only one of" in response.json()["errors"][0]["type"]


# --- events -------------------------------------------------------------------------------


def test_events_are_recorded_through_analytics(api, monkeypatch):
    from analytics import services

    real = services.custom_events_record
    seen = []

    def spy(*, events):
        seen.append(events)
        return real(events=events)

    monkeypatch.setattr(services, "custom_events_record", spy)
    response = track(api, events=[
        {"external_id": "e1", "name": "viewed", "time": "2024-03-01T10:00:00+02:00",
         "properties": {"sku": "A1", "nested": {"x": [1, 2]}}, "app_id": "web"},
        {"external_id": "e1", "name": "viewed", "time": "2024-03-01T10:00:00:123Z"},
    ])
    assert response.status_code == 201
    assert response.json() == {"message": "success", "events_processed": 2}
    assert [len(batch) for batch in seen] == [2]  # one analytics call for the request
    events = CustomEvent.objects.order_by("time")
    assert [e.time for e in events] == [datetime(2024, 3, 1, 8, tzinfo=UTC),
                                        datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)]
    assert events[0].properties == {"sku": "A1", "nested": {"x": [1, 2]}}
    assert events[0].app_id == "web"


@pytest.mark.parametrize("text, expected", [
    ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
    ("2024-03-01 13:14:15", datetime(2024, 3, 1, 13, 14, 15, tzinfo=UTC)),
    ("03/04/2024", datetime(2024, 3, 4, tzinfo=UTC)),
    ("2024-03-01T13:14:15", datetime(2024, 3, 1, 13, 14, 15, tzinfo=UTC)),
])
def test_event_time_formats(api, text, expected):
    track(api, events=[{"external_id": "t", "name": "e", "time": text}])
    assert CustomEvent.objects.get().time == expected


def test_future_event_time_is_clamped_to_now(api):
    future = (timezone.now() + timedelta(days=30)).isoformat()
    track(api, events=[{"external_id": "t", "name": "e", "time": future}])
    assert CustomEvent.objects.get().time <= timezone.now()


@pytest.mark.parametrize("bad, needle", [
    ({"time": "2024-01-01T00:00:00Z"}, "name"),
    ({"name": "e"}, "time"),
    ({"name": "e", "time": "yesterday"}, "time"),
    ({"name": "e", "time": "2024-01-01", "properties": {"time": 1}}, "reserved"),
    ({"name": "e", "time": "2024-01-01", "properties": {"event_name": 1}}, "reserved"),
    ({"name": "e", "time": "2024-01-01", "properties": {"$x": 1}}, "$"),
    ({"name": "e", "time": "2024-01-01", "properties": {"s": "y" * 256}}, "255"),
    ({"name": "e", "time": "2024-01-01", "properties": []}, "properties"),
    ({"name": "", "time": "2024-01-01"}, "name"),
])
def test_invalid_event_is_reported(api, bad, needle):
    response = track(api, events=[{"external_id": "x", **bad},
                                  {"external_id": "x", "name": "fine", "time": "2024-01-01"}])
    body = response.json()
    assert body["events_processed"] == 1
    assert body["errors"][0]["input_array"] == "events" and body["errors"][0]["index"] == 0
    assert needle in body["errors"][0]["type"]
    assert list(CustomEvent.objects.values_list("name", flat=True)) == ["fine"]


def test_event_on_unknown_alias_creates_nobody(api):
    response = track(api, events=[{"user_alias": {"alias_name": "n", "alias_label": "l"},
                                   "name": "e", "time": "2024-01-01"}])
    assert response.status_code == 201
    assert not Profile.objects.exists() and not CustomEvent.objects.exists()


# --- purchases ------------------------------------------------------------------------------


def test_purchase_quantity_becomes_that_many_rows(api):
    response = track(api, purchases=[{
        "external_id": "buyer", "product_id": "sku-9", "currency": "eur", "price": 19.99,
        "quantity": 3, "time": "2024-02-02T02:02:02Z", "properties": {"color": "red"}}])
    assert response.json() == {"message": "success", "purchases_processed": 1}
    rows = list(Purchase.objects.all())
    assert len(rows) == 3
    assert {(r.product_id, r.currency, r.price) for r in rows} == {("sku-9", "EUR",
                                                                    Decimal("19.99"))}


@pytest.mark.parametrize("bad, needle", [
    ({"currency": "EURO"}, "currency"),
    ({"currency": None}, "currency"),
    ({"price": "free"}, "price"),
    ({"quantity": 101}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"product_id": "p" * 256}, "product_id"),
    ({"time": None}, "time"),
    ({"properties": {"big": ["x" * 200] * 300}}, "50 KB"),
])
def test_invalid_purchase_is_reported(api, bad, needle):
    good = {"external_id": "b", "product_id": "p", "currency": "USD", "price": 1.5,
            "time": "2024-01-01"}
    response = track(api, purchases=[{**good, **bad}])
    body = response.json()
    assert body["purchases_processed"] == 0
    assert needle in body["errors"][0]["type"]
    assert not Purchase.objects.exists() and not Profile.objects.exists()


# --- the request as a whole -------------------------------------------------------------


@pytest.mark.parametrize("array", ["attributes", "events", "purchases"])
def test_more_than_75_objects_is_fatal(api, array):
    items = [{"external_id": f"u{i}", "name": "e", "time": "2024-01-01"} for i in range(76)]
    response = track(api, **{array: items})
    assert response.status_code == 400
    assert response.json()["message"] == "Max Input Length Exceeded"
    assert not Profile.objects.exists()
    assert response["X-RateLimit-Remaining"]


def test_exactly_75_objects_per_array_is_fine(api):
    response = track(api, attributes=[{"external_id": f"u{i}"} for i in range(75)],
                     events=[{"external_id": "u0", "name": "e", "time": "2024-01-01"}] * 75)
    assert response.status_code == 201
    assert response.json()["attributes_processed"] == 75
    assert Profile.objects.count() == 75 and CustomEvent.objects.count() == 75


@pytest.mark.parametrize("body", [{}, {"attributes": "x"}, {"events": {"a": 1}}, [1, 2], "null"])
def test_malformed_bodies_are_400(api, body):
    response = api.post("/users/track", body)
    assert response.status_code == 400
    assert "message" in response.json()


def test_not_json_is_400(api):
    response = api.post("/users/track", "{not json")
    assert response.status_code == 400 and response.json()["message"] == "Bad Request"


def test_counts_only_for_arrays_sent_and_errors_sorted(api):
    response = track(api, attributes=[{"external_id": "a"}, {"nope": 1}],
                     purchases=[{"external_id": "a"}])
    body = response.json()
    assert "events_processed" not in body
    assert body["attributes_processed"] == 1 and body["purchases_processed"] == 0
    assert [(e["input_array"], e["index"]) for e in body["errors"]] == [("attributes", 1),
                                                                         ("purchases", 0)]


def test_non_object_item_is_reported(api):
    response = track(api, events=["nope", 3])
    assert [e["type"] for e in response.json()["errors"]] == ["must be an object"] * 2


def test_attributes_processed_before_events(api):
    response = track(api, events=[{"user_alias": {"alias_name": "n", "alias_label": "l"},
                                   "name": "e", "time": "2024-01-01"}],
                     attributes=[{"user_alias": {"alias_name": "n", "alias_label": "l"},
                                  "_update_existing_only": False}])
    assert response.status_code == 201
    # The alias-only profile made by the attributes exists when the event is recorded.
    assert CustomEvent.objects.get().profile.aliases.get().alias_name == "n"


def test_nul_characters_are_refused_per_object(api):
    response = track(api, attributes=[{"external_id": "nul", "first_name": "a\x00b"},
                                      {"external_id": "ok", "x\x00": 1}])
    assert [e["type"] for e in response.json()["errors"]] == [
        "text must not contain NUL characters"] * 2
    assert not Profile.objects.exists()


def test_out_of_range_time_is_refused(api):
    response = track(api, events=[{"external_id": "t", "name": "e",
                                   "time": "0001-01-01T00:00:00+14:00"}])
    assert "out of range" in response.json()["errors"][0]["type"]


def test_user_alias_with_extra_keys_is_accepted(api):
    # edx-braze-client puts the alias's external_id inside user_alias.
    track(api, attributes=[{"user_alias": {"alias_name": "a@example.test", "alias_label": "lms",
                                           "external_id": "42"},
                            "_update_existing_only": False, "email": "a@example.test"}])
    profile = UserAlias.objects.get(alias_name="a@example.test").profile
    assert profile.email == "a@example.test"


def test_push_token_import_creates_anonymous_profile_once(api):
    item = {"push_token_import": True,
            "push_tokens": [{"app_id": "ios", "token": "anon-tok", "device_id": "d1"}]}
    assert track(api, attributes=[item]).json()["attributes_processed"] == 1
    track(api, attributes=[item])
    token = PushToken.objects.get()
    assert token.token == "anon-tok" and token.profile.external_id is None
    assert Profile.objects.count() == 1
    bad = track(api, attributes=[{**item, "external_id": "x"}]).json()
    assert "push_token_import" in bad["errors"][0]["type"]


@pytest.mark.parametrize("depth", [60, 65, 990, 100_000])
@pytest.mark.parametrize("path", ["/users/track", "/users/delete", "/email/status"])
def test_deeply_nested_json_is_400_not_500(api, path, depth):
    nested = "[" * depth + "]" * depth
    response = api.post(path, '{"attributes": [{"external_id": "x", "deep": ' + nested + "}]}")
    assert response.status_code in (201, 400)
    if depth > 64:
        assert response.status_code == 400 and "nested deeper" in response.json()["errors"][0]
    # The legacy body-key path parses before authentication: same answer, no key needed.
    response = api.post(path, nested, headers={"Authorization": ""})
    assert response.status_code in (400, 401)


def test_brackets_inside_strings_do_not_count_as_depth(api):
    response = track(api, attributes=[{"external_id": "s", "note": "[" * 200 + '\\"{' * 30}])
    assert response.status_code == 201
