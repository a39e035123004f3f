"""Delivery rows: one per (dispatch, profile, channel), held by the database itself, and a
variation's first rows tell campaigns it has been sent."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import MessageVariation
from campaigns.selectors import variation_ids_with_sends
from messaging.models import Delivery, Dispatch, Profile

pytestmark = pytest.mark.django_db

EMAIL = {"app_id": "a", "from": "orders@acme.test", "subject": "Hi", "body": "<p>Hi</p>"}
backfill = importlib.import_module(
    "messaging.migrations.0002_variation_first_sent_at_from_deliveries"
)


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_the_database_refuses_a_second_row_for_one_recipient_and_channel():
    dispatch = Dispatch.objects.create(messages={"email": EMAIL})
    profile = Profile.objects.create(external_id="a")
    Delivery.objects.create(dispatch=dispatch, profile=profile, channel="email")
    # Not app code: the unique constraint itself, on SQLite as on PostgreSQL.
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(dispatch=dispatch, profile=profile, channel="email")
    # Another channel, or another dispatch, is another row.
    Delivery.objects.create(dispatch=dispatch, profile=profile, channel="sms")
    Delivery.objects.create(
        dispatch=Dispatch.objects.create(messages={"email": EMAIL}), profile=profile,
        channel="email",
    )
    assert Delivery.objects.count() == 3


def test_a_variations_first_rows_mark_it_sent_and_the_campaign_too(
    send, make_profile, campaign, variation
):
    make_profile(external_id="a")
    send(
        {
            "campaign_id": campaign.campaign_id,
            "external_user_ids": ["a"],
            "messages": {"email": {**EMAIL, "message_variation_id": variation("email")}},
        }
    )
    email = campaign.variations.get(channel="email")
    assert email.first_sent_at is not None
    assert email.first_sent_at <= Delivery.objects.get().created_at + timedelta(seconds=1)
    # Only the variation that was sent.
    assert not campaign.variations.exclude(pk=email.pk).filter(first_sent_at__isnull=False)
    assert variation_ids_with_sends(campaign=campaign) == {email.api_id}
    campaign.refresh_from_db()
    assert campaign.first_sent_at <= email.first_sent_at <= campaign.last_sent_at

    # A later send keeps the first date.
    first = email.first_sent_at
    send(
        {
            "campaign_id": campaign.campaign_id,
            "external_user_ids": ["a"],
            "messages": {"email": {**EMAIL, "message_variation_id": variation("email")}},
        }
    )
    email.refresh_from_db()
    assert email.first_sent_at == first and len(mail.outbox) == 2


def test_a_send_that_creates_no_row_leaves_the_variation_removable(send, campaign, variation):
    send(
        {
            "campaign_id": campaign.campaign_id,
            "external_user_ids": ["nobody"],
            "messages": {"email": {**EMAIL, "message_variation_id": variation("email")}},
        }
    )
    assert not Delivery.objects.exists()
    assert variation_ids_with_sends(campaign=campaign) == set()
    campaign.refresh_from_db()
    assert campaign.first_sent_at is not None  # the dispatch did start delivering


def test_the_migration_dates_variations_by_their_oldest_delivery(campaign):
    email, sms, webhook = (campaign.variations.get(channel=c) for c in ("email", "sms", "webhook"))
    dispatch = Dispatch.objects.create(campaign=campaign)
    old, older = timezone.now() - timedelta(days=2), timezone.now() - timedelta(days=9)
    for n, (variation, created) in enumerate(((email, old), (email, older), (sms, old))):
        row = Delivery.objects.create(
            dispatch=dispatch,
            profile=Profile.objects.create(external_id=f"p{n}"),
            channel=variation.channel,
            variation=variation,
        )
        Delivery.objects.filter(pk=row.pk).update(created_at=created)
    kept = timezone.now() - timedelta(days=30)
    MessageVariation.objects.filter(pk=sms.pk).update(first_sent_at=kept)

    backfill.fill(apps, None)

    dates = dict(campaign.variations.values_list("channel", "first_sent_at"))
    assert dates["email"] == older
    assert dates["sms"] == kept  # already set: left alone
    assert dates["webhook"] is None  # never sent
