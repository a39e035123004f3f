"""Concurrent workers recording overlapping batches on PostgreSQL still count exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from analytics.models import CampaignDayRollup, DailyRollup
from analytics.services import engagement_record_many

from .helpers import make_campaign, make_profile

pytestmark = pytest.mark.django_db(transaction=True)

DAY = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def test_parallel_overlapping_batches_count_once():
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency is a PostgreSQL matter (SQLite locks the file)")
    campaign = make_campaign()
    variation = campaign.variations.get()
    profiles = [make_profile(f"u{i}").pk for i in range(60)]

    def events(worker: int) -> list[dict]:
        # Every worker repeats the same sends and opens (a retried batch) and adds one
        # open of its own per profile.
        common = {"channel": "email", "campaign_id": campaign.pk, "variation_id": variation.pk}
        rows = []
        for i, profile_id in enumerate(profiles):
            rows.append({**common, "kind": "sent", "dedupe_key": f"m{i}:sent",
                         "profile_id": profile_id, "occurred_at": DAY})
            rows.append({**common, "kind": "open", "dedupe_key": f"m{i}:open",
                         "profile_id": profile_id, "occurred_at": DAY + timedelta(hours=1)})
            rows.append({**common, "kind": "open", "dedupe_key": f"m{i}:open:w{worker}",
                         "profile_id": profile_id, "occurred_at": DAY + timedelta(hours=2)})
        return rows[::-1] if worker % 2 else rows  # opposite orders on purpose

    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            engagement_record_many(events=events(worker))
        except BaseException as exc:  # noqa: BLE001 — surfaced by the assert below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rollup = DailyRollup.objects.get(variation=variation)
    assert (rollup.sent, rollup.unique_recipients, rollup.first_recipients) == (60, 60, 60)
    assert rollup.opens == 60 + 60 * 4
    assert (rollup.unique_opens, rollup.first_opens) == (60, 60)
    whole = CampaignDayRollup.objects.get(campaign=campaign, send_id="")
    assert (whole.unique_recipients, whole.first_recipients) == (60, 60)
