"""Benchmark: record N engagement events, then time the results page and /campaigns/data_series.

Usage (PostgreSQL, a database of its own; it is created and migrated if missing):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench \\
        .venv/bin/python bench/results_render.py --events 1000000

Events go through `analytics.services.engagement_record_many`, the same function every
single event goes through, in batches. Then, in the same process and interleaved, it
times the results page, `/campaigns/data_series` and a bare dashboard page (the empty
segment list: login, one query, the base layout) and prints the medians and ratios.
Targets: results page and data series at most 3× the bare page.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dj_database_url
import django
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in the URL when it does not exist yet."""
    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        return
    with psycopg.connect(host=config["HOST"], port=config["PORT"] or 5432,
                         user=config["USER"], password=config["PASSWORD"] or None,
                         dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              [config["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{config["NAME"]}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--variations", type=int, default=4)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page")
    parser.add_argument("--skip-load", action="store_true",
                        help="time the pages on the data already loaded by an earlier run")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("NOTE: DATABASE_URL is not PostgreSQL; figures will not be representative.")
    else:
        _ensure_database(url)

    django.setup()
    # NOTE: the imports below need the app registry that django.setup() fills.
    from django.conf import settings  # after django.setup()
    from django.core.management import call_command  # after django.setup()
    from django.db import connection  # after django.setup()

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model  # after django.setup()
    from django.test import Client  # after django.setup()

    from analytics.models import DailyRollup  # after django.setup()
    from analytics.services import (  # after django.setup()
        custom_event_record,
        engagement_record_many,
    )
    from campaigns.models import Campaign, ConversionEvent, MessageVariation  # after setup()
    from messaging.models import ApiKey, Profile  # after django.setup()

    campaign = Campaign.objects.filter(name="Bench campaign").first()
    if campaign is None or not args.skip_load:
        Campaign.objects.filter(name="Bench campaign").delete()
        campaign = Campaign.objects.create(name="Bench campaign", status=Campaign.Status.ACTIVE)
        for position in range(args.variations):
            MessageVariation.objects.create(campaign=campaign, channel="email",
                                            name=f"Variant {position + 1}", position=position)
        ConversionEvent.objects.create(campaign=campaign, position=0,
                                       kind=ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                                       custom_event_name="checkout", window=timedelta(days=3))
        _load(args, campaign, Profile, MessageVariation, engagement_record_many,
              custom_event_record)

    if connection.vendor == "postgresql":
        # Every batch rewrote the campaign's rollup rows; autovacuum reclaims the dead
        # versions in the background in production. Do it now so timings do not depend
        # on when it last ran.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {DailyRollup._meta.db_table}")
    rollups = DailyRollup.objects.filter(campaign=campaign).count()
    print(f"rollup rows for the campaign: {rollups}")

    user, _ = get_user_model().objects.get_or_create(username="bench")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    key, prefix, digest = ApiKey.generate()
    ApiKey.objects.create(name="bench", prefix=prefix, digest=digest,
                          permissions=["campaigns.data_series"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    pages = {
        "bare page (/audience/segments/)": lambda: client.get("/audience/segments/"),
        "results page": lambda: client.get(f"/messaging/campaigns/{campaign.api_id}/results/"),
        "/campaigns/data_series (length=30)": lambda: client.get(
            "/campaigns/data_series",
            {"campaign_id": str(campaign.api_id), "length": 30}, **auth),
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    for name, fetch in pages.items():  # warm up: templates, connections, caches
        response = fetch()
        assert response.status_code == 200, (name, response.status_code, response.content[:300])
    for _ in range(args.runs):  # interleaved, so load on the machine hits all three alike
        for name, fetch in pages.items():
            started = time.perf_counter()
            response = fetch()
            timings[name].append(time.perf_counter() - started)
            assert response.status_code == 200
    bare = statistics.median(timings["bare page (/audience/segments/)"])
    print(f"\n{'page':40} {'median ms':>10} {'ratio':>7}")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"{name:40} {median * 1000:10.1f} {median / bare:6.2f}×")
    print(f"\ndatabase: {connection.vendor} {connection.settings_dict['NAME']}")


def _load(args, campaign, Profile, MessageVariation, engagement_record_many,
          custom_event_record) -> None:  # type: ignore[no-untyped-def]
    """Messages of ~5 events each (sent, delivered, opens, clicks), over `--days` days."""
    rng = random.Random(42)
    variations = list(MessageVariation.objects.filter(campaign=campaign).values_list(
        "pk", flat=True))
    messages = max(1, args.events // 5)
    profiles_needed = max(1, messages // 2)  # each profile gets two sends (two send_ids)
    print(f"creating {profiles_needed:,} profiles …", flush=True)
    run = f"{int(time.time())}"
    profile_ids: list[int] = []
    for start in range(0, profiles_needed, 10_000):
        created = Profile.objects.bulk_create(
            Profile(external_id=f"bench-{run}-{i}", email=f"b{i}@bench.test")
            for i in range(start, min(start + 10_000, profiles_needed)))
        profile_ids.extend(p.pk for p in created)

    end = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    first_day = end - timedelta(days=args.days - 1)
    recorded = 0
    generated = 0
    batch: list[dict] = []
    spent = 0.0
    started_all = time.perf_counter()

    flushes = 0

    def flush() -> None:
        nonlocal recorded, spent, batch, flushes
        started = time.perf_counter()
        recorded += len(engagement_record_many(events=batch))
        spent += time.perf_counter() - started
        batch = []
        flushes += 1
        if flushes % 50 == 0:
            print(f"  {recorded:,} events, {recorded / spent:,.0f} events/s recording, "
                  f"{time.perf_counter() - started_all:.0f}s", flush=True)

    message = 0
    while generated < args.events:
        profile_index = message // 2
        profile_id = profile_ids[profile_index % len(profile_ids)]
        variation_id = variations[profile_index % len(variations)]
        send_id = f"wave-{message % 2 + 1}"
        sent_at = first_day + timedelta(days=rng.randrange(args.days),
                                        seconds=rng.randrange(36_000))
        common = {"channel": "email", "campaign_id": campaign.pk, "variation_id": variation_id,
                  "send_id": send_id, "profile_id": profile_id}
        key = f"{run}:{message}"
        kinds = ["sent", "delivered"]
        opens = rng.choice((0, 0, 1, 1, 2, 3, 4))
        kinds += ["open"] * opens
        if opens and rng.random() < 0.4:
            kinds.append("click")
        if opens and rng.random() < 0.01:
            kinds.append("unsubscribe")
        for n, kind in enumerate(kinds):
            batch.append({**common, "kind": kind, "dedupe_key": f"{key}:{kind}:{n}",
                          "occurred_at": sent_at + timedelta(minutes=n * 7)})
        generated += len(kinds)
        message += 1
        if len(batch) >= args.batch:
            flush()
    if batch:
        flush()
    for index in range(0, min(len(profile_ids), 2_000)):
        custom_event_record(profile_id=profile_ids[index], name="checkout",
                            time=end - timedelta(hours=1))
    print(f"recorded {recorded:,} events in {spent:.1f}s through engagement_record_many: "
          f"{recorded / spent:,.0f} events/s (batches of {args.batch:,})")


if __name__ == "__main__":
    main()
