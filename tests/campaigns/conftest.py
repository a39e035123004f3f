"""Helpers for the campaign tests: posted editor data and campaigns built through services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.services import ConversionSpec, MessageSpec, campaign_create, variations_sent
from messaging.models import Delivery, Dispatch


def editor_post(
    name: str = "Order shipped",
    *,
    description: str = "",
    tags: str = "",
    messages: list[tuple] = (),
    conversions: list[dict] = (),
    total_messages: int | None = None,
    total_conversions: int | None = None,
    **extra: str,
) -> dict[str, str]:
    """The body the configuration page posts: title, messages formset, conversions formset."""
    data = {
        "name": name,
        "description": description,
        "tags": tags,
        "msg-TOTAL_FORMS": str(len(messages) if total_messages is None else total_messages),
        "msg-INITIAL_FORMS": "0",
        "msg-MIN_NUM_FORMS": "0",
        "msg-MAX_NUM_FORMS": "40",
        "conv-TOTAL_FORMS": str(
            len(conversions) if total_conversions is None else total_conversions
        ),
        "conv-INITIAL_FORMS": "0",
        "conv-MIN_NUM_FORMS": "0",
        "conv-MAX_NUM_FORMS": "4",
    }
    for index, message in enumerate(messages):
        channel, variant = message[0], message[1]
        variation = message[2] if len(message) > 2 else ""
        data[f"msg-{index}-channel"] = channel
        data[f"msg-{index}-name"] = variant
        data[f"msg-{index}-variation"] = str(variation)
    for index, conversion in enumerate(conversions):
        row = {
            "kind": "Starts Session",
            "product_id": "",
            "custom_event_name": "",
            "deadline_value": "3",
            "deadline_unit": "days",
            **conversion,
        }
        for field, value in row.items():
            data[f"conv-{index}-{field}"] = str(value)
    data.update(extra)
    return data


@pytest.fixture
def post_data():
    return editor_post


@pytest.fixture
def make_campaign(db, marketer):
    def make(name="Order shipped", channels=("email",), conversions=(), **kwargs):
        return campaign_create(
            name=name,
            messages=[
                MessageSpec(channel=c, name=f"Variant {i + 1}") for i, c in enumerate(channels)
            ],
            conversions=[
                ConversionSpec(kind=kind, window=timedelta(days=3), **extra)
                for kind, extra in conversions
            ],
            by=marketer,
            **kwargs,
        )

    return make


@pytest.fixture
def make_delivery(db):
    """Record one delivery of a variation, as messaging does when it sends: the row, and
    the variation's first send through campaigns' own service."""

    def make(variation):
        dispatch = Dispatch.objects.create(campaign=variation.campaign)
        variations_sent(
            campaign_id=variation.campaign_id, variation_ids=[variation.pk], at=timezone.now()
        )
        return Delivery.objects.create(
            dispatch=dispatch,
            channel=variation.channel,
            campaign=variation.campaign,
            variation=variation,
        )

    return make
