"""npm braze-api's campaign methods parse Herald's answers."""

from __future__ import annotations

import pytest

from tests.analytics.helpers import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def test_campaigns_list_and_details(braze_node, api_key):
    campaign = make_campaign("Order shipped", variations=(("email", "Variant 1"),))
    answer = braze_node("campaigns.mjs", api_key[1], HERALD_CAMPAIGN_ID=str(campaign.api_id))
    assert answer["list"]["message"] == "success"
    assert [c["id"] for c in answer["list"]["campaigns"]] == [str(campaign.api_id)]
    assert answer["details"]["name"] == "Order shipped"
    assert [m["channel"] for m in answer["details"]["messages"].values()] == ["email"]
