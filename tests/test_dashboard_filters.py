"""The dashboard's search and filter boxes: any value gets a page, never a 500 (issue 11).

PostgreSQL refuses a NUL character in any query (SQLite does not), so these tests mean
most on PostgreSQL: run them with DATABASE_URL set, as CI does.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Tag
from messaging.models import Profile

pytestmark = pytest.mark.django_db

HOSTILE = ["a\x00b", "\x00", "%00", "\ufffd", "é" * 300, "' OR 1=1 --", "\u202e"]


def _notices(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("name", ["q", "tag", "status", "sort", "page"])
def test_campaign_list_answers_any_filter(marketer_client, name, value):
    Campaign.objects.create(name="Listed")
    response = marketer_client.get(reverse("campaigns:list"), {name: value})
    assert response.status_code == 200
    assert "Listed" in response.content.decode() or name in ("q", "tag")


@pytest.mark.parametrize("name, label", [("q", "search"), ("tag", "tag filter")])
def test_a_nul_in_a_campaign_filter_is_ignored_with_a_message(marketer_client, name, label):
    campaign = Campaign.objects.create(name="Still shown")
    campaign.tags.add(Tag.objects.create(name="t"))
    response = marketer_client.get(reverse("campaigns:list"), {name: "a\x00b"})
    assert response.status_code == 200
    assert "Still shown" in response.content.decode()  # the filter was dropped
    assert _notices(response) == [f"The {label} was ignored: "
                                  "text must not contain NUL characters."]


def test_a_nul_in_the_htmx_search_answers_the_fragment(marketer_client):
    response = marketer_client.get(reverse("campaigns:list"), {"q": "a\x00b"},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 200


@pytest.mark.parametrize("value", HOSTILE)
def test_profile_search_answers_any_query(marketer_client, value):
    Profile.objects.create(external_id="someone")
    response = marketer_client.get(reverse("messaging:profile-list"), {"q": value})
    assert response.status_code == 200


def test_a_nul_in_the_profile_search_is_ignored_with_a_message(marketer_client):
    Profile.objects.create(external_id="someone")
    response = marketer_client.get(reverse("messaging:profile-list"), {"q": "some\x00one"})
    assert response.status_code == 200
    assert "someone" in response.content.decode()
    assert _notices(response) == ["The search was ignored: text must not contain NUL characters."]


@pytest.mark.parametrize("value", HOSTILE)
def test_dispatch_list_and_headlines_answer_any_campaign_filter(marketer_client, value):
    response = marketer_client.get(reverse("messaging:dispatch-list"), {"campaign": value})
    assert response.status_code in (200, 404)
    response = marketer_client.get(reverse("analytics:campaign-headlines"), {"campaign": value})
    assert response.status_code == 200
