"""What an operator watches: workers alive, queue depth, last sweep, delivery rate, rollup lag.

Shared through the cache (Redis in production, a file cache in the demo), so every web
process sees every worker, on any machine:

- each Celery worker writes a heartbeat every HEARTBEAT_SECONDS (a thread started when
  the worker is ready); one not heard of for WORKER_GONE_SECONDS is not alive;
- the sweep notes when it last ran;
- recorded deliveries are counted per minute (one increment per chunk).

Queue depth is asked of the broker and rollup lag of the database when a page or
`/metrics` wants them. With the cache down, these figures are unknown (None), never an
error: delivery goes on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Min
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

from analytics.models import TrackingHit
from config.celery import app

from .access.cache_outage import CacheUnavailable, cache_call

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
WORKER_GONE_SECONDS = 35
_WORKERS = "herald:ops:workers"  # {hostname: last heartbeat (epoch seconds)}
_WORKER = "herald:ops:worker:"  # + hostname: {"pid", "queues", "seen"}
_SWEEP = "herald:ops:sweep"
_PER_MINUTE = "herald:ops:delivered:"  # + epoch minute


@dataclass
class Worker:
    hostname: str
    pid: int
    queues: list[str]
    seen: datetime


@dataclass
class Status:
    workers: list[Worker] | None = None  # None: the cache is unreachable
    queues: dict[str, int | None] = field(default_factory=dict)  # None: broker unreachable
    last_sweep: datetime | None = None
    delivered_last_minute: int | None = None
    rollup_lag_seconds: float | None = 0.0  # None: the database is unreachable
    eager: bool = False  # no broker: tasks run in the web process, no worker to show


def _cached(what: str, call, default=None):  # type: ignore[no-untyped-def]
    try:
        return cache_call(what, call)
    except CacheUnavailable:
        return default


# --- Written by workers -------------------------------------------------------------


def worker_beat(hostname: str, queues: list[str]) -> None:
    now = time.time()
    cache.set(_WORKER + hostname, {"pid": os.getpid(), "queues": queues, "seen": now},
              timeout=WORKER_GONE_SECONDS * 4)  # fmt: skip
    # Read-modify-write: two workers starting at once may drop each other, and each puts
    # itself back at its next beat.
    known = cache.get(_WORKERS) or {}
    known = {h: t for h, t in known.items() if now - t < WORKER_GONE_SECONDS * 4}
    known[hostname] = now
    cache.set(_WORKERS, known, timeout=None)


def _worker_leave(hostname: str) -> None:
    known = cache.get(_WORKERS) or {}
    known.pop(hostname, None)
    cache.set(_WORKERS, known, timeout=None)
    cache.delete(_WORKER + hostname)


class _Beater:
    thread: threading.Thread | None = None
    stop = threading.Event()


@worker_ready.connect
def _worker_started(sender=None, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    """Start beating (`sender` is the worker's consumer, which knows its queues)."""
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    task_consumer = getattr(sender, "task_consumer", None)
    queues = sorted(q.name for q in getattr(task_consumer, "queues", []))

    def beat() -> None:
        while not _Beater.stop.is_set():
            _cached("worker heartbeat", lambda: worker_beat(hostname, queues))
            _Beater.stop.wait(HEARTBEAT_SECONDS)

    _Beater.stop.clear()
    _Beater.thread = threading.Thread(target=beat, name="herald-heartbeat", daemon=True)
    _Beater.thread.start()


@worker_shutdown.connect
def _worker_stopped(sender=None, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    _Beater.stop.set()
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    _cached("worker leaving", lambda: _worker_leave(hostname))


def sweep_mark() -> None:
    _cached("sweep mark", lambda: cache.set(_SWEEP, time.time(), timeout=None))


def deliveries_count(n: int) -> None:
    """`n` deliveries were just recorded (any outcome)."""
    if n <= 0:
        return
    key = _PER_MINUTE + str(int(time.time() // 60))

    def add() -> None:
        cache.add(key, 0, timeout=180)
        cache.incr(key, n)

    _cached("delivery rate", add)


# --- Read by the System page and /metrics -------------------------------------------


def workers_alive() -> list[Worker] | None:
    def read() -> list[Worker]:
        known = cache.get(_WORKERS) or {}
        details = cache.get_many([_WORKER + h for h in known])
        now = time.time()
        alive = []
        for hostname, seen in sorted(known.items()):
            if now - seen > WORKER_GONE_SECONDS:
                continue
            info = details.get(_WORKER + hostname) or {}
            alive.append(Worker(hostname, int(info.get("pid", 0)), list(info.get("queues", [])),
                                datetime.fromtimestamp(seen, tz=UTC)))  # fmt: skip
        return alive

    return _cached("reading worker heartbeats", read)


def queue_depths() -> dict[str, int | None]:
    """Messages waiting per queue of CELERY_TASK_QUEUES, as the broker counts them."""
    names = list(settings.CELERY_TASK_QUEUES)
    if app.conf.task_always_eager:
        return {}
    depths: dict[str, int | None] = dict.fromkeys(names)
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            channel = conn.default_channel
            for name in names:
                # Both the Redis and the filesystem transport count a queue's messages
                # (all priorities) this way; a queue never declared holds none.
                depths[name] = int(channel._size(name))
    except Exception as error:  # noqa: BLE001 - any broker failure means "unknown", shown as such
        log.warning("broker unreachable while reading queue depths: %r", error)
    return depths


def status() -> Status:
    now = timezone.now()
    last = _cached("reading the sweep mark", lambda: cache.get(_SWEEP))
    minute = int(time.time() // 60) - 1  # the last whole minute
    delivered = _cached(
        "reading the delivery rate", lambda: cache.get(_PER_MINUTE + str(minute), 0)
    )
    try:
        oldest = TrackingHit.objects.aggregate(oldest=Min("occurred_at"))["oldest"]
        lag: float | None = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    except DatabaseError as error:
        # /metrics must still answer while the database is down: that is when it matters.
        log.warning("database unreachable while reading the rollup lag: %s", error)
        lag = None
    return Status(
        workers=workers_alive(),
        queues=queue_depths(),
        last_sweep=datetime.fromtimestamp(last, tz=UTC) if last else None,
        delivered_last_minute=delivered,
        rollup_lag_seconds=lag,
        eager=bool(app.conf.task_always_eager),
    )


@worker_ready.connect
def _worker_metrics(sender=None, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    """HERALD_WORKER_METRICS_PORT: this worker host serves its own deliveries and provider
    latency to Prometheus (summed over its prefork children in multiprocess mode), for
    workers on machines where no web process shares their PROMETHEUS_MULTIPROC_DIR."""
    port = os.environ.get("HERALD_WORKER_METRICS_PORT")
    if not port:
        return
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(int(port), registry=registry)
