"""npm braze-api's scheduled-message methods get Braze's documented answers from Herald."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Profile, ScheduledMessage
from tests.analytics.helpers import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def test_schedule_create_update_delete_and_scheduled_broadcasts(braze_node, api_key):
    campaign = make_campaign("Reminders", variations=(("email", "Variant 1"),))
    campaign.tags.create(name="reminders")
    variation = campaign.variations.get()
    Profile.objects.create(external_id="ada", first_name="Ada", email="ada@example.test")
    now = timezone.now().replace(microsecond=0)
    answer = braze_node(
        "schedule.mjs", api_key[1],
        HERALD_CAMPAIGN_ID=campaign.campaign_id,
        HERALD_VARIATION_ID=variation.message_variation_id,
        HERALD_TIME=(now + timedelta(hours=1)).isoformat(),
        HERALD_NEW_TIME=(now + timedelta(hours=2)).isoformat(),
        HERALD_LOCAL_TIME="2099-06-01T09:00:00",
        HERALD_END_TIME=(now + timedelta(days=1)).isoformat(),
    )
    print(json.dumps(answer, indent=1))  # every client call's answer, shown with -s
    create = answer["create"]
    assert create["message"] == "success"
    assert re.fullmatch(r"[0-9a-f]{32}", create["dispatch_id"])
    assert re.fullmatch(r"[0-9a-f-]{36}", create["schedule_id"])

    (entry,) = answer["broadcasts"]["scheduled_broadcasts"]  # the local one is in 2099
    assert entry["id"] == campaign.campaign_id and entry["type"] == "Campaign"
    assert entry["name"] == "Reminders" and entry["tags"] == ["reminders"]
    assert entry["next_send_time"] == (now + timedelta(hours=1)).isoformat()

    assert answer["update"] == {"message": "success"}
    moved = ScheduledMessage.objects.get(schedule_id=create["schedule_id"])
    assert moved.send_at == now + timedelta(hours=2)
    assert moved.plan["messages"]["email"]["subject"] == "Moved"

    assert answer["delete"] == {"message": "success"}
    cancelled = ScheduledMessage.objects.get(schedule_id=answer["local"]["schedule_id"])
    assert cancelled.status == "cancelled"

    assert answer["refused"]["status"] == 400
    assert answer["refused"]["message"] == "Bad Request"
    assert answer["refused"]["errors"] == ["schedule.time: already passed in every time zone"]
    assert answer["unknown"]["status"] == 404
    assert ScheduledMessage.objects.count() == 2
