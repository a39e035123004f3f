"""Delivery rows are written by COPY on PostgreSQL, and by INSERT … ON CONFLICT when some
exist already (a concurrent run of the same shard made them): the same rows either way."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign, MessageVariation
from messaging.delivery.plans import channel_plans
from messaging.delivery.rows import rows_create, rows_render
from messaging.models import Delivery, Dispatch, Profile

pytestmark = pytest.mark.django_db

# Text that COPY's text format must escape (tab, newline, backslash) and JSON with them.
BODY = "Tab\there\nline \\ backslash {{${first_name}}} é"


@pytest.fixture
def plan_and_profiles():
    campaign = Campaign.objects.create(name="Copy", status=Campaign.Status.ACTIVE)
    variation = MessageVariation.objects.create(campaign=campaign, channel="webhook", name="v")
    dispatch = Dispatch.objects.create(
        campaign=campaign,
        audience={"broadcast": True},
        messages={"webhook": {"url": "https://hooks.test/x", "body": BODY,
                              "message_variation_id": variation.message_variation_id}},
    )
    profiles = [
        Profile.objects.create(external_id=f"r{i}", first_name=f"N\\{i}\t") for i in range(3)
    ]
    return dispatch, channel_plans(dispatch)[0], profiles


def test_rows_are_stored_as_rendered_with_their_ids(plan_and_profiles):
    dispatch, plan, profiles = plan_and_profiles
    rows = rows_render(dispatch=dispatch, plan=plan, profiles=profiles)
    created = rows_create(dispatch=dispatch, plan=plan, rows=rows, resolved=set())
    assert created.rows == 3 and len(created.fresh) == 3
    stored = {row.pk: row for row in Delivery.objects.filter(dispatch=dispatch)}
    assert sorted(stored) == sorted(row.pk for row in created.fresh)
    for row in created.fresh:
        again = stored[row.pk]
        assert again.message_id == row.message_id
        assert again.rendered == row.rendered
        assert again.rendered["body"].startswith("Tab\there\nline \\ backslash N\\")
        assert (again.status, again.attempts) == (Delivery.Status.SENDING, 1)
        assert again.attempt_started_at == row.attempt_started_at
        assert again.variation_id == plan.variation.pk
        assert again.campaign_id == dispatch.campaign_id
    dispatch.refresh_from_db()
    assert dispatch.recipients_resolved == 3


def test_rows_made_meanwhile_by_another_run_are_kept(plan_and_profiles):
    dispatch, plan, profiles = plan_and_profiles
    theirs = rows_create(
        dispatch=dispatch, plan=plan, resolved=set(),
        rows=rows_render(dispatch=dispatch, plan=plan, profiles=profiles[:1]),
    )
    # This run rendered all three before the other run's row existed: on PostgreSQL its
    # COPY meets the existing row, is rolled back, and the chunk goes in by INSERT.
    ours = rows_create(
        dispatch=dispatch, plan=plan, resolved=set(),
        rows=rows_render(dispatch=dispatch, plan=plan, profiles=profiles),
    )
    assert ours.rows == 2
    assert sorted(row.profile_id for row in ours.fresh) == [p.pk for p in profiles[1:]]
    stored = Delivery.objects.filter(dispatch=dispatch)
    assert stored.count() == 3
    assert stored.get(profile=profiles[0]).message_id == theirs.fresh[0].message_id
    assert all(row.pk for row in ours.fresh)
    dispatch.refresh_from_db()
    assert dispatch.recipients_resolved == 3


def test_a_copy_that_conflicts_leaves_the_transaction_usable(plan_and_profiles):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    from django.db import transaction

    from config import sql

    dispatch, plan, profiles = plan_and_profiles
    rows = rows_render(dispatch=dispatch, plan=plan, profiles=profiles[:1])
    rows_create(dispatch=dispatch, plan=plan, rows=rows, resolved=set())
    again = rows_render(dispatch=dispatch, plan=plan, profiles=profiles[:1])
    for row in again:
        row.created_at = row.updated_at = timezone.now()
    with pytest.raises(sql.Conflict):
        with transaction.atomic():
            sql.copy_insert(Delivery, again)
    assert Delivery.objects.filter(dispatch=dispatch).count() == 1
    assert again[0].pk is None
