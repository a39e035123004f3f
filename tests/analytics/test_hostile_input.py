"""Odd and hostile input gets a 400 in Braze's envelope (or a plain page), never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .helpers import make_campaign

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("path", "params"), [
    ("/campaigns/data_series", {"campaign_id": "a\x00b", "length": 1}),
    ("/campaigns/data_series", {"campaign_id": "{c}", "length": 100, "ending_at": "0001-01-05"}),
    ("/campaigns/data_series", {"campaign_id": "{c}", "length": 1, "ending_at": "2026-13-40"}),
    ("/campaigns/details", {"campaign_id": "\x00"}),
    ("/sends/data_series", {"campaign_id": "{c}", "length": 1, "send_id": "a\x00"}),
    ("/sends/data_series", {"campaign_id": "{c}", "length": 1, "send_id": "é"}),
    ("/campaigns/list", {"page": str(10**20)}),
    ("/segments/list", {"page": "1e3"}),
    ("/segments/details", {"segment_id": "\x00"}),
])
def test_bad_query_is_a_400(api, path, params):
    campaign = make_campaign()
    params = {k: (v.format(c=campaign.api_id) if isinstance(v, str) else v)
              for k, v in params.items()}
    response = api.get(path, params)
    assert response.status_code == 400, response.content
    assert response.json()["message"] != "success"


def test_nul_in_engagement_body_is_a_400(api):
    response = api.post("/engagement/track", {"events": [
        {"type": "push_open", "message_id": "a\x00"},
        {"type": "app_session", "external_id": "x\x00"}]})
    assert response.status_code == 400


@pytest.mark.parametrize("params", [
    {"start": "0001-01-01"}, {"end": "0001-01-02"}, {"start": "junk"},
    {"send_id": "a\x00"}, {"metric": "nope"},
])
def test_results_page_survives_odd_filters(marketer_client, params):
    campaign = make_campaign()
    url = reverse("analytics:campaign-results", args=[campaign.api_id])
    assert marketer_client.get(url, params).status_code == 200
    csv_url = reverse("analytics:campaign-results-csv", args=[campaign.api_id])
    assert marketer_client.get(csv_url, params).status_code == 200


def test_retarget_with_unknown_behavior_creates_nothing(marketer_client):
    from analytics.models import Segment

    campaign = make_campaign()
    url = reverse("analytics:segment-create", args=[campaign.api_id])
    for data in ({"behavior": "teleported"}, {"behavior": "opened", "variation": "not-a-uuid"},
                 {}):
        assert marketer_client.post(url, data).status_code == 302
    assert Segment.objects.count() == 0
