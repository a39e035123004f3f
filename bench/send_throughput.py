"""Throughput of POST /messages/send against a trivial authenticated JSON view, side by side.

Starts Herald under gunicorn on PostgreSQL (a bench database it creates and migrates),
with Redis as the Celery broker and no worker running, so only the request path is
timed: validate, compile Liquid, write the dispatch, publish the task on commit.
Then it drives both endpoints with the same bounded pool of concurrent httpx requests
to 127.0.0.1 and prints requests/s, p50 and p99 for each, and the ratio (target ≥ 0.5).

The baseline is GET /campaigns/list: an existing endpoint behind the same key check,
permission and rate limit, answering a one-row query as JSON — as trivial as an
authenticated view gets while exercising the same stack.

    .venv/bin/python bench/send_throughput.py \
        [--requests 600] [--concurrency 8] [--workers 2] [--rounds 6]

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/herald_bench),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/13; flushed before and after).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import _harness as harness

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
ENV = harness.server_env(root=ROOT, database_url=DATABASE_URL, redis_url=REDIS_URL)
# Upper bound of one measurement: at the defaults a round takes seconds; this only stops a
# server that has become pathologically slow from holding the run (and the machine).
MEASUREMENT_SECONDS = 60


def _seed() -> tuple[str, dict]:
    """A campaign with email + webhook variations, 50 profiles and a key. Returns (key, body)."""
    harness.django_setup(root=ROOT, env=ENV)
    from campaigns.models import Campaign, MessageVariation  # needs django_setup()
    from messaging.models import ApiKey, Permission, Profile  # needs django_setup()

    campaign = Campaign.objects.create(name="Bench", status=Campaign.Status.ACTIVE)
    email = MessageVariation.objects.create(campaign=campaign, channel="email", name="Email")
    hook = MessageVariation.objects.create(campaign=campaign, channel="webhook", name="Hook")
    Profile.objects.bulk_create(
        Profile(external_id=f"bench-{i}", email=f"bench{i}@example.test", first_name=f"User{i}")
        for i in range(50)
    )
    key, prefix, digest = ApiKey.generate()
    ApiKey.objects.create(
        name="bench", prefix=prefix, digest=digest, permissions=list(Permission.values)
    )
    body = {
        "campaign_id": campaign.campaign_id,
        "external_user_ids": [f"bench-{i}" for i in range(50)],
        "messages": {
            "email": {
                "app_id": "bench",
                "message_variation_id": email.message_variation_id,
                "from": "Bench <bench@example.test>",
                "subject": "Hi {{${first_name}}}",
                "body": "<p>Hello {{${first_name} | default: 'there'}}, order "
                "{{custom_attribute.${last order} | default: 'n/a'}}</p>",
            },
            "webhook": {
                "message_variation_id": hook.message_variation_id,
                "request_method": "POST",
                "url": "https://hooks.example.test/{{${user_id}}}",
                "request_headers": {"Content-Type": "application/json"},
                "body": '{"user": "{{${user_id}}}", "name": "{{${first_name} | json_escape}}"}',
            },
        },
    }
    return key, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()

    with harness.redis_flushed(REDIS_URL):
        harness.database_recreate(root=ROOT, env=ENV)
        key, body = _seed()
        with harness.gunicorn_running(root=ROOT, env=ENV, workers=args.workers) as base:
            workloads = {
                "GET /campaigns/list (baseline)": harness.Workload("GET", "/campaigns/list"),
                "POST /messages/send (50 recipients, email + webhook)": harness.Workload(
                    "POST", "/messages/send", lambda: body
                ),
            }
            results = harness.measure_interleaved(
                base,
                workloads,
                key=key,
                requests=args.requests,
                rounds=args.rounds,
                concurrency=args.concurrency,
                seconds=MEASUREMENT_SECONDS,
                warmup=30,
            )
    print(
        f"gunicorn workers={args.workers}, concurrency={args.concurrency}, "
        f"requests={args.requests} per endpoint in {args.rounds} interleaved rounds, "
        "PostgreSQL + Redis broker (no worker)\n"
    )
    harness.print_results(
        results,
        heading="endpoint",
        label_width=56,
        columns=[harness.Column("req/s", 8, ".1f", lambda _, result: result.rate)],
    )
    baseline, send = (result.rate for result in results.values())
    ratio = send / baseline
    print(
        f"\nratio send/baseline = {ratio:.2f} "
        f"(target >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
