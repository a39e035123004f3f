"""Shared harness of the HTTP benchmarks in bench/ (send_throughput.py, users_track.py).

Each benchmark compares an endpoint with a trivial authenticated view *in the same run*,
so the parts that must behave identically for every workload live here once: the server
environment, the fresh bench database, gunicorn start/stop, the bounded concurrent httpx
loop, the interleaved rounds and the results table. Every measurement is bounded (by a
request count and a number of seconds) and every run cleans up after itself (server
stopped, its Redis database flushed) even when it fails half-way.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import django
import httpx
import psycopg
import redis

# One key per bench process: the seeding code and the server it starts must agree on it,
# and a generated one keeps a production-looking secret out of the repository.
SECRET_KEY = secrets.token_urlsafe(50)
BASELINE_PATH = "/campaigns/list"  # cheapest authenticated JSON view: also the readiness probe


@dataclass(frozen=True)
class Workload:
    """One kind of request to time: `make_body` builds a fresh JSON body per request."""

    method: str
    path: str
    make_body: Callable[[], dict] | None = None


@dataclass
class Measurement:
    """Requests done, time spent, per-request latencies (s) and status counts."""

    done: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, other: Measurement) -> None:
        """Accumulate another round of the same workload."""
        self.done += other.done
        self.elapsed += other.elapsed
        self.latencies.extend(other.latencies)
        for code, count in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + count

    @property
    def rate(self) -> float:
        """Requests per second over the time actually spent (rounds summed, warm-up not)."""
        return self.done / self.elapsed if self.elapsed else float("nan")

    def quantile_ms(self, q: float) -> float:
        return quantile(self.latencies, q) * 1000


@dataclass(frozen=True)
class Column:
    """An extra column of the results table, between the label and p50."""

    title: str
    width: int
    spec: str  # format spec of the value, e.g. ".1f"
    value: Callable[[str, Measurement], float]


def server_env(*, root: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """Environment of the bench server: production settings on the loopback.

    The caller's REDIS_URL / CELERY_BROKER_URL are dropped so that a run never touches
    another Redis database than the bench one (it is flushed before and after).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,  # cache: rate-limit counters, as in production
            "CELERY_BROKER_URL": redis_url,  # tasks are queued; no worker consumes them
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": str(root),  # root may be another checkout (before/after comparisons)
        }
    )
    return env


def database_recreate(*, root: Path, env: dict[str, str]) -> None:
    """Drop, create and migrate env's DATABASE_URL, so every run starts from the same state."""
    database_url = env["DATABASE_URL"]
    name = urlsplit(database_url).path.lstrip("/")
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=root,
        env=env,
        check=True,
    )


def django_setup(*, root: Path, env: dict[str, str]) -> None:
    """Set Django up in this process with the server's settings, to seed through the ORM."""
    os.environ.update(env)
    sys.path.insert(0, str(root))
    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_flushed(redis_url: str) -> Iterator[None]:
    """Flush the bench Redis database before and after (rate-limit counters, queued tasks)."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield
    finally:
        client.flushdb()


@contextmanager
def gunicorn_running(
    *,
    root: Path,
    env: dict[str, str],
    workers: int,
    worker_timeout: int = 30,
    ready_within: float = 30,
) -> Iterator[str]:
    """Run Herald under gunicorn on a free loopback port; yield its base URL.

    Waits until the server answers (or fails clearly if it exits or stays silent), and
    always stops it: SIGTERM for a graceful stop, SIGKILL if that takes over 30 s.
    """
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--timeout",
            str(worker_timeout),
            "--access-logfile",
            "-" if os.environ.get("BENCH_VERBOSE") else "/dev/null",
        ],
        cwd=root,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {server.returncode}")
            try:
                httpx.get(base + BASELINE_PATH, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"gunicorn did not answer within {ready_within:g} s"
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def _drive(
    url: str, workload: Workload, key: str, total: int, seconds: float, concurrency: int
) -> Measurement:
    result = Measurement()
    remaining = total
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.perf_counter() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            body = workload.make_body() if workload.make_body else None
            start = time.perf_counter()
            response = await client.request(workload.method, url, json=body, headers=headers)
            result.latencies.append(time.perf_counter() - start)
            code = response.status_code
            result.statuses[code] = result.statuses.get(code, 0) + 1

    # As many connections as workers in the pool: the concurrency is exactly `concurrency`.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
    result.done = len(result.latencies)
    return result


def drive(
    base: str, workload: Workload, *, key: str, total: int, seconds: float, concurrency: int
) -> Measurement:
    """`concurrency` concurrent request loops over one keep-alive pool, stopping after
    `total` requests or `seconds`, whichever comes first (a slow server cannot hang a run)."""
    return asyncio.run(_drive(base + workload.path, workload, key, total, seconds, concurrency))


def requests_per_round(requests: int, rounds: int, concurrency: int) -> int:
    """Each workload's share of `requests` per round; at least one per concurrent loop."""
    return max(requests // rounds, concurrency)


def measure_interleaved(
    base: str,
    workloads: dict[str, Workload],
    *,
    key: str,
    requests: int,
    rounds: int,
    concurrency: int,
    seconds: float,
    warmup: int,
) -> dict[str, Measurement]:
    """Warm each workload up, then time them in `rounds` rounds, alternating the order
    (a, b, b, a, …) so that load from other processes on the machine hits all alike."""
    for workload in workloads.values():  # connections, imports, caches: not timed
        drive(base, workload, key=key, total=warmup, seconds=seconds, concurrency=concurrency)
    results = {label: Measurement() for label in workloads}
    per_round = requests_per_round(requests, rounds, concurrency)
    for round_number in range(rounds):
        order = list(workloads) if round_number % 2 == 0 else list(reversed(workloads))
        for label in order:
            results[label].add(
                drive(
                    base,
                    workloads[label],
                    key=key,
                    total=per_round,
                    seconds=seconds,
                    concurrency=concurrency,
                )
            )
    return results


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0 < q < 1, in hundredths) of values; NaN when there are none."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def print_results(
    results: dict[str, Measurement], *, heading: str, label_width: int, columns: list[Column]
) -> None:
    """One row per workload: label, the script's own columns, p50, p99 and statuses."""
    print(
        f"{heading:<{label_width}} "
        + "".join(f"{column.title:>{column.width}} " for column in columns)
        + f"{'p50 ms':>8} {'p99 ms':>8}  statuses"
    )
    for label, result in results.items():
        print(
            f"{label:<{label_width}} "
            + "".join(
                f"{column.value(label, result):{column.width}{column.spec}} " for column in columns
            )
            + f"{result.quantile_ms(0.5):8.1f} {result.quantile_ms(0.99):8.1f}  "
            f"{result.statuses}"
        )
