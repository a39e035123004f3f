"""Dashboard views of dispatches: the campaign's fragment and the live dispatch page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.models import Delivery, Dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatch(campaign, make_profile):
    profile = make_profile(external_id="ada")
    dispatch = Dispatch.objects.create(
        campaign=campaign,
        messages={"email": {"subject": "x"}},
        audience={"external_user_ids": ["ada"]},
        recipients_total=1,
    )
    Delivery.objects.create(
        dispatch=dispatch,
        profile=profile,
        channel="email",
        rendered={"subject": "Hi Ada"},
        status="pending",
    )
    return dispatch


def test_pages_need_a_login(client, dispatch):
    for url in (
        reverse("messaging:dispatch-list"),
        reverse("messaging:dispatch-detail", args=[dispatch.dispatch_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_campaign_fragment_lists_its_dispatches_only(marketer_client, dispatch, campaign):
    from campaigns.models import Campaign

    other = Dispatch.objects.create(
        campaign=Campaign.objects.create(name="Other"), messages={"sms": {}}
    )
    response = marketer_client.get(
        reverse("messaging:dispatch-list"),
        {"campaign": campaign.api_id},
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert dispatch.dispatch_id[:10] in content and other.dispatch_id[:10] not in content
    # Linked by its public dispatch_id, never the integer pk.
    assert reverse("messaging:dispatch-detail", args=[dispatch.dispatch_id]) in content
    assert (
        marketer_client.get(reverse("messaging:dispatch-list"), {"campaign": "nope"}).status_code
        == 404
    )


def test_dispatch_page_and_its_polling_fragment(marketer_client, dispatch):
    url = reverse("messaging:dispatch-detail", args=[dispatch.dispatch_id])
    page = marketer_client.get(url)
    assert page.status_code == 200
    assert 'hx-trigger="every 2s"' in page.content.decode() and "Hi Ada" in page.content.decode()

    poll = marketer_client.get(url, headers={"HX-Request": "true", "HX-Trigger": "dispatch-live"})
    assert poll.status_code == 200 and "<html" not in poll.content.decode()

    Dispatch.objects.filter(pk=dispatch.pk).update(status=Dispatch.Status.DONE, delivered_count=1)
    final = marketer_client.get(url, headers={"HX-Request": "true", "HX-Trigger": "dispatch-live"})
    assert final.status_code == 286  # htmx stops polling
    assert 'hx-trigger="every 2s"' not in final.content.decode()
    assert 'aria-valuenow="100"' in final.content.decode()


def test_unknown_dispatch_is_404(marketer_client):
    assert (
        marketer_client.get(reverse("messaging:dispatch-detail", args=["f" * 32])).status_code
        == 404
    )


def test_dispatch_page_query_count_does_not_grow_with_rows(
    marketer_client, dispatch, make_profile, django_assert_max_num_queries
):
    for _ in range(20):
        Delivery.objects.create(dispatch=dispatch, profile=make_profile(), channel="email")
    with django_assert_max_num_queries(12):
        marketer_client.get(reverse("messaging:dispatch-detail", args=[dispatch.dispatch_id]))


def test_full_list_of_sends_across_campaigns(marketer_client, dispatch, campaign):
    response = marketer_client.get(reverse("messaging:dispatch-list"))
    content = response.content.decode()
    assert response.status_code == 200 and "<html" in content
    assert campaign.name in content and dispatch.dispatch_id[:10] in content
