"""Retargeting segments: built from results, stored, usable as segment_id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import Segment
from analytics.selectors import segment_profile_ids
from analytics.services import custom_event_record, segment_create_from_results
from campaigns.models import ConversionEvent
from messaging.models import Delivery

from .helpers import make_campaign, make_profile, record, send

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def setup():
    campaign = make_campaign(
        variations=[("email", "A"), ("email", "B")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "buy", "window": timedelta(days=1)})])
    a, b = campaign.variations.all()
    people = {name: make_profile(name) for name in ("ann", "ben", "cat", "dan")}
    deliveries = {
        "ann": send(a, people["ann"], sent_at=SENT),
        "ben": send(a, people["ben"], sent_at=SENT),
        "cat": send(b, people["cat"], sent_at=SENT),
        "dan": send(b, people["dan"], sent_at=SENT),
    }
    record(deliveries["ann"], "open", key="o1")
    record(deliveries["ann"], "open", key="o2")
    record(deliveries["cat"], "open", key="o3")
    record(deliveries["cat"], "click")
    custom_event_record(profile_id=people["ben"].pk, name="buy", time=SENT + timedelta(hours=1))
    return campaign, a, b, people


def _members(segment):
    from messaging.models import Profile

    ids = segment_profile_ids(segment_id=segment.segment_id)
    return set(Profile.objects.filter(pk__in=ids).values_list("external_id", flat=True))


@pytest.mark.parametrize(("behavior", "variation", "expected"), [
    ("received", None, {"ann", "ben", "cat", "dan"}),
    ("opened", None, {"ann", "cat"}),
    ("opened", "A", {"ann"}),
    ("clicked", None, {"cat"}),
    ("converted", None, {"ben"}),
    ("not_converted", None, {"ann", "cat", "dan"}),
    ("not_converted", "A", {"ann"}),
])
def test_segment_holds_the_profiles_that_did_it(setup, behavior, variation, expected):
    campaign, a, b, _ = setup
    chosen = {"A": a, "B": b}.get(variation)
    segment = segment_create_from_results(campaign=campaign, behavior=behavior, variation=chosen)
    assert _members(segment) == expected
    assert segment.size == len(expected)
    assert segment.source == Segment.Source.RETARGETING
    assert segment.source_campaign == campaign


def test_unknown_segment_gives_none():
    assert segment_profile_ids(segment_id="4f1c2b8e-7d3a-4c11-9e0b-5a6f2d1c9e77") is None


def test_variation_of_another_campaign_is_refused(setup):
    campaign, *_ = setup
    other = make_campaign(name="Other").variations.get()
    with pytest.raises(ValueError):
        segment_create_from_results(campaign=campaign, behavior="opened", variation=other)
    assert Segment.objects.count() == 0


def test_segment_is_usable_in_a_send(setup, api, django_capture_on_commit_callbacks):
    """A follow-up /messages/send with the segment_id reaches exactly its members."""
    campaign, *_ = setup
    segment = segment_create_from_results(campaign=campaign, behavior="opened")
    follow_up = make_campaign(name="Follow-up")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/messages/send", {
            "campaign_id": str(follow_up.api_id), "segment_id": segment.segment_id,
            "broadcast": True,
            "messages": {"email": {
                "app_id": "any", "message_variation_id": str(follow_up.variations.get().api_id),
                "from": "Shop <shop@example.test>", "subject": "Still thinking?",
                "body": "<p>Come back</p>"}},
        })
    assert response.status_code == 201, response.content
    assert response.json()["dispatch_id"]
    reached = set(Delivery.objects.filter(campaign=follow_up)
                  .values_list("profile__external_id", flat=True))
    assert reached == {"ann", "cat"}
