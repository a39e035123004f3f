"""A/B: uplift of the primary conversion rate and the confidence of the difference."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.selectors import _two_proportion_confidence, variation_results
from analytics.services import custom_event_record
from campaigns.models import ConversionEvent

from .helpers import make_campaign, make_profile, send

pytestmark = pytest.mark.django_db


def test_two_proportion_confidence_matches_the_textbook_value():
    # 100/1000 vs 130/1000: pooled p = .115, z = 2.1027, two-sided confidence ≈ 96.45 %.
    assert _two_proportion_confidence(100, 1000, 130, 1000) == pytest.approx(0.9645, abs=1e-4)
    assert _two_proportion_confidence(50, 1000, 50, 1000) == 0
    assert _two_proportion_confidence(0, 0, 1, 10) is None
    assert _two_proportion_confidence(0, 10, 0, 10) is None  # no variance at all


def test_uplift_compares_each_variant_with_the_first_of_its_channel():
    campaign = make_campaign(
        variations=[("email", "A"), ("email", "B"), ("sms", "Only text")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "buy", "window": timedelta(days=1)})])
    a, b, sms = campaign.variations.all()
    sent_at = timezone.now() - timedelta(hours=1)
    for i in range(40):
        variation = a if i < 20 else b
        delivery = send(variation, make_profile(f"p{i}"), sent_at=sent_at)
        # A converts 2 of 20 (10 %), B 5 of 20 (25 %).
        if i in (0, 1) or 20 <= i < 25:
            custom_event_record(profile_id=delivery.profile_id, name="buy",
                                time=timezone.now())
    send(sms, make_profile("t"), sent_at=sent_at)
    rows = {row.variation.name: row for row in variation_results(campaign=campaign).rows}
    assert rows["A"].is_baseline and rows["A"].uplift is None
    assert rows["B"].uplift == pytest.approx(1.5)  # 25 % vs 10 %: +150 %
    assert rows["B"].confidence == pytest.approx(
        _two_proportion_confidence(2, 20, 5, 20))
    assert rows["Only text"].uplift is None and rows["Only text"].confidence is None
