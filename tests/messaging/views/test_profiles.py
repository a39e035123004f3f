"""Audience pages: the profile list (search, pagination, empty state) and a profile's page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from analytics.models import CustomEvent, Purchase
from campaigns.models import Campaign, Channel, MessageVariation
from messaging.models import ContentCard, Delivery, Dispatch, Profile, PushToken, UserAlias

pytestmark = pytest.mark.django_db


def test_pages_need_login(client):
    profile = Profile.objects.create(external_id="p")
    for url in (reverse("messaging:profile-list"),
                reverse("messaging:profile-detail", args=[profile.braze_id])):
        assert client.get(url).status_code == 302
    response = client.post(reverse("messaging:profile-control-group", args=[profile.braze_id]),
                           {"in_control": "1"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.in_global_control_group is False


def test_empty_state(marketer_client):
    html = marketer_client.get(reverse("messaging:profile-list")).content.decode()
    assert "No profiles yet" in html and "/users/track" in html
    assert f'href="{reverse("analytics:segment-list")}"' in html


def test_search_by_external_id_email_and_phone(marketer_client):
    Profile.objects.create(external_id="alpha-1", email="ann@example.test", phone="+331111")
    Profile.objects.create(external_id="beta-2", email="bob@example.test", phone="+442222")
    url = reverse("messaging:profile-list")
    for query, expected, other in [("alpha", "alpha-1", "beta-2"),
                                   ("bob@", "beta-2", "alpha-1"),
                                   ("+3311", "alpha-1", "beta-2")]:
        html = marketer_client.get(url, {"q": query}).content.decode()
        assert expected in html and other not in html
    html = marketer_client.get(url, {"q": "zzz"}).content.decode()
    assert "No profile matches" in html


def test_htmx_search_answers_the_table_fragment_only(marketer_client):
    Profile.objects.create(external_id="frag")
    response = marketer_client.get(reverse("messaging:profile-list"), {"q": "frag"},
                                   headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'id="profile-table"' in html and "frag" in html


def test_pagination_and_query_count(marketer_client, django_assert_max_num_queries):
    Profile.objects.bulk_create(Profile(external_id=f"user-{i:03d}") for i in range(60))
    url = reverse("messaging:profile-list")
    # 6, plus the permissions (user, groups) and the two-factor policy
    with django_assert_max_num_queries(9):
        first = marketer_client.get(url).content.decode()
    assert "Page 1 of 3" in first and "user-059" in first and "user-000" not in first
    last = marketer_client.get(url, {"page": 3}).content.decode()
    assert "user-000" in last and "user-059" not in last
    assert marketer_client.get(url, {"page": "junk"}).status_code == 200


def test_profile_page_shows_everything(marketer_client):
    profile = Profile.objects.create(external_id="ana", first_name="Ana", email="a@example.test",
                                     custom_attributes={"tier": "gold", "nested": {"a": 1}})
    UserAlias.objects.create(profile=profile, alias_label="crm", alias_name="lead-9")
    PushToken.objects.create(profile=profile, app_id="ios-app", token="tok-abc")
    CustomEvent.objects.create(profile=profile, name="viewed_item",
                               time=datetime(2024, 1, 1, tzinfo=UTC))
    Purchase.objects.create(profile=profile, product_id="sku-1", currency="EUR", price=9.5,
                            time=datetime(2024, 1, 2, tzinfo=UTC))
    campaign = Campaign.objects.create(name="Order shipped")
    variation = MessageVariation.objects.create(campaign=campaign, channel=Channel.EMAIL,
                                                name="Email A")
    dispatch = Dispatch.objects.create(campaign=campaign)
    Delivery.objects.create(dispatch=dispatch, profile=profile, channel=Channel.EMAIL,
                            campaign=campaign, variation=variation, status="delivered")
    ContentCard.objects.create(profile=profile, title="Welcome card", campaign=campaign)

    response = marketer_client.get(reverse("messaging:profile-detail", args=[profile.braze_id]))
    html = response.content.decode()
    for text in ("Ana", profile.braze_id, "a@example.test", "lead-9", "ios-app", "tok-abc",
                 "viewed_item", "sku-1", "9.50 EUR", "Order shipped", "Email A", "Delivered",
                 "Welcome card", "API campaigns ignore this flag",
                 "&quot;tier&quot;: &quot;gold&quot;"):
        assert text in html, text


def test_unknown_profile_is_404(marketer_client):
    url = reverse("messaging:profile-detail", args=["0" * 24])
    assert marketer_client.get(url).status_code == 404


def test_control_group_toggle(marketer_client):
    profile = Profile.objects.create(external_id="c")
    url = reverse("messaging:profile-control-group", args=[profile.braze_id])
    response = marketer_client.post(url, {"in_control": "1"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.in_global_control_group is True
    response = marketer_client.post(url, {"in_control": "0"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and "not in" in html
    profile.refresh_from_db()
    assert profile.in_global_control_group is False


def test_profile_page_query_count_does_not_grow_with_rows(marketer_client,
                                                          django_assert_max_num_queries):
    profile = Profile.objects.create(external_id="many")
    campaign = Campaign.objects.create(name="C")
    for i in range(15):
        dispatch = Dispatch.objects.create(campaign=campaign)
        Delivery.objects.create(dispatch=dispatch, profile=profile, channel=Channel.EMAIL,
                                campaign=campaign)
        ContentCard.objects.create(profile=profile, title=f"card {i}", campaign=campaign)
        PushToken.objects.create(profile=profile, app_id="a", token=f"t{i}")
    with django_assert_max_num_queries(12):
        response = marketer_client.get(reverse("messaging:profile-detail",
                                               args=[profile.braze_id]))
    assert response.content.decode().count("card ") >= 15
