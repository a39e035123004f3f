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
import asyncio
import itertools
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
DATABASE_URL = os.environ.get(
    "BENCH_TRACK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench_track"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SEEDED = 10_000
SECRET_KEY = secrets.token_urlsafe(50)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update({
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,  # cache: rate-limit counters, as in production
        "CELERY_BROKER_URL": REDIS_URL,  # nothing is consumed: no worker runs
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
    })
    return env


def _create_database() -> None:
    import psycopg

    name = urlsplit(DATABASE_URL).path.lstrip("/")
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=ROOT, env=_env(), check=True)


def _seed() -> str:
    """10,000 profiles and a key with every permission; returns the key."""
    os.environ.update(_env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from messaging.models import Permission, Profile
    from messaging.services.api_keys import api_key_create

    Profile.objects.bulk_create(
        (Profile(external_id=f"seed-{i}", email=f"seed{i}@example.test", first_name=f"U{i}",
                 custom_attributes={"visits": 1, "tags": ["a"]}) for i in range(SEEDED)),
        batch_size=2000,
    )
    _, key = api_key_create(name="bench users/track", permissions=Permission.values)
    return key


def _attributes_body(rng: random.Random) -> dict:
    users = rng.sample(range(SEEDED), 75)
    return {"attributes": [
        {"external_id": f"seed-{u}", "first_name": f"N{u}", "plan": rng.choice("abc"),
         "visits": {"inc": 1}, "tags": {"add": [rng.choice("xyz")]},
         "email_subscribe": "opted_in"} for u in users]}


_new_users = itertools.count()


def _mixed_body(rng: random.Random) -> dict:
    users = [f"seed-{u}" for u in rng.sample(range(SEEDED), 13)]
    users += [f"new-{next(_new_users)}-{secrets.token_hex(3)}" for _ in range(12)]
    return {
        "attributes": [{"external_id": u, "last_name": "L", "score": rng.randint(0, 99)}
                       for u in users],
        "events": [{"external_id": u, "name": "viewed_item", "time": "2026-01-02T03:04:05Z",
                    "properties": {"sku": f"s{rng.randint(0, 999)}"}} for u in users],
        "purchases": [{"external_id": u, "product_id": "sku-1", "currency": "USD",
                       "price": 9.99, "time": "2026-01-02T03:04:05Z"} for u in users],
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _drive(url: str, method: str, key: str, make_body: Callable[[], dict] | None,
                 total: int, seconds: float, concurrency: int
                 ) -> tuple[int, float, list[float], dict[int, int]]:
    """(requests done, elapsed, latencies, statuses) for at most `total` requests or
    `seconds`, whichever comes first."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = [total]
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.perf_counter() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        while remaining[0] > 0 and time.perf_counter() < deadline:
            remaining[0] -= 1
            body = make_body() if make_body else None
            start = time.perf_counter()
            response = await client.request(method, url, json=body, headers=headers)
            latencies.append(time.perf_counter() - start)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies), elapsed, latencies, statuses


def _quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300,
                        help="per workload, split over the rounds")
    parser.add_argument("--seconds", type=float, default=20,
                        help="at most this long per measurement (≤ 60)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seconds = min(args.seconds, 60)

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    _create_database()
    key = _seed()
    rng = random.Random(7)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), "--timeout", "120",
         "--access-logfile", "-" if os.environ.get("BENCH_VERBOSE") else "/dev/null"],
        cwd=ROOT, env=_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(150):
            try:
                httpx.get(base + "/campaigns/list", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        runs: dict[str, tuple[str, str, Callable[[], dict] | None, int]] = {
            "GET /campaigns/list (baseline)": ("GET", "/campaigns/list", None, 0),
            "POST /users/track 75 attributes (existing users)": (
                "POST", "/users/track", lambda: _attributes_body(rng), 75),
            "POST /users/track 25+25+25 (half new users)": (
                "POST", "/users/track", lambda: _mixed_body(rng), 75),
        }
        for method, path, make, _ in runs.values():  # warm-up: connections, imports
            asyncio.run(_drive(base + path, method, key, make, 8, seconds, args.concurrency))
        done = dict.fromkeys(runs, 0)
        elapsed = dict.fromkeys(runs, 0.0)
        latencies: dict[str, list[float]] = {label: [] for label in runs}
        statuses: dict[str, dict[int, int]] = {label: {} for label in runs}
        per_round = max(args.requests // args.rounds, args.concurrency)
        for round_number in range(args.rounds):
            order = list(runs) if round_number % 2 == 0 else list(reversed(runs))
            for label in order:
                method, path, make, _ = runs[label]
                count, spent, times, codes = asyncio.run(_drive(
                    base + path, method, key, make, per_round, seconds, args.concurrency))
                done[label] += count
                elapsed[label] += spent
                latencies[label].extend(times)
                for code, number in codes.items():
                    statuses[label][code] = statuses[label].get(code, 0) + number
        print(f"gunicorn workers={args.workers}, concurrency={args.concurrency}, "
              f"{args.rounds} interleaved rounds of ≤{per_round} requests or ≤{seconds:g} s "
              f"per workload, PostgreSQL, {SEEDED} seeded profiles, server from {ROOT}\n")
        print(f"{'workload':<52} {'reqs':>5} {'req/s':>7} {'obj/s':>7} {'p50 ms':>8} "
              f"{'p99 ms':>8}  statuses")
        rates = {}
        for label, (_, _, _, objects) in runs.items():
            rates[label] = done[label] / elapsed[label]
            print(f"{label:<52} {done[label]:5d} {rates[label]:7.1f} "
                  f"{rates[label] * objects:7.0f} "
                  f"{_quantile(latencies[label], 0.5) * 1000:8.1f} "
                  f"{_quantile(latencies[label], 0.99) * 1000:8.1f}  {statuses[label]}")
        baseline = rates["GET /campaigns/list (baseline)"]
        print()
        for label in list(runs)[1:]:
            print(f"ratio {label.split(' (')[0].replace('POST ', '')} / baseline = "
                  f"{rates[label] / baseline:.2f}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        redis.Redis.from_url(REDIS_URL).flushdb()


if __name__ == "__main__":
    main()
