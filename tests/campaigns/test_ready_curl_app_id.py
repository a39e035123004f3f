"""The campaign page's ready curl names a real app_id once the app exists."""

import json
import shlex

import pytest

from campaigns.send_example import send_request_body
from messaging.models import App, ChannelConfig
from tests.analytics.helpers import make_campaign

pytestmark = pytest.mark.django_db


def test_ready_curl_names_the_email_app_and_the_sms_app_with_a_provider(marketer_client):
    campaign = make_campaign(variations=[("email", "Variant 1"), ("sms", "Variant 1")])
    body = send_request_body(campaign)
    assert body["messages"]["email"]["app_id"] == "YOUR-APP-ID"  # no app yet

    email = App.objects.create(name="Acme Email", platform=App.Platform.EMAIL)
    android = App.objects.create(name="Acme Android", platform=App.Platform.ANDROID)
    ChannelConfig.objects.create(app=android, channel="sms", provider="sandbox")
    page = marketer_client.get(f"/messaging/campaigns/{campaign.api_id}/")
    curl = page.context["curl"]
    sent = json.loads(shlex.split(curl)[-1])
    assert sent["messages"]["email"]["app_id"] == email.app_id
    assert sent["messages"]["sms"]["app_id"] == android.app_id


def test_ready_curl_falls_back_to_the_oldest_app(marketer_client):
    campaign = make_campaign(variations=[("email", "Variant 1"), ("sms", "Variant 1")])
    ios = App.objects.create(name="Acme iOS", platform=App.Platform.IOS)
    body = send_request_body(campaign)
    # No email app and no SMS provider: any app of the workspace names a valid app_id.
    assert body["messages"]["sms"]["app_id"] == ios.app_id
    assert body["messages"]["email"]["app_id"] == ios.app_id
