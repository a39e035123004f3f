"""Property test: arbitrary JSON thrown at /users/track never gets a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=300))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
# Keys a real request uses, so the generator reaches deep into validation.
KEYS = ["external_id", "user_alias", "braze_id", "email", "phone", "_update_existing_only",
        "name", "time", "properties", "product_id", "currency", "price", "quantity",
        "first_name", "dob", "gender", "country", "time_zone", "email_subscribe",
        "push_tokens", "current_location", "subscription_groups", "custom", "tags",
        "date_of_last_session", "push_token_import", "app_id"]
identifier = (st.text(min_size=1, max_size=10) | st.integers(0, 10**6)
              | st.fixed_dictionaries({"alias_name": st.text(max_size=5),
                                       "alias_label": st.text(max_size=5)}))
items = st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=8),
    json_values | identifier | st.sampled_from(["2024-01-01", "USD", "M", "Europe/Paris",
                                                "opted_in", {"inc": 1}, {"add": ["x"]}]),
    max_size=8,
)
track_bodies = st.fixed_dictionaries({}, optional={
    "attributes": st.lists(items, max_size=4) | json_values,
    "events": st.lists(items, max_size=4) | json_values,
    "purchases": st.lists(items, max_size=4) | json_values,
})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=json_values | track_bodies)
def test_arbitrary_json_never_5xx(api, body):
    response = api.post("/users/track", json.dumps(body))
    assert response.status_code in (201, 400), response.content
    payload = response.json()
    assert isinstance(payload["message"], str)
    if response.status_code == 201:
        assert payload["message"] == "success"
        for error in payload.get("errors", []):
            assert set(error) == {"type", "input_array", "index"}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_5xx(api, raw):
    response = api.post("/users/track", raw)
    assert response.status_code in (201, 400)


OTHER_ENDPOINTS = ["/users/alias/new", "/users/identify", "/users/delete", "/users/export/ids",
                   "/email/status", "/subscription/status/set", "/v2/subscription/status/set"]
profile_keys = st.sampled_from([
    "user_aliases", "aliases_to_identify", "emails_to_identify", "phone_numbers_to_identify",
    "merge_behavior", "external_ids", "braze_ids", "email_addresses", "phone_numbers",
    "device_id", "braze_id", "email_address", "phone", "fields_to_export", "email",
    "subscription_state", "alias_name", "alias_label", "external_id", "user_alias",
    "prioritization", "subscription_group_id", "subscription_groups", "emails", "phones"])
profile_bodies = st.recursive(
    scalars | st.sampled_from(["subscribed", "unidentified", "most_recently_updated", "email"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(profile_keys | st.text(max_size=6), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(OTHER_ENDPOINTS), body=profile_bodies)
def test_profile_endpoints_never_5xx(api, path, body):
    response = api.post(path, json.dumps(body))
    assert response.status_code in (201, 400), (path, response.content)
    assert isinstance(response.json()["message"], str)
