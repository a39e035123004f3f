"""campaigns_received: a profile's campaign history in Braze's export shape (spec §3b.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.selectors import campaigns_received, campaigns_received_many
from analytics.services import custom_event_record
from campaigns.models import ConversionEvent

from .helpers import make_campaign, make_profile, record, send

pytestmark = pytest.mark.django_db

T = datetime(2026, 3, 4, 10, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def history():
    ann, bob = make_profile("ann"), make_profile("bob")
    news = make_campaign("News", variations=[("email", "Long"), ("email", "Short")],
                         conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                                       {"custom_event_name": "buy"})])
    multi = make_campaign("Multi", variations=[("email", "Mail"), ("apple_push", "Push")])
    quiet = make_campaign("Quiet", variations=[("email", "Only")])
    long, short = news.variations.all()
    mail, push = multi.variations.all()
    (only,) = quiet.variations.all()

    d = send(short, ann, sent_at=T)
    record(d, "open", occurred_at=T + timedelta(minutes=1))
    record(d, "click", occurred_at=T + timedelta(minutes=2))
    custom_event_record(profile_id=ann.pk, name="buy", time=T + timedelta(hours=1))
    record(send(mail, ann, sent_at=T + timedelta(days=1)), "open")  # then the push, later:
    record(send(push, ann, sent_at=T + timedelta(days=2)), "direct_open")
    record(send(only, ann, sent_at=T + timedelta(days=3)), "machine_open")
    # bob: same campaigns, other behaviour; must not leak into ann's entries.
    b = send(long, bob, sent_at=T + timedelta(days=4))
    record(b, "direct_open")  # nonsense on an email, and not an email open
    return {"ann": ann, "bob": bob, "news": news, "multi": multi, "quiet": quiet,
            "short": short, "push": push, "long": long}


def _engaged(opened_email=False, clicked_email=False, opened_push=False):
    return {"opened_email": opened_email, "opened_push": opened_push,
            "clicked_email": clicked_email, "clicked_triggered_in_app_message": False}


def test_shape_and_values(history):
    h = history
    entries = campaigns_received(profile_id=h["ann"].pk)
    # One entry per variation received, newest first.
    assert [(e["name"], e["variation_name"]) for e in entries] == [
        ("Quiet", "Only"), ("Multi", "Push"), ("Multi", "Mail"), ("News", "Short")]
    quiet, push, mail, news = entries
    assert news == {
        "name": "News", "api_campaign_id": str(h["news"].api_id),
        "last_received": "2026-03-04T10:00:00.123Z",
        "engaged": _engaged(opened_email=True, clicked_email=True),
        "converted": True, "multiple_converted": {"Primary Conversion Event - A": True},
        "variation_name": "Short", "variation_api_id": str(h["short"].api_id),
        "in_control": False,
    }
    # A multichannel campaign has one entry per variation, each with its own engagement.
    assert push["variation_api_id"] == str(h["push"].api_id)
    assert push["last_received"] == "2026-03-06T10:00:00.123Z"
    assert push["engaged"] == _engaged(opened_push=True)
    assert mail["last_received"] == "2026-03-05T10:00:00.123Z"
    assert mail["engaged"] == _engaged(opened_email=True)
    assert push["converted"] is False and push["multiple_converted"] == {}
    # A privacy proxy's machine open is not the user engaging.
    assert quiet["engaged"] == _engaged()


def test_multiple_converted_is_keyed_by_braze_labels_per_variation():
    ann = make_profile("ann")
    campaign = make_campaign("Two goals", variations=[("email", "Mail"), ("sms", "Text")],
                             conversions=[
                                 (ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                                  {"custom_event_name": "signup"}),
                                 (ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                                  {"custom_event_name": "upgrade"})])
    mail, text = campaign.variations.all()
    send(mail, ann, sent_at=T)
    send(text, ann, sent_at=T + timedelta(minutes=1))
    # Each channel is its own opportunity (spec §1.8): both variations convert, on B only.
    custom_event_record(profile_id=ann.pk, name="upgrade", time=T + timedelta(minutes=5))
    text_entry, mail_entry = campaigns_received(profile_id=ann.pk)
    for entry in (text_entry, mail_entry):
        assert entry["multiple_converted"] == {"Primary Conversion Event - A": False,
                                               "Conversion Event - B": True}
        assert entry["converted"] is False  # `converted` is the primary event's
    custom_event_record(profile_id=ann.pk, name="signup", time=T + timedelta(minutes=6))
    assert [e["converted"] for e in campaigns_received(profile_id=ann.pk)] == [True, True]


def test_profiles_do_not_leak_into_each_other(history):
    h = history
    many = campaigns_received_many(profile_ids=[h["ann"].pk, h["bob"].pk])
    (bob,) = many[h["bob"].pk]
    assert (bob["name"], bob["variation_name"], bob["converted"]) == ("News", "Long", False)
    assert bob["engaged"] == _engaged()
    assert many[h["ann"].pk] == campaigns_received(profile_id=h["ann"].pk)
    assert campaigns_received(profile_id=make_profile("new").pk) == []


def test_query_count_does_not_grow_with_history(history, django_assert_num_queries):
    h = history
    with django_assert_num_queries(4):
        assert len(campaigns_received(profile_id=h["ann"].pk)) == 4
    for i in range(5):
        campaign = make_campaign(f"Extra {i}", variations=[("email", "A"), ("sms", "B")])
        for variation in campaign.variations.all():
            record(send(variation, h["ann"], sent_at=T + timedelta(days=5 + i)), "click")
    with django_assert_num_queries(4):
        assert len(campaigns_received_many(profile_ids=[h["ann"].pk, h["bob"].pk])[
            h["ann"].pk]) == 14
