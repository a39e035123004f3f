"""npm braze-api's API-triggered campaign methods get Braze's documented answers from Herald."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, MessageVariation
from messaging.models import Delivery, Dispatch, Profile, ScheduledMessage
from tests.analytics.helpers import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _eager():
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_trigger_send_and_trigger_schedules(braze_node, api_key):
    campaign = Campaign.objects.create(name="Shipped", status=Campaign.Status.ACTIVE,
                                       kind=Campaign.Kind.API_TRIGGERED)
    MessageVariation.objects.create(campaign=campaign, channel="email", name="Email", content={
        "app_id": "app", "from": "o@acme.test", "body": "<p>Hi</p>",
        "subject": "Order {{api_trigger_properties.${order}}} for {{${first_name}}}",
    })
    api_campaign = make_campaign("Plain", variations=(("email", "Variant 1"),))
    for name in ("Ada", "Bob"):
        Profile.objects.create(external_id=name.lower(), first_name=name,
                               email=f"{name.lower()}@example.test")
    now = timezone.now().replace(microsecond=0)
    answer = braze_node(
        "trigger.mjs", api_key[1], HERALD_CAMPAIGN_ID=campaign.campaign_id,
        HERALD_API_CAMPAIGN_ID=api_campaign.campaign_id,
        HERALD_TIME=(now + timedelta(hours=1)).isoformat(),
        HERALD_NEW_TIME=(now + timedelta(hours=2)).isoformat(),
    )
    print(json.dumps(answer, indent=1))  # every client call's answer, shown with -s
    assert answer["send"]["message"] == "success"
    assert Dispatch.objects.get().dispatch_id == answer["send"]["dispatch_id"]
    subjects = dict(Delivery.objects.values_list("profile__external_id", "rendered__subject"))
    assert subjects == {"ada": "Order A-1 for Ada", "bob": "Order B-2 for Bob"}

    assert re.fullmatch(r"[0-9a-f]{32}", answer["create"]["dispatch_id"])
    assert answer["update"] == {"message": "success"}
    assert answer["delete"] == {"message": "success"}
    row = ScheduledMessage.objects.get(schedule_id=answer["create"]["schedule_id"])
    assert row.status == "cancelled" and row.send_at == now + timedelta(hours=2)

    assert answer["refused"]["status"] == 400
    assert answer["refused"]["message"] == "Invalid Campaign ID"
