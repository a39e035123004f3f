"""POST /sends/id/create (spec §3.2): campaign rules, ASCII ≤ 64, 100 per day."""

from __future__ import annotations

import pytest

from messaging.models import SendIdentifier

pytestmark = pytest.mark.django_db


def test_creates_a_custom_send_id(api, campaign):
    response = api.post(
        "/sends/id/create", {"campaign_id": campaign.campaign_id, "send_id": "spring-wave-2"}
    )
    assert response.status_code == 201
    assert response.json() == {"message": "success", "send_id": "spring-wave-2"}
    assert SendIdentifier.objects.filter(campaign=campaign, send_id="spring-wave-2").exists()
    assert response["X-RateLimit-Remaining"] == "99"


def test_generates_one_when_omitted(api, campaign):
    response = api.post("/sends/id/create", {"campaign_id": campaign.campaign_id})
    send_id = response.json()["send_id"]
    assert response.status_code == 201 and send_id.isascii() and 0 < len(send_id) <= 64


@pytest.mark.parametrize("send_id", ["x" * 65, "café", "", "tab\there"])
def test_refuses_bad_send_ids(api, campaign, send_id):
    response = api.post(
        "/sends/id/create", {"campaign_id": campaign.campaign_id, "send_id": send_id}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("send_id:")
    assert not SendIdentifier.objects.exists()


def test_refuses_unknown_or_archived_campaigns(api, campaign):
    assert (
        api.post("/sends/id/create", {"campaign_id": "nope"}).json()["message"]
        == "Invalid Campaign ID"
    )
    campaign.status = campaign.Status.ARCHIVED
    campaign.save()
    response = api.post("/sends/id/create", {"campaign_id": campaign.campaign_id})
    assert response.status_code == 400 and "archived" in response.json()["message"]


def test_the_101st_send_id_of_the_day_is_429_and_a_repeat_pair_counts_once(api, campaign):
    SendIdentifier.objects.bulk_create(
        SendIdentifier(campaign=campaign, send_id=f"s{i}") for i in range(99)
    )
    assert (
        api.post(
            "/sends/id/create", {"campaign_id": campaign.campaign_id, "send_id": "last"}
        ).status_code
        == 201
    )
    # The same pair again is not a new identifier.
    again = api.post("/sends/id/create", {"campaign_id": campaign.campaign_id, "send_id": "last"})
    assert again.status_code == 201
    refused = api.post(
        "/sends/id/create", {"campaign_id": campaign.campaign_id, "send_id": "one-more"}
    )
    assert refused.status_code == 429
    assert refused.json()["message"] == "Rate Limited"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert SendIdentifier.objects.count() == 100


def test_needs_the_permission(api, make_api_key, campaign):
    _, key = make_api_key(permissions=["messages.send"])
    response = api.post("/sends/id/create", {"campaign_id": campaign.campaign_id}, key=key)
    assert response.status_code == 403
