from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import Campaign, ConversionEvent, MessageVariation, Tag
from campaigns.selectors import variation_ids_with_sends
from campaigns.services import (
    ConversionSpec,
    MessageSpec,
    VariationHasSends,
    campaign_archive,
    campaign_create,
    campaign_duplicate,
    campaign_unarchive,
    campaign_update,
    variations_sent,
)

pytestmark = pytest.mark.django_db


def _specs(campaign):
    return [
        MessageSpec(channel=v.channel, name=v.name, variation_id=v.api_id)
        for v in campaign.variations.all()
    ]


def test_create_mints_distinct_ids_and_is_active_with_messages(marketer):
    campaign = campaign_create(
        name="Order shipped",
        tags=["orders", "Transactional"],
        messages=[
            MessageSpec("email", "Variant 1"),
            MessageSpec("email", "Variant 2"),
            MessageSpec("sms", "Variant 1"),
        ],
        conversions=[
            ConversionSpec(
                kind="Performs Custom Event",
                window=timedelta(hours=12),
                custom_event_name="reviewed",
            )
        ],
        by=marketer,
    )
    ids = [v.api_id for v in campaign.variations.all()]
    assert len(set(ids + [campaign.api_id])) == 4
    assert campaign.status == Campaign.Status.ACTIVE
    assert campaign.created_by == marketer and campaign.updated_by == marketer
    assert set(campaign.tags.values_list("name", flat=True)) == {"orders", "Transactional"}
    event = campaign.conversion_events.get()
    assert (event.position, event.custom_event_name, event.window) == (
        0,
        "reviewed",
        timedelta(hours=12),
    )


def test_create_without_messages_is_a_draft(marketer):
    assert campaign_create(name="Later", by=marketer).status == Campaign.Status.DRAFT


def test_create_reuses_existing_tag_case_insensitively(marketer):
    Tag.objects.create(name="Orders")
    campaign_create(name="A", tags=["orders"], by=marketer)
    assert list(Tag.objects.values_list("name", flat=True)) == ["Orders"]


def test_create_with_bad_conversion_leaves_nothing(marketer):
    with pytest.raises(ValidationError):
        campaign_create(
            name="Broken",
            messages=[MessageSpec("email", "Variant 1")],
            conversions=[ConversionSpec(kind="Performs Custom Event", window=timedelta(days=3))],
            by=marketer,
        )
    assert not Campaign.objects.exists()
    assert not MessageVariation.objects.exists()


def test_create_refuses_a_fifth_conversion_event_atomically(marketer):
    spec = ConversionSpec(kind="Starts Session", window=timedelta(days=3))
    with pytest.raises(ValidationError):
        campaign_create(name="Too many", conversions=[spec] * 5, by=marketer)
    assert not Campaign.objects.exists()


def test_update_keeps_ids_renames_swaps_and_adds(make_campaign, django_user_model):
    campaign = make_campaign(channels=("email", "email"))
    first, second = campaign.variations.all()
    editor = django_user_model.objects.create_user("editor")
    # Swap the two names: must not trip the unique (campaign, channel, name) constraint.
    campaign_update(
        campaign=campaign,
        name="Renamed",
        messages=[
            MessageSpec("email", second.name, first.api_id),
            MessageSpec("email", first.name, second.api_id),
            MessageSpec("webhook", "Variant 1"),
        ],
        by=editor,
    )
    campaign.refresh_from_db()
    by_id = {v.api_id: v for v in campaign.variations.all()}
    assert by_id[first.api_id].name == "Variant 2"
    assert by_id[second.api_id].name == "Variant 1"
    assert len(by_id) == 3
    assert campaign.name == "Renamed"
    assert campaign.updated_by == editor and campaign.created_by != editor


def test_update_removes_message_without_sends(make_campaign, marketer):
    campaign = make_campaign(channels=("email", "sms"))
    email = campaign.variations.get(channel="email")
    campaign_update(
        campaign=campaign,
        name=campaign.name,
        messages=[MessageSpec("email", email.name, email.api_id)],
        by=marketer,
    )
    assert list(campaign.variations.values_list("channel", flat=True)) == ["email"]


def test_update_refuses_to_remove_message_with_sends(make_campaign, make_delivery, marketer):
    campaign = make_campaign(channels=("email", "sms"))
    sms = campaign.variations.get(channel="sms")
    make_delivery(sms)
    with pytest.raises(VariationHasSends):
        campaign_update(campaign=campaign, name="Changed", messages=[], by=marketer)
    campaign.refresh_from_db()
    assert campaign.name == "Order shipped"
    assert campaign.variations.count() == 2


def test_update_refuses_variation_of_another_campaign(make_campaign, marketer):
    mine, other = make_campaign(), make_campaign(name="Other")
    foreign = other.variations.get()
    with pytest.raises(ValidationError):
        campaign_update(
            campaign=mine,
            name="x",
            messages=[MessageSpec("email", "Stolen", foreign.api_id)],
            by=marketer,
        )
    assert foreign.campaign_id == other.pk
    assert MessageVariation.objects.get(pk=foreign.pk).campaign == other


def test_update_refuses_channel_change_of_minted_variation(make_campaign, marketer):
    campaign = make_campaign()
    email = campaign.variations.get()
    with pytest.raises(ValidationError):
        campaign_update(
            campaign=campaign,
            name="x",
            messages=[MessageSpec("sms", "Variant 1", email.api_id)],
            by=marketer,
        )
    assert campaign.variations.get().channel == "email"


def test_update_keeps_conversion_rows_by_position(make_campaign, marketer):
    campaign = make_campaign(conversions=[("Starts Session", {}), ("Makes Any Purchase", {})])
    first_pk = campaign.conversion_events.get(position=0).pk
    campaign_update(
        campaign=campaign,
        name=campaign.name,
        messages=_specs(campaign),
        conversions=[
            ConversionSpec(
                kind="Makes Specific Purchase", window=timedelta(days=1), product_id="sku-1"
            )
        ],
        by=marketer,
    )
    events = list(campaign.conversion_events.all())
    assert [(e.pk, e.kind, e.product_id) for e in events] == [
        (first_pk, "Makes Specific Purchase", "sku-1")
    ]


def test_removing_all_messages_makes_it_a_draft_again(make_campaign, marketer):
    campaign = campaign_update(campaign=make_campaign(), name="x", messages=[], by=marketer)
    assert campaign.status == Campaign.Status.DRAFT


def test_archive_and_unarchive_record_who(make_campaign, django_user_model):
    campaign = make_campaign()
    admin = django_user_model.objects.create_user("ops")
    before = campaign.updated_at
    archived = campaign_archive(campaign=campaign, by=admin)
    assert archived.status == Campaign.Status.ARCHIVED and archived.updated_by == admin
    assert archived.updated_at > before
    # Editing an archived campaign keeps it archived.
    assert (
        campaign_update(campaign=archived, name="x", messages=_specs(archived), by=admin).status
        == "archived"
    )
    assert campaign_unarchive(campaign=archived, by=admin).status == Campaign.Status.ACTIVE


def test_duplicate_copies_setup_with_new_ids(make_campaign, marketer):
    original = make_campaign(
        channels=("email", "sms"),
        conversions=[("Performs Custom Event", {"custom_event_name": "x"})],
        tags=["t"],
    )
    copy = campaign_duplicate(campaign=original, by=marketer)
    assert copy.name == "Copy of Order shipped"
    assert copy.api_id != original.api_id
    assert [(v.channel, v.name) for v in copy.variations.all()] == [
        (v.channel, v.name) for v in original.variations.all()
    ]
    assert not set(copy.variations.values_list("api_id", flat=True)) & set(
        original.variations.values_list("api_id", flat=True)
    )
    assert copy.conversion_events.get().custom_event_name == "x"
    assert list(copy.tags.values_list("name", flat=True)) == ["t"]
    assert copy.status == Campaign.Status.ACTIVE
    assert ConversionEvent.objects.count() == 2


def test_window_display_reads_as_days_or_hours():
    assert ConversionEvent(window=timedelta(days=3)).window_display == "3 days"
    assert ConversionEvent(window=timedelta(hours=36)).window_display == "36 hours"
    assert ConversionEvent(window=timedelta(days=1)).window_display == "1 day"


def test_variations_sent_keeps_first_dates_and_moves_the_last(make_campaign):
    campaign = make_campaign(channels=("email", "sms"))
    other = make_campaign(name="Other", channels=("email",))
    email, sms = campaign.variations.get(channel="email"), campaign.variations.get(channel="sms")
    start = timezone.now() - timedelta(hours=1)
    variations_sent(campaign_id=campaign.pk, at=start)  # a dispatch starts: no variation yet
    campaign.refresh_from_db()
    assert campaign.first_sent_at == campaign.last_sent_at == start
    assert variation_ids_with_sends(campaign=campaign) == set()

    later = start + timedelta(minutes=5)
    # Another campaign's variation named by mistake is not touched.
    foreign = other.variations.get()
    variations_sent(campaign_id=campaign.pk, variation_ids=[email.pk, foreign.pk], at=later)
    variations_sent(campaign_id=campaign.pk, variation_ids=[email.pk], at=later + timedelta(1))
    campaign.refresh_from_db(), email.refresh_from_db(), sms.refresh_from_db()
    foreign.refresh_from_db()
    assert email.first_sent_at == later and sms.first_sent_at is None
    assert foreign.first_sent_at is None
    assert campaign.first_sent_at == start and campaign.last_sent_at == later + timedelta(1)
    assert variation_ids_with_sends(campaign=campaign) == {email.api_id}
