"""Throughput of POST /users/track against a trivial authenticated JSON view, side by side.

Starts Herald under gunicorn (DEBUG=0, a generated SECRET_KEY, ALLOWED_HOSTS=127.0.0.1) on
PostgreSQL, in a bench database it drops, creates and migrates, seeded with 10,000
profiles and an API key. Redis (db 12 by default, flushed before and after) holds the
rate-limit counters, as in production; no Celery worker runs.

Three workloads go through the same bounded pool of concurrent httpx requests to
127.0.0.1, in interleaved rounds so background load on the machine hits them alike:

- baseline: GET /campaigns/list — an existing endpoint behind the same key check,
  permission and rate limit, answering a small query as JSON (Herald has no dedicated
  no-op bench endpoint; this is the cheapest authenticated JSON view it has);
- /users/track with 75 attributes objects for existing profiles (standard fields, a
  custom string, an increment and an array add, as an app syncing its users does);
- /users/track mixed: 25 attributes + 25 events + 25 purchases for 25 users of which
  about half are new.

Every request body is different (other users each time). Prints requests/s, objects/s,
p50 and p99 per workload and the ratio of each /users/track workload to the baseline.
Each measurement is bounded: it stops after --requests or --seconds, whichever first.

    .venv/bin/python bench/users_track.py [--requests 300] [--seconds 20] [--rounds 3] \
        [--concurrency 8] [--workers 2]

Environment: BENCH_TRACK_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/herald_bench_track), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/12), BENCH_ROOT (run the server from another checkout of Herald,
e.g. an older copy, to compare before/after with the same script).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import secrets
from pathlib import Path

import _harness as harness

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
DATABASE_URL = os.environ.get(
    "BENCH_TRACK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench_track"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
ENV = harness.server_env(root=ROOT, database_url=DATABASE_URL, redis_url=REDIS_URL)
SEEDED = 10_000
BASELINE = "GET /campaigns/list (baseline)"


def _seed() -> str:
    """10,000 profiles and a key with every permission; returns the key."""
    harness.django_setup(root=ROOT, env=ENV)
    from messaging.models import Permission, Profile  # needs django_setup()
    from messaging.services.api_keys import api_key_create  # needs django_setup()

    Profile.objects.bulk_create(
        (
            Profile(
                external_id=f"seed-{i}",
                email=f"seed{i}@example.test",
                first_name=f"U{i}",
                custom_attributes={"visits": 1, "tags": ["a"]},
            )
            for i in range(SEEDED)
        ),
        batch_size=2000,
    )
    _, key = api_key_create(name="bench users/track", permissions=Permission.values)
    return key


def _attributes_body(rng: random.Random) -> dict:
    users = rng.sample(range(SEEDED), 75)
    return {
        "attributes": [
            {
                "external_id": f"seed-{u}",
                "first_name": f"N{u}",
                "plan": rng.choice("abc"),
                "visits": {"inc": 1},
                "tags": {"add": [rng.choice("xyz")]},
                "email_subscribe": "opted_in",
            }
            for u in users
        ]
    }


_new_users = itertools.count()


def _mixed_body(rng: random.Random) -> dict:
    users = [f"seed-{u}" for u in rng.sample(range(SEEDED), 13)]
    users += [f"new-{next(_new_users)}-{secrets.token_hex(3)}" for _ in range(12)]
    return {
        "attributes": [
            {"external_id": u, "last_name": "L", "score": rng.randint(0, 99)} for u in users
        ],
        "events": [
            {
                "external_id": u,
                "name": "viewed_item",
                "time": "2026-01-02T03:04:05Z",
                "properties": {"sku": f"s{rng.randint(0, 999)}"},
            }
            for u in users
        ],
        "purchases": [
            {
                "external_id": u,
                "product_id": "sku-1",
                "currency": "USD",
                "price": 9.99,
                "time": "2026-01-02T03:04:05Z",
            }
            for u in users
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=300, help="per workload, split over the rounds"
    )
    parser.add_argument(
        "--seconds", type=float, default=20, help="at most this long per measurement (≤ 60)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seconds = min(args.seconds, 60)

    rng = random.Random(7)
    workloads = {
        BASELINE: harness.Workload("GET", "/campaigns/list"),
        "POST /users/track 75 attributes (existing users)": harness.Workload(
            "POST", "/users/track", lambda: _attributes_body(rng)
        ),
        "POST /users/track 25+25+25 (half new users)": harness.Workload(
            "POST", "/users/track", lambda: _mixed_body(rng)
        ),
    }
    objects = dict(zip(workloads, (0, 75, 75), strict=True))  # per request, for obj/s
    with harness.redis_flushed(REDIS_URL):
        harness.database_recreate(root=ROOT, env=ENV)
        key = _seed()
        with harness.gunicorn_running(
            root=ROOT, env=ENV, workers=args.workers, worker_timeout=120
        ) as base:
            results = harness.measure_interleaved(
                base,
                workloads,
                key=key,
                requests=args.requests,
                rounds=args.rounds,
                concurrency=args.concurrency,
                seconds=seconds,
                warmup=8,
            )
    per_round = harness.requests_per_round(args.requests, args.rounds, args.concurrency)
    print(
        f"gunicorn workers={args.workers}, concurrency={args.concurrency}, "
        f"{args.rounds} interleaved rounds of ≤{per_round} requests or ≤{seconds:g} s "
        f"per workload, PostgreSQL, {SEEDED} seeded profiles, server from {ROOT}\n"
    )
    harness.print_results(
        results,
        heading="workload",
        label_width=52,
        columns=[
            harness.Column("reqs", 5, "d", lambda _, result: result.done),
            harness.Column("req/s", 7, ".1f", lambda _, result: result.rate),
            harness.Column("obj/s", 7, ".0f", lambda label, result: result.rate * objects[label]),
        ],
    )
    print()
    for label in list(workloads)[1:]:
        print(
            f"ratio {label.split(' (')[0].replace('POST ', '')} / baseline = "
            f"{results[label].rate / results[BASELINE].rate:.2f}"
        )


if __name__ == "__main__":
    main()
