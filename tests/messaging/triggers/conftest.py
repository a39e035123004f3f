"""An API-triggered campaign with written content."""

from __future__ import annotations

import pytest

EMAIL = {
    "app_id": "app",
    "from": "Acme <o@acme.test>",
    "subject": "Order {{api_trigger_properties.${order}}} for {{${first_name}}}",
    "body": "<p>{{api_trigger_properties.${note} | default: 'Thanks'}}</p>",
}


@pytest.fixture
def triggered(db):
    from campaigns.models import Campaign, MessageVariation

    campaign = Campaign.objects.create(
        name="Order shipped (triggered)", status=Campaign.Status.ACTIVE,
        kind=Campaign.Kind.API_TRIGGERED,
    )
    MessageVariation.objects.create(
        campaign=campaign, channel="email", name="Email A", content=dict(EMAIL)
    )
    return campaign


@pytest.fixture
def fire(django_capture_on_commit_callbacks):
    from messaging.scheduling import services

    def tick(now=None):
        with django_capture_on_commit_callbacks(execute=True):
            return services.schedules_fire_due(now=now)

    return tick
