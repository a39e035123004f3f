from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign

pytestmark = pytest.mark.django_db
URL = "/messaging/campaigns/"


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_empty_state_invites_to_create(marketer_client):
    response = marketer_client.get(URL)
    body = response.content.decode()
    assert "Create your first API campaign" in body
    assert reverse("campaigns:create") in body


def test_lists_rows_with_channels_last_sent_and_headline_cells(marketer_client, make_campaign):
    campaign = make_campaign(channels=("email", "sms", "email"), tags=["orders"])
    Campaign.objects.filter(pk=campaign.pk).update(last_sent_at=timezone.now() - timedelta(hours=2))
    body = marketer_client.get(URL).content.decode()
    assert campaign.name in body and campaign.get_absolute_url() in body
    assert body.count(">Email</span>") == 1 and ">SMS/MMS</span>" in body
    assert "2\xa0hours ago" in body or "2 hours ago" in body
    assert f'id="headline-{campaign.api_id}"' in body
    assert f"campaign={campaign.api_id}&" in body
    assert f"/{campaign.pk}/" not in body


def test_search_filters_by_name_and_htmx_gets_fragment_only(marketer_client, make_campaign):
    make_campaign(name="Order shipped")
    make_campaign(name="Password reset")
    response = marketer_client.get(URL, {"q": "passw"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body and 'id="campaign-results"' in body
    assert "Password reset" in body and "Order shipped" not in body


def test_status_and_tag_filters(marketer_client, make_campaign, marketer):
    make_campaign(name="Tagged active", tags=["billing"])
    make_campaign(name="Draft one", channels=())
    make_campaign(name="Other active")
    body = marketer_client.get(URL, {"status": "draft"}).content.decode()
    assert "Draft one" in body and "Tagged active" not in body
    body = marketer_client.get(URL, {"tag": "billing"}).content.decode()
    assert "Tagged active" in body and "Other active" not in body and "Draft one" not in body
    body = marketer_client.get(URL, {"q": "zzz"}).content.decode()
    assert "No campaign matches these filters" in body


def test_sort_by_last_edited(marketer_client, make_campaign):
    old = make_campaign(name="Old one")
    make_campaign(name="New one")
    Campaign.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    body = marketer_client.get(URL).content.decode()
    assert body.index("New one") < body.index("Old one")
    body = marketer_client.get(URL, {"sort": "updated"}).content.decode()
    assert body.index("Old one") < body.index("New one")
    # Unknown sort values fall back to the default instead of failing.
    assert marketer_client.get(URL, {"sort": "pk; drop"}).status_code == 200


def test_pagination_keeps_filters(marketer_client, make_campaign):
    for index in range(23):
        make_campaign(name=f"Receipt {index:02d}", channels=())
    page1 = marketer_client.get(URL, {"q": "receipt"}).content.decode()
    assert "Page 1 of 2" in page1 and "q=receipt&amp;page=2" in page1
    page2 = marketer_client.get(URL, {"q": "receipt", "page": "2"}).content.decode()
    assert page2.count('class="row-title"') == 3
    assert marketer_client.get(URL, {"page": "abc"}).status_code == 200


def test_query_count_does_not_grow_with_rows(
    marketer_client, make_campaign, django_assert_num_queries
):
    make_campaign(channels=("email", "sms"), tags=["a"])
    # session, user, the user's and their groups' permissions, the two-factor policy, count,
    # page, tags prefetch, variations prefetch, tag filter list
    with django_assert_num_queries(10):
        marketer_client.get(URL)
    for index in range(10):
        make_campaign(
            name=f"More {index}", channels=("email", "webhook", "sms"), tags=["a", f"t{index}"]
        )
    with django_assert_num_queries(10):
        marketer_client.get(URL)


def test_list_varies_on_hx_request(marketer_client):
    assert "HX-Request" in marketer_client.get(URL)["Vary"]


def test_htmx_history_restore_gets_the_whole_page(marketer_client):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in marketer_client.get(URL, headers=headers).content.decode()
