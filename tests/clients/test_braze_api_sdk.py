"""npm braze-api sends a Content Card and a web push; Herald's web SDK endpoints and the
local push service then see them."""

from __future__ import annotations

import json
import time

import pytest

from messaging.models import App, PushToken
from messaging.sdk.services import sdk_key_get_or_create
from messaging.services.providers import app_create, channel_config_save
from tests.analytics.helpers import make_campaign, make_profile
from tests.fakes.tls import local_tls
from tests.fakes.webpush import FakePushService
from tests.sdk.conftest import SECRET, user_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_messages_send_reaches_the_sdk_feed_and_the_browser(braze_node, api_key, client,
                                                            settings):
    settings.CONTENT_CARD_JWT_SECRET = SECRET
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.HERALD_PROVIDER_CA_BUNDLE = local_tls().ca_file
    web = app_create(name="Shop website", platform=App.Platform.WEB)
    channel_config_save(app=web, channel="web_push", provider="webpush",
                        options={"subject": "mailto:ops@shop.example"})
    key = sdk_key_get_or_create(app=web)
    campaign = make_campaign("SDK", variations=(("content_card", "Card"), ("web_push", "Push")))
    card, push = campaign.variations.get(channel="content_card"), campaign.variations.get(
        channel="web_push")
    profile = make_profile("ada")
    with FakePushService() as push_service:
        PushToken.objects.create(profile=profile, app_id=web.app_id,
                                 token=push_service.subscribe())
        answer = braze_node("sdk_messages.mjs", api_key[1], HERALD_USER="ada",
                            HERALD_CAMPAIGN_ID=str(campaign.api_id),
                            HERALD_CARD_VARIATION=str(card.api_id),
                            HERALD_PUSH_VARIATION=str(push.api_id))
        deadline = time.monotonic() + 10
        while not push_service.received and time.monotonic() < deadline:
            time.sleep(0.1)
        [(_, notification, _)] = push_service.received
    assert answer["send"]["message"] == "success" and answer["send"]["dispatch_id"]
    assert answer["track"]["message"] == "success"
    assert answer["track"]["events_processed"] == 1
    assert notification["title"] == "Sent by braze-api"
    assert notification["body"] == "to the browser"

    feed = client.post("/sdk/v1/content_cards",
                       json.dumps({"sdk_key": key.key, "token": user_token("ada")}),
                       content_type="text/plain")
    assert feed.status_code == 200, feed.content
    [shown] = feed.json()["cards"]
    assert shown["title"] == "Sent by braze-api"
    assert shown["message_variation_id"] == str(card.api_id)
