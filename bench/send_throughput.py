"""The accept path: POST /messages/send against what a send cannot do without, side by side.

Starts Herald under gunicorn on PostgreSQL (a bench database it creates and migrates),
with Redis as the Celery broker and no worker running, so only the request is timed:
key check, rate limit, validation, Liquid compilation, the dispatch's write, the publish.
The server's URL conf (bench/_accept_urls.py) adds three baselines under the same
server, settings and middleware:

- A, bare: checks the key and parses the same JSON, answers 201;
- B, durable: A plus the least a send needs before its 201: one committed jsonb row
  holding the body and one Redis push;
- C, Herald's POST /messages/send (50 recipients, email + webhook, Liquid);
- and, for reads, the bare key check plus one indexed SELECT of the campaigns against
  GET /campaigns/list.

Load: wrk (`apt-get install wrk`), `--connections` keep-alive connections, `--seconds`
a measurement, in `--rounds` rounds, A B C (then select, list) in each, the order
reversed every other round so the machine's drift hits all alike. Prints requests/s,
p50 and p99, the load average, the ratios send/durable and send/bare (target ≥ 0.5
for send/durable) and list/select (target ≥ 0.5), with each round's.

    .venv/bin/python bench/send_throughput.py [--seconds 15] [--rounds 3] \
        [--connections 16] [--workers 2] [--server sync|gthread|granian]

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/herald_bench),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/13; flushed before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import _harness as harness

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
ENV = harness.server_env(root=ROOT, database_url=DATABASE_URL, redis_url=REDIS_URL)


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


WORKLOADS = {
    # label: (method, path, sends the body)
    "A bare: key check + JSON parse": ("POST", "/bench/accept/bare", True),
    "B durable: A + 1 jsonb row + 1 Redis push": ("POST", "/bench/accept/durable", True),
    "C POST /messages/send (50 recipients)": ("POST", "/messages/send", True),
    "bare key check + 1 indexed SELECT": ("GET", "/bench/accept/select", False),
    "GET /campaigns/list": ("GET", "/campaigns/list", False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=harness.SERVERS, default="sync",
                        help=f"gthread and granian run {harness.THREADS} threads a worker")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        parser.error("wrk is needed: apt-get install wrk")

    runs: dict[str, list[harness.WrkRun]] = {label: [] for label in WORKLOADS}
    loads: list[str] = []
    with harness.redis_flushed(REDIS_URL), tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        harness.database_recreate(root=ROOT, env=ENV)
        key, body = _seed()
        with harness.pg_connect(DATABASE_URL) as connection:
            connection.execute(
                "CREATE TABLE bench_accept (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
            )
        body_file = work / "body.json"
        body_file.write_text(json.dumps(body))
        env = harness.with_bench_modules(
            {**ENV, "DJANGO_SETTINGS_MODULE": "_accept_settings",
             "BENCH_ACCEPT_REDIS_URL": REDIS_URL}
        )  # fmt: skip
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def measure(label: str, seconds: float) -> harness.WrkRun:
            method, path, with_body = WORKLOADS[label]
            return harness.wrk(
                base, path, script=work / "script.lua", connections=args.connections,
                seconds=seconds, method=method, body_file=body_file if with_body else None,
                headers=headers,
            )  # fmt: skip

        with harness.gunicorn_running(root=ROOT, env=env, workers=args.workers,
                                      server_kind=args.server) as base:
            for label in WORKLOADS:  # warm-up: imports, connections, caches
                measure(label, 2)
            for number in range(args.rounds):
                order = list(WORKLOADS) if number % 2 == 0 else list(reversed(WORKLOADS))
                for label in order:
                    run = measure(label, args.seconds)
                    runs[label].append(run)
                    print(f"  round {number + 1} {label:<44} {run.rate:8.1f} req/s "
                          f"({harness.load_average()})", flush=True)  # fmt: skip
                loads.append(harness.load_average())

    print(f"\nwrk, {args.connections} connections, {args.seconds:g} s a measurement, "
          f"{args.rounds} rounds; {args.server}, {args.workers} workers; PostgreSQL + Redis "
          "(no Celery worker)\n")  # fmt: skip
    print(f"{'workload':<46} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for label, measured in runs.items():
        requests = sum(r.requests for r in measured)
        seconds = sum(r.seconds for r in measured)
        print(
            f"{label:<46} {requests / seconds:8.1f} "
            f"{statistics.median(r.p50_ms for r in measured):8.2f} "
            f"{statistics.median(r.p99_ms for r in measured):8.2f} "
            f"{sum(r.bad for r in measured):>8}"
        )
    print("load averages after each round: " + " | ".join(loads))

    def ratio(top: str, bottom: str) -> str:
        per_round = [a.rate / b.rate for a, b in zip(runs[top], runs[bottom], strict=True)]
        return (f"median {statistics.median(per_round):.3f} (rounds "
                + ", ".join(f"{value:.3f}" for value in per_round) + ")")  # fmt: skip

    labels = list(WORKLOADS)
    print(f"\nsend / durable (target >= 0.5): {ratio(labels[2], labels[1])}")
    print(f"send / bare:                    {ratio(labels[2], labels[0])}")
    print(f"durable / bare:                 {ratio(labels[1], labels[0])}")
    print(f"list / bare + SELECT (target >= 0.5): {ratio(labels[4], labels[3])}")


if __name__ == "__main__":
    main()
