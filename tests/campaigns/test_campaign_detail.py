import html as html_lib
import json
import re
import shlex

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.send_example import MESSAGE_SKELETONS

pytestmark = pytest.mark.django_db


def _curl_body(html: str) -> dict:
    """The JSON body of the curl command shown on the page, parsed as a shell would."""
    block = re.search(
        r'<pre class="code" id="curl-example"><code>(.*?)</code></pre>', html, re.S
    ).group(1)
    words = shlex.split(html_lib.unescape(block).replace("\\\n", " "))
    return words[words.index("--data") + 1]


def test_page_shows_ids_meta_and_no_pks(marketer_client, make_campaign, marketer):
    campaign = make_campaign(
        channels=("email", "sms"),
        conversions=[("Performs Custom Event", {"custom_event_name": "reviewed"})],
    )
    body = marketer_client.get(campaign.get_absolute_url()).content.decode()
    assert f'data-copy="{campaign.api_id}"' in body
    for variation in campaign.variations.all():
        assert f'data-copy="{variation.api_id}"' in body
    assert "reviewed" in body and "3 days" in body and "Primary" in body
    assert f"by {marketer.username}" in body
    assert reverse("analytics:campaign-results", args=[campaign.api_id]) in body
    assert f'hx-get="{reverse("messaging:dispatch-list")}?campaign={campaign.api_id}"' in body
    assert f"/{campaign.pk}/" not in body


def test_curl_is_valid_and_filled_with_this_campaigns_ids(marketer_client, make_campaign):
    campaign = make_campaign(channels=("email", "email", "webhook", "apple_push", "content_card"))
    response = marketer_client.get(campaign.get_absolute_url())
    body = json.loads(_curl_body(response.content.decode()))
    assert body["campaign_id"] == str(campaign.api_id)
    first_email = campaign.variations.filter(channel="email").first()
    assert body["messages"]["email"]["message_variation_id"] == str(first_email.api_id)
    assert set(body["messages"]) == {"email", "webhook", "apple_push", "content_card"}
    assert (
        body["messages"]["webhook"]["request_method"] == "POST"
        and "url" in body["messages"]["webhook"]
    )
    assert body["messages"]["apple_push"]["alert"]["body"]
    assert "http://testserver/messages/send" in response.content.decode()
    assert "Authorization: Bearer YOUR-REST-API-KEY" in response.content.decode()


def test_every_channel_has_a_skeleton_with_required_fields():
    required = {
        "apple_push": {"alert"},
        "android_push": {"alert", "title"},
        "kindle_push": {"alert", "title"},
        "web_push": {"alert", "title"},
        "email": {"app_id", "from", "body"},
        "sms": {"subscription_group_id", "body", "app_id"},
        "webhook": {"url", "request_method"},
        "content_card": {"type", "title", "description"},
    }
    for channel, fields in required.items():
        assert fields <= set(MESSAGE_SKELETONS[channel]), channel


def test_archive_unarchive_and_duplicate(marketer_client, make_campaign):
    campaign = make_campaign()
    response = marketer_client.post(
        reverse("campaigns:archive", args=[campaign.api_id]), follow=True
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ARCHIVED
    assert "Archived" in response.content.decode() and "Unarchive" in response.content.decode()
    marketer_client.post(reverse("campaigns:unarchive", args=[campaign.api_id]))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE

    response = marketer_client.post(reverse("campaigns:duplicate", args=[campaign.api_id]))
    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert response["Location"] == copy.get_absolute_url()
    assert copy.name == "Copy of Order shipped"


def test_actions_require_post_and_login(marketer_client, make_campaign):
    anonymous = Client()
    campaign = make_campaign()
    for name in ("archive", "unarchive", "duplicate"):
        url = reverse(f"campaigns:{name}", args=[campaign.api_id])
        assert marketer_client.get(url).status_code == 405
        response = anonymous.post(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Campaign.objects.count() == 1 and Campaign.objects.get().status == "active"


def test_draft_page_says_so(marketer_client, make_campaign):
    campaign = make_campaign(channels=())
    body = marketer_client.get(campaign.get_absolute_url()).content.decode()
    assert "Draft:" in body and "Add at least one message" in body


def test_page_query_count_does_not_grow_with_messages(
    marketer_client, make_campaign, django_assert_max_num_queries
):
    small = make_campaign(channels=("email",))
    big = make_campaign(
        name="Big",
        channels=("email", "sms", "webhook", "apple_push", "android_push", "web_push"),
        conversions=[("Starts Session", {}), ("Upgrades App", {}), ("Makes Any Purchase", {})],
        tags=["a", "b", "c"],
    )
    with CaptureQueriesContext(connection) as baseline:
        marketer_client.get(small.get_absolute_url())
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        marketer_client.get(big.get_absolute_url())
