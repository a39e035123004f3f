"""The web SDK's endpoints (/sdk/v1/…): the public key, origins, user tokens, and that what
they record counts exactly as /users/track and /engagement/track do."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import CustomEvent, DailyRollup, Purchase
from analytics.selectors import variation_results
from campaigns.models import ConversionEvent
from messaging.models import ContentCard, Profile, PushToken

from .conftest import ORIGIN, user_token

pytestmark = pytest.mark.django_db


def _totals(campaign):
    results = variation_results(campaign=campaign)
    return {row.variation.channel: row for row in results.rows}


@pytest.fixture
def card_for_ada(api, campaign, variation, make_profile, django_capture_on_commit_callbacks):
    make_profile(external_id="ada", first_name="Ada")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/messages/send", {
            "campaign_id": campaign.campaign_id, "external_user_ids": ["ada"],
            "messages": {"content_card": {
                "type": "CLASSIC", "title": "Hi {{${first_name}}}", "description": "Spring",
                "web_uri": "https://shop.example/spring", "time_to_live": 3600,
                "message_variation_id": variation("content_card")}}})
    assert response.status_code == 201, response.content
    return ContentCard.objects.get()


def test_identify_with_a_signed_token_creates_the_user_and_answers_cors(sdk):
    response = sdk("/sdk/v1/identify", {"external_id": "ada"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["external_id"] == "ada" and body["vapid_public_key"] is None
    assert Profile.objects.get(external_id="ada").braze_id == body["braze_id"]
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["X-RateLimit-Limit"] == "100000"


@pytest.mark.parametrize("token, error", [
    (None, "token: Field required"),
    (user_token("ada", exp_in=-10), "token: expired"),
    (user_token("ada", secret="someone-elses-secret-someone-elses-secret-0123456789"),
     "token: Signature verification failed"),
])
def test_identify_without_a_valid_token_is_refused_and_writes_nothing(sdk, token, error):
    response = sdk("/sdk/v1/identify", {"external_id": "ada"}, token=token)
    assert response.status_code in (400, 401), response.content
    assert error in json.dumps(response.json())
    assert not Profile.objects.exists()


def test_a_token_for_another_user_cannot_identify_as_this_one(sdk):
    response = sdk("/sdk/v1/identify", {"external_id": "ada"}, token="mallory")
    assert response.status_code == 401
    assert response.json()["errors"] == ["external_id: the token names another user"]
    assert not Profile.objects.exists()


def test_unknown_key_and_foreign_origin_are_refused_before_anything(sdk, api_key):
    assert sdk("/sdk/v1/identify", key="hrld_pub_nope").status_code == 401
    # A REST key is not an SDK key (and an SDK key is no REST key).
    rest = sdk("/sdk/v1/identify", key=api_key[1])
    assert rest.status_code == 401 and rest.json()["message"] == "Invalid SDK key"
    foreign = sdk("/sdk/v1/track", {"events": [{"name": "x"}]}, origin="https://evil.example")
    assert foreign.status_code == 403
    assert foreign.json()["message"] == "Origin not allowed"
    assert not CustomEvent.objects.exists() and not Profile.objects.exists()


def test_the_sdk_key_opens_no_rest_endpoint(client, sdk_key):
    response = client.get("/campaigns/list", HTTP_AUTHORIZATION=f"Bearer {sdk_key.key}")
    assert response.status_code == 401


def test_preflight_is_answered_for_the_sdk_paths_only(client):
    preflight = client.options("/sdk/v1/track", HTTP_ORIGIN=ORIGIN,
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    rest = client.options("/users/track", HTTP_ORIGIN=ORIGIN,
                          HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert not rest.has_header("Access-Control-Allow-Origin")


def test_events_and_purchases_convert_like_users_track(sdk, campaign, variation,
                                                      card_for_ada):
    ConversionEvent.objects.create(campaign=campaign, position=0,
                                   kind=ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                                   custom_event_name="checkout", window=timedelta(days=1))
    ConversionEvent.objects.create(campaign=campaign, position=1,
                                   kind=ConversionEvent.Kind.MAKES_ANY_PURCHASE,
                                   window=timedelta(days=1))
    # A Content Card opens its conversion window when seen (spec §1.8), not when sent.
    seen = sdk("/sdk/v1/content_cards/events",
               {"events": [{"type": "impression", "card_id": card_for_ada.card_id}]})
    assert seen.status_code == 201
    response = sdk("/sdk/v1/track", {
        "events": [{"name": "checkout", "properties": {"basket": 2}}],
        "purchases": [{"product_id": "shoes", "currency": "eur", "price": 49.5,
                       "quantity": 2}]})
    assert response.status_code == 201, response.content
    assert response.json() == {"message": "success", "events_processed": 1,
                               "purchases_processed": 1}
    event = CustomEvent.objects.get()
    assert event.name == "checkout" and event.properties == {"basket": 2}
    assert Purchase.objects.count() == 2  # quantity 2: two purchases, as /users/track
    card_row = _totals(campaign)["content_card"]
    assert (card_row.totals["conversions"], card_row.totals["conversions1"]) == (1, 1)
    assert card_row.totals["revenue"] == 99


def test_invalid_events_are_refused_whole(sdk):
    response = sdk("/sdk/v1/track", {"events": [{"name": "ok"}, {"name": ""}]})
    assert response.status_code == 400
    assert not CustomEvent.objects.exists()


def test_cards_read_impression_click_dismissal_reach_the_variation(sdk, campaign,
                                                                  card_for_ada):
    feed = sdk("/sdk/v1/content_cards")
    assert feed.status_code == 200
    (card,) = feed.json()["cards"]
    assert card["id"] == card_for_ada.card_id and card["title"] == "Hi Ada"
    events = [{"type": "impression", "card_id": card["id"], "id": "i1"},
              {"type": "impression", "card_id": card["id"], "id": "i1"},  # a retry
              {"type": "impression", "card_id": card["id"], "id": "i2"},
              {"type": "click", "card_id": card["id"], "id": "c1"}]
    response = sdk("/sdk/v1/content_cards/events", {"events": events})
    assert response.status_code == 201, response.content
    row = _totals(campaign)["content_card"]
    assert (row.totals["impressions"], row.totals["unique_impressions"]) == (2, 1)
    assert (row.totals["clicks"], row.totals["unique_clicks"]) == (1, 1)
    again = sdk("/sdk/v1/content_cards")
    assert again.json()["cards"][0]["viewed"] and again.json()["cards"][0]["clicked"]

    dismissed = sdk("/sdk/v1/content_cards/events",
                    {"events": [{"type": "dismissal", "card_id": card["id"]}]})
    assert dismissed.status_code == 201
    assert sdk("/sdk/v1/content_cards").json()["cards"] == []
    assert _totals(campaign)["content_card"].totals["dismissals"] == 1


def test_expired_cards_are_not_in_the_feed(sdk, card_for_ada):
    ContentCard.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert sdk("/sdk/v1/content_cards").json()["cards"] == []


def test_nobody_logs_events_on_another_users_card(sdk, card_for_ada):
    response = sdk("/sdk/v1/content_cards/events",
                   {"events": [{"type": "click", "card_id": card_for_ada.card_id}]},
                   token="mallory")
    assert response.status_code == 400
    assert response.json()["message"] == "events[0].card_id: no such content card"
    assert not DailyRollup.objects.filter(clicks__gt=0).exists()
    assert ContentCard.objects.get().clicked_at is None


def test_session_records_the_last_session(sdk, campaign):
    ConversionEvent.objects.create(campaign=campaign, position=0,
                                   kind=ConversionEvent.Kind.STARTS_SESSION,
                                   window=timedelta(days=1))
    assert sdk("/sdk/v1/session").status_code == 201
    profile = Profile.objects.get(external_id="ada")
    assert "date_of_last_session" in profile.standard_extras


SUBSCRIPTION = {"endpoint": "https://push.example/sub/1", "expirationTime": None,
                "keys": {"p256dh": "BPubKey", "auth": "AuthSecret"}}


def test_push_subscription_becomes_the_users_web_push_token(sdk, web_app):
    response = sdk("/sdk/v1/push/subscribe", {"subscription": SUBSCRIPTION})
    assert response.status_code == 201, response.content
    sdk("/sdk/v1/push/subscribe", {"subscription": SUBSCRIPTION})  # again: one token
    token = PushToken.objects.get()
    assert token.app_id == web_app.app_id and token.profile.external_id == "ada"
    assert json.loads(token.token) == {"endpoint": SUBSCRIPTION["endpoint"],
                                       "keys": SUBSCRIPTION["keys"]}
    # The service worker's refresh (no user token): the old endpoint proves the token.
    fresh = {**SUBSCRIPTION, "endpoint": "https://push.example/sub/2"}
    refreshed = sdk("/sdk/v1/push/refresh",
                    {"old_endpoint": SUBSCRIPTION["endpoint"], "subscription": fresh},
                    token=None)
    assert refreshed.status_code == 201, refreshed.content
    assert json.loads(PushToken.objects.get().token)["endpoint"] == fresh["endpoint"]
    unknown = sdk("/sdk/v1/push/refresh",
                  {"old_endpoint": "https://push.example/sub/9", "subscription": fresh},
                  token=None)
    assert unknown.status_code == 404


def test_push_subscription_must_be_https(sdk):
    response = sdk("/sdk/v1/push/subscribe",
                   {"subscription": {**SUBSCRIPTION, "endpoint": "http://push.example/1"}})
    assert response.status_code == 400
    assert not PushToken.objects.exists()


def test_per_address_rate_limit(sdk, settings):
    settings.RATE_LIMITS = {"sdk.address": (2, 60)}
    address = f"192.0.2.{secrets.randbelow(250) + 1}"  # counters outlive a test: a fresh one
    assert sdk("/sdk/v1/identify", REMOTE_ADDR=address).status_code == 200
    assert sdk("/sdk/v1/identify", REMOTE_ADDR=address).status_code == 200
    limited = sdk("/sdk/v1/identify", REMOTE_ADDR=address)
    assert limited.status_code == 429 and "Retry-After" in limited
    assert sdk("/sdk/v1/identify", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_sdk_files_are_served_versioned_and_cacheable(client):
    module = client.get("/sdk/v1/herald.mjs")
    assert module.status_code == 200
    assert module["Content-Type"].startswith("text/javascript")
    assert module["Access-Control-Allow-Origin"] == "*"
    assert module["Cache-Control"] == "public, max-age=3600"
    assert 'const VERSION = "1.0.0";' in module.content.decode()
    pinned = client.get("/sdk/1.0.0/herald.js")
    assert "immutable" in pinned["Cache-Control"]
    classic = pinned.content.decode()
    assert "export " not in classic and "globalThis.Herald = Herald;" in classic
    again = client.get("/sdk/v1/herald.mjs", HTTP_IF_NONE_MATCH=module["ETag"])
    assert again.status_code == 304
    worker = client.get("/sdk/v1/herald-sw.js")
    assert worker["Service-Worker-Allowed"] == "/"
    assert client.get("/sdk/v1/herald.d.ts").status_code == 200
    assert client.get("/sdk/0.9.0/herald.js").status_code == 404


def test_track_before_identify_still_lands_on_the_token_user(sdk):
    response = sdk("/sdk/v1/track", {"events": [{"name": "first_visit"}]}, token="newcomer")
    assert response.status_code == 201, response.content
    assert CustomEvent.objects.get().profile.external_id == "newcomer"


def test_push_open_needs_a_web_push_of_herald(sdk, card_for_ada):
    card_message = card_for_ada.delivery.message_id
    response = sdk("/sdk/v1/push/open", {"message_id": card_message}, token=None)
    assert response.status_code == 400
    assert response.json()["message"] == "message_id: no such web push"
