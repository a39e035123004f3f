"""Fixtures of the messaging tests: campaigns with variations, profiles."""

from __future__ import annotations

import pytest


@pytest.fixture
def campaign(db):
    from campaigns.models import Campaign, Channel, MessageVariation

    campaign = Campaign.objects.create(name="Order shipped", status=Campaign.Status.ACTIVE)
    for position, channel in enumerate(Channel.values):
        MessageVariation.objects.create(
            campaign=campaign, channel=channel, name=f"{channel} A", position=position
        )
    return campaign


@pytest.fixture
def variation(campaign):
    """variation("email") -> the campaign's message_variation_id for that channel."""

    def get(channel: str) -> str:
        return campaign.variations.get(channel=channel).message_variation_id

    return get


@pytest.fixture
def make_profile(db):
    from messaging.models import Profile

    counter = {"n": 0}

    def make(**fields):
        counter["n"] += 1
        n = counter["n"]
        defaults = {
            "external_id": f"user-{n}",
            "email": f"user{n}@example.test",
            "first_name": f"Name{n}",
        }
        defaults.update(fields)
        return Profile.objects.create(**defaults)

    return make
