"""The Content page of an API-triggered campaign: write, check, preview, send a test."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEntry
from campaigns.models import Campaign
from messaging.models import Delivery, Dispatch

from .conftest import EMAIL

pytestmark = pytest.mark.django_db


def _url(campaign):
    return reverse("messaging:trigger-content", args=[campaign.api_id])


def _fields(variation, **content):
    return {f"v-{variation.api_id}-{key}": value for key, value in content.items()}


def test_page_shows_the_written_content(marketer_client, triggered):
    page = marketer_client.get(_url(triggered)).content.decode()
    assert "Order {{api_trigger_properties.${order}}} for {{${first_name}}}" in page
    assert "Written" in page


def test_an_api_campaign_has_no_content_page(marketer_client, campaign):
    assert marketer_client.get(_url(campaign)).status_code == 404


def test_saving_checks_the_message_as_a_send_would(marketer_client, triggered):
    variation = triggered.variations.get()
    bad = marketer_client.post(_url(triggered), {
        "action": "save",
        **_fields(variation, app_id="app", subject="Hi {% if %}", body="<p>x</p>"),
    })
    page = bad.content.decode()
    assert bad.status_code == 200 and 'data-testid="variant-errors"' in page
    assert "from" in page  # the missing From is named
    variation.refresh_from_db()
    assert variation.content == EMAIL  # nothing half-written

    good = marketer_client.post(_url(triggered), {
        "action": "save",
        **_fields(variation, app_id="app", **{"from": "o@acme.test"}, subject="New",
                  body="<p>Hello {{${first_name}}}</p>"),
    })
    assert good.status_code == 302
    variation.refresh_from_db()
    assert variation.content["subject"] == "New" and variation.content["from"] == "o@acme.test"
    assert AuditEntry.objects.filter(action="campaign.content_changed").count() == 1


def test_preview_renders_liquid_for_the_chosen_profile(marketer_client, triggered, make_profile):
    make_profile(external_id="ada", first_name="Ada")
    response = marketer_client.post(_url(triggered), {
        "action": "preview", "profile": "ada",
        "trigger_properties": '{"order": "A-7", "note": "Soon"}',
    })
    page = response.content.decode()
    assert "Order A-7 for Ada" in page and "&lt;p&gt;Soon&lt;/p&gt;" in page
    assert Dispatch.objects.count() == 0  # a preview sends nothing


def test_preview_refuses_bad_properties_and_unknown_profiles(marketer_client, triggered,
                                                             make_profile):
    make_profile(external_id="ada")
    bad = marketer_client.post(_url(triggered), {
        "action": "preview", "profile": "ada", "trigger_properties": "[1, 2",
    }, follow=True)
    assert "Trigger properties are not JSON" in bad.content.decode()
    unknown = marketer_client.post(_url(triggered), {"action": "preview", "profile": "zed"})
    assert "No profile has the external ID" in unknown.content.decode()


def test_send_test_delivers_to_the_profile_even_unsubscribed(
    marketer_client, triggered, make_profile, django_capture_on_commit_callbacks
):
    make_profile(external_id="ada", first_name="Ada", email="ada@example.test",
                 email_subscribe="unsubscribed", in_global_control_group=True)
    variation = triggered.variations.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(_url(triggered), {
            "action": "send_test", "profile": "ada", "variation": str(variation.api_id),
            "trigger_properties": '{"order": "T-1"}',
        })
    dispatch = Dispatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:dispatch-detail",
                                           args=[dispatch.dispatch_id])
    assert dispatch.send_id == "test" and dispatch.campaign == triggered
    delivery = Delivery.objects.get()
    assert delivery.rendered["subject"] == "Order T-1 for Ada"
    assert delivery.status in ("delivered", "sent")


def test_viewer_reads_but_cannot_save_or_send(client, make_user, triggered):
    client.force_login(make_user("viewer", role="Viewer"))
    assert client.get(_url(triggered)).status_code == 200
    refused = client.post(_url(triggered), {"action": "save"})
    assert refused.status_code == 403


def test_the_type_chooser_creates_an_api_triggered_campaign(marketer_client):
    chooser = marketer_client.get(reverse("campaigns:create")).content.decode()
    assert reverse("campaigns:create-api-triggered") in chooser
    page = marketer_client.get(reverse("campaigns:create-api-triggered")).content.decode()
    assert "New API-triggered campaign" in page and "/campaigns/trigger/send" in page
    response = marketer_client.post(reverse("campaigns:create-api-triggered"), {
        "name": "Welcome", "description": "", "tags": "", "save": "1",
        "msg-TOTAL_FORMS": "1", "msg-INITIAL_FORMS": "0",
        "msg-0-channel": "email", "msg-0-name": "Email A", "msg-0-variation": "",
        "conv-TOTAL_FORMS": "0", "conv-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="Welcome")
    assert campaign.is_api_triggered
    detail = marketer_client.get(campaign.get_absolute_url()).content.decode()
    assert "API-triggered campaign" in detail and _url(campaign) in detail
    assert "/campaigns/trigger/send" in detail and "/messages/send" not in detail


def test_the_campaign_list_marks_api_triggered_campaigns(marketer_client, triggered, campaign):
    page = marketer_client.get(reverse("campaigns:list")).content.decode()
    assert page.count(">API-triggered</span>") == 1
