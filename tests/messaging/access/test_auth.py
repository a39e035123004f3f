"""The API gate on every registered endpoint: key, permission, revocation, IP allowlist."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

import config.urls  # noqa: F401  (registers every endpoint)
from config.api import REGISTRY
from messaging.models import ApiKey

pytestmark = pytest.mark.django_db

GUARDED = sorted((e for e in REGISTRY.values() if e.permission), key=lambda e: (e.path, e.method))
IDS = [f"{e.method} {e.path}" for e in GUARDED]


def call(client, endpoint, headers=None, body=None, **extra):
    if endpoint.method == "GET":
        return client.get(endpoint.path, headers=headers or {}, **extra)
    return client.post(endpoint.path, json.dumps(body if body is not None else {}),
                       content_type="application/json", headers=headers or {}, **extra)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_registry_covers_the_user_endpoints():
    paths = {(e.method, e.path) for e in GUARDED}
    for expected in [("POST", "/users/track"), ("POST", "/users/alias/new"),
                     ("POST", "/users/identify"), ("POST", "/users/delete"),
                     ("POST", "/users/export/ids"), ("POST", "/email/status"),
                     ("GET", "/email/unsubscribes"), ("POST", "/subscription/status/set"),
                     ("POST", "/v2/subscription/status/set"),
                     ("GET", "/subscription/status/get")]:
        assert expected in paths


@pytest.mark.parametrize("endpoint", GUARDED, ids=IDS)
def test_missing_key_is_401_with_empty_rate_headers(client, endpoint):
    response = call(client, endpoint)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert response["X-RateLimit-Limit"] == "" and response["X-RateLimit-Reset"] == ""


@pytest.mark.parametrize("endpoint", GUARDED, ids=IDS)
def test_unknown_key_is_401_naming_only_its_prefix(client, endpoint):
    response = call(client, endpoint, bearer("hrld_made-up-key"))
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API key: hrld_made-up…"


@pytest.mark.parametrize("endpoint", GUARDED, ids=IDS)
def test_revoked_key_is_401(client, endpoint, make_api_key):
    api_key, key = make_api_key()
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    response = call(client, endpoint, bearer(key))
    assert response.status_code == 401
    assert response.json()["message"] == f"Invalid API key: {api_key.prefix}…"


@pytest.mark.parametrize("endpoint", GUARDED, ids=IDS)
def test_key_without_permission_is_403_access_denied(client, endpoint, make_api_key):
    others = [p for p in {e.permission for e in GUARDED} if p != endpoint.permission]
    _, key = make_api_key(permissions=others)
    response = call(client, endpoint, bearer(key))
    assert response.status_code == 403
    assert response.json()["message"] == "Access Denied"
    assert endpoint.permission in response.json()["errors"][0]
    # The key is known, so its rate-limit window is reported.
    assert int(response["X-RateLimit-Limit"]) > 0


@pytest.mark.parametrize("endpoint", GUARDED, ids=IDS)
def test_ip_outside_allowlist_is_refused(client, endpoint, make_api_key):
    _, key = make_api_key(allowed_networks=["203.0.113.0/24"])
    response = call(client, endpoint, bearer(key), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid whitelisted IPs"


@pytest.mark.parametrize("endpoint", GUARDED, ids=IDS)
def test_ip_inside_allowlist_passes_the_gate(client, endpoint, make_api_key):
    _, key = make_api_key(allowed_networks=["203.0.113.0/24", "2001:db8::/32"])
    response = call(client, endpoint, bearer(key), REMOTE_ADDR="203.0.113.9")
    assert response.status_code not in (401, 403)
    assert response.status_code < 500
    assert int(response["X-RateLimit-Remaining"]) >= 0


@pytest.mark.parametrize("endpoint", GUARDED, ids=IDS)
def test_empty_request_with_full_key_never_500s(client, endpoint, api_key):
    response = call(client, endpoint, bearer(api_key[1]))
    assert response.status_code < 500
    assert "message" in response.json()
    assert response["X-RateLimit-Limit"]


def test_quoted_key_is_invalid(client, api_key):
    response = client.post("/users/track", "{}", content_type="application/json",
                           headers={"Authorization": f'Bearer "{api_key[1]}"'})
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API key"  # not a Herald key: no echo


def test_legacy_api_key_in_body_is_accepted(client, api_key):
    body = {"api_key": api_key[1], "attributes": [{"external_id": "legacy"}]}
    response = client.post("/users/track", json.dumps(body), content_type="application/json")
    assert response.status_code == 201


@pytest.mark.parametrize("endpoint", GUARDED, ids=IDS)
def test_api_key_in_the_query_string_is_refused_pointing_to_the_header(client, endpoint,
                                                                       api_key):
    path = f"{endpoint.path}?api_key={api_key[1]}"
    # Even beside a valid header: the key has been written to the URL, and so to logs.
    for headers in ({}, bearer(api_key[1])):
        if endpoint.method == "GET":
            response = client.get(path, headers=headers)
        else:
            response = client.post(path, "{}", content_type="application/json",
                                   headers=headers)
        assert response.status_code == 401
        message = response.json()["message"]
        assert "Authorization: Bearer" in message and api_key[1] not in response.content.decode()
        assert response["X-RateLimit-Limit"] == ""


def test_a_valid_prefix_with_a_wrong_secret_is_refused(client, api_key):
    """Only the secret tells a key from another with the same prefix (the lookup is by
    prefix): this fails if the digest comparison is ever skipped."""
    model, key = api_key
    forged = key[:-6] + ("AAAAAA" if not key.endswith("AAAAAA") else "BBBBBB")
    assert model.prefix_of(forged) == model.prefix
    body = {"attributes": [{"external_id": "forger"}]}
    for sent in (bearer(forged), {}):
        data = body if sent else {**body, "api_key": forged}
        response = client.post("/users/track", json.dumps(data),
                               content_type="application/json", headers=sent)
        assert response.status_code == 401
        assert response.json()["message"] == f"Invalid API key: {model.prefix}…"
    response = client.get("/email/unsubscribes", {"end_date": "2024-02-01"},
                          headers=bearer(forged))
    assert response.status_code == 401
    from messaging.models import Profile

    assert not Profile.objects.filter(external_id="forger").exists()
    # The genuine key still works, so the refusals above are the secret's doing.
    genuine = client.post("/users/track", json.dumps(body), content_type="application/json",
                          headers=bearer(key))
    assert genuine.status_code == 201


@pytest.mark.parametrize("presented", [r"hrld_\u0000abc", r"hrld_\ud800abc", r"\u0000",
                                       r"hrld_\tC]B,abc", r"hrld_\u00e9abc"])
def test_a_legacy_body_key_no_database_can_look_up_is_a_401(client, presented):
    raw = '{"api_key": "' + presented + '", "attributes": [{"external_id": "x"}]}'
    response = client.post("/users/track", raw, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API key"


@pytest.mark.parametrize("presented", ["hrld_\tC]B,abc", "hrld_\x7fabc", "hrld_\x01"])
def test_a_key_with_a_control_character_is_a_401_without_a_lookup(
    client, presented, django_assert_num_queries
):
    # Found by the fuzzing gate: such a key reached the cache key (memcached refuses one).
    with django_assert_num_queries(0):
        response = call(client, REGISTRY[("/campaigns/list", "GET")], headers=bearer(presented))
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API key"


def test_bad_json_with_bad_key_is_401_not_400(client):
    response = client.post("/users/track", "{nope", content_type="application/json",
                           headers=bearer("hrld_wrong"))
    assert response.status_code == 401


def test_last_used_is_recorded(api, api_key):
    assert api_key[0].last_used_at is None
    api.post("/users/track", {"attributes": [{"external_id": "x"}]})
    api_key[0].refresh_from_db()
    assert api_key[0].last_used_at is not None


def test_wrong_method_is_405_in_envelope(api):
    response = api.get("/users/track")
    assert response.status_code == 405
    assert response.json()["message"] == "Method Not Allowed" and response["Allow"] == "POST"


def test_oversized_body_is_413(api, settings):
    settings.API_MAX_BODY_BYTES = 100
    response = api.post("/users/track", {"attributes": [{"external_id": "x" * 200}]})
    assert response.status_code == 413


# --- cached key lookups -----------------------------------------------------------------


def test_known_key_is_not_looked_up_again(api, api_key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.get("/email/unsubscribes", {"email": "a@example.test", "end_date": "2024-01-01"})
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/email/unsubscribes", {"email": "a@example.test",
                                                   "end_date": "2024-01-01"})
    assert response.status_code == 200
    assert not [q for q in queries.captured_queries if "messaging_apikey" in q["sql"]]


def test_made_up_keys_cost_one_query_then_none(client, django_assert_num_queries):
    headers = bearer("hrld_flooding-key")
    call(client, REGISTRY[("/users/track", "POST")], headers)
    with django_assert_num_queries(0):
        response = call(client, REGISTRY[("/users/track", "POST")], headers)
    assert response.status_code == 401


def test_revocation_applies_at_once_despite_the_cache(api, api_key):
    from messaging.services.api_keys import api_key_revoke

    assert api.post("/users/track", {"attributes": [{"external_id": "a"}]}).status_code == 201
    api_key_revoke(api_key=api_key[0])
    assert api.post("/users/track", {"attributes": [{"external_id": "a"}]}).status_code == 401


def test_new_key_works_even_after_a_cached_miss(client, monkeypatch):
    import hashlib

    from messaging.services.api_keys import api_key_create

    fixed = "hrld_fixedkeyfortest0000000000000000000000000"
    digest = hashlib.sha256(fixed.encode()).hexdigest()
    monkeypatch.setattr(ApiKey, "generate", staticmethod(lambda: (fixed, fixed[:12], digest)))
    endpoint = REGISTRY[("/users/track", "POST")]
    assert call(client, endpoint, bearer(fixed)).status_code == 401  # miss is cached
    api_key_create(name="late", permissions=["users.track"])
    response = call(client, endpoint, bearer(fixed),
                    body={"attributes": [{"external_id": "late"}]})
    assert response.status_code == 201


@pytest.mark.parametrize(
    "presented", ["body: not valid", "hrld_a b c d e f g", "short", "hrld_é" * 3]
)
def test_a_key_of_another_shape_is_refused_without_a_lookup(client, presented, recwarn):
    # Its prefix could name no key Herald made; nor may it become part of a cache key.
    response = client.get("/campaigns/list", headers={"Authorization": f"Bearer {presented}"})
    assert response.status_code == 401
    assert response.json()["message"].startswith("Invalid API key")
    assert not [w for w in recwarn if "Cache key" in str(w.message)]
