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
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def _env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "CELERY_BROKER_URL")
    }
    env.update(
        {
            "DATABASE_URL": DATABASE_URL,
            "CELERY_BROKER_URL": REDIS_URL,  # tasks are queued, and no worker consumes them
            "REDIS_URL": REDIS_URL,  # cache (rate-limit counters), as in production
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    return env


def _create_database() -> None:
    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=_env(),
        check=True,
    )


def _seed() -> tuple[str, dict]:
    """A campaign with email + webhook variations, 50 profiles and a key. Returns (key, body)."""
    os.environ.update(_env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from campaigns.models import Campaign, MessageVariation
    from messaging.models import ApiKey, Permission, Profile

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _drive(
    url: str,
    method: str,
    key: str,
    body: dict | None,
    total: int,
    concurrency: int,
) -> tuple[float, list[float], dict[int, int]]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    headers = {"Authorization": f"Bearer {key}"}

    async def one(client: httpx.AsyncClient) -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            response = await client.request(method, url, json=body, headers=headers)
            latencies.append(time.perf_counter() - start)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return total / elapsed, latencies, statuses


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    _create_database()
    key, body = _seed()
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "--access-logfile",
            "-" if os.environ.get("BENCH_VERBOSE") else "/dev/null",
        ],
        cwd=ROOT,
        env=_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(100):
            try:
                httpx.get(base + "/campaigns/list", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        runs = {
            "GET /campaigns/list (baseline)": ("GET", "/campaigns/list", None),
            "POST /messages/send (50 recipients, email + webhook)": (
                "POST",
                "/messages/send",
                body,
            ),
        }
        # Interleaved rounds (baseline, send, send, baseline, …) so that load from other
        # processes on the machine hits both endpoints alike.
        for method, path, payload in runs.values():
            asyncio.run(_drive(base + path, method, key, payload, 30, args.concurrency))  # warm-up
        elapsed = {label: 0.0 for label in runs}
        latencies: dict[str, list[float]] = {label: [] for label in runs}
        statuses: dict[str, dict[int, int]] = {label: {} for label in runs}
        per_round = max(args.requests // args.rounds, args.concurrency)
        for round_number in range(args.rounds):
            order = list(runs) if round_number % 2 == 0 else list(reversed(runs))
            for label in order:
                method, path, payload = runs[label]
                rps, times, codes = asyncio.run(
                    _drive(base + path, method, key, payload, per_round, args.concurrency)
                )
                elapsed[label] += per_round / rps
                latencies[label].extend(times)
                for code, count in codes.items():
                    statuses[label][code] = statuses[label].get(code, 0) + count
        results = {
            label: (len(latencies[label]) / elapsed[label], latencies[label], statuses[label])
            for label in runs
        }
        print(
            f"gunicorn workers={args.workers}, concurrency={args.concurrency}, "
            f"requests={args.requests} per endpoint in {args.rounds} interleaved rounds, "
            "PostgreSQL + Redis broker (no worker)\n"
        )
        print(f"{'endpoint':<56} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        for label, (rps, latencies, statuses) in results.items():
            print(
                f"{label:<56} {rps:8.1f} {_quantile(latencies, 0.5) * 1000:8.1f} "
                f"{_quantile(latencies, 0.99) * 1000:8.1f}  {statuses}"
            )
        baseline, send = (results[label][0] for label in runs)
        ratio = send / baseline
        print(
            f"\nratio send/baseline = {ratio:.2f} "
            f"(target >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        redis.Redis.from_url(REDIS_URL).flushdb()


if __name__ == "__main__":
    main()
