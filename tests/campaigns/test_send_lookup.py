"""campaign_with_variations: the one lookup of a send, by hand-written SQL (config.sql)."""

from __future__ import annotations

import uuid

import pytest

from campaigns.models import Campaign, MessageVariation
from campaigns.selectors import campaign_with_variations

pytestmark = pytest.mark.django_db


def test_loads_the_campaign_and_its_messages_in_one_query(django_assert_num_queries):
    campaign = Campaign.objects.create(name="Receipts")
    email = MessageVariation.objects.create(campaign=campaign, channel="email", name="A")
    hook = MessageVariation.objects.create(campaign=campaign, channel="webhook", name="B")
    with django_assert_num_queries(1):
        found, variations = campaign_with_variations(campaign.campaign_id)
        # Converted as the ORM converts them (a UUID is text on SQLite).
        assert found.api_id == campaign.api_id and isinstance(found.api_id, uuid.UUID)
        assert [(v.api_id, v.channel, v.name) for v in variations] == [
            (email.api_id, "email", "A"), (hook.api_id, "webhook", "B")]
        assert all(v.campaign is found for v in variations)
        assert found.status == Campaign.Status.DRAFT and not found.is_archived
    # Fields a send does not read are deferred, and still load when touched.
    assert found.created_at == campaign.created_at


def test_a_campaign_without_messages_and_unknown_ids():
    empty = Campaign.objects.create(name="Empty")
    found, variations = campaign_with_variations(str(empty.api_id).upper())
    assert found.pk == empty.pk and variations == []
    assert campaign_with_variations(str(uuid.uuid4())) is None
    assert campaign_with_variations("not-a-uuid") is None
    assert campaign_with_variations("") is None
