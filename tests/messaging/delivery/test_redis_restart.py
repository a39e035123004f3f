"""Fault test: the broker (Redis, no persistence) stops and starts under a running send.

A private `redis-server` (its own port, no RDB, no AOF) is the Celery broker of this test
only; a real `celery -A config worker` delivers a broadcast to a slow webhook sink. Once
the send is under way Redis is stopped (SIGTERM), kept down ~3 s and started again on the
same port, empty: every task message it held (queued shards, the worker's unacked ones)
is gone. While it is down, `POST /messages/send` still answers 201. Then the sweeper
(`dispatch_sweep_task`, called in-process every second) must see the lost broker
(`herald:broker-marker` missing) and publish again what was lost.

Expected: every recipient of both sends gets the message; a duplicate only for a row the
sweeper resent (`resends > 0`), always under the same X-Herald-Message-Id; the dispatches
and all their shards are done and `delivered_count` matches the rows.

Helpers (Sink, Workers, _wait, _webhook, _done) are test_faults.py's.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import redis
from django.db import connection

from config.celery import app
from messaging.models import Delivery, Dispatch, DispatchShard, Profile
from messaging.tasks import dispatch_sweep_task
from tests.conftest import missing
from tests.messaging.delivery.test_faults import Sink, Workers, _done, _wait, _webhook

pytestmark = [pytest.mark.worker, pytest.mark.fault]

PROFILES = 400
SHARD = 50  # 8 shards for a worker of 2 children: most are still queued when Redis stops
SINK_DELAY = 0.02  # seconds per request: a shard of 50 takes ~2 s here, the send ~8 s
STOP_AFTER = 40  # requests received before Redis is stopped
DOWN_SECONDS = 3
SMALL = ["r0", "r1", "r2"]  # the send accepted while Redis is down (its own webhook path)


class SlowSink(Sink):
    """test_faults' Sink, answering every request after SINK_DELAY."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        base = self.server.RequestHandlerClass

        class Slow(base):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                time.sleep(delay)
                super().do_POST()

        self.server.RequestHandlerClass = Slow


class PrivateRedis:
    """A throwaway redis-server on a free port: no RDB, no AOF, so a restart is empty."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        assert _wait(up, timeout=15, every=0.05), "the private redis-server did not start"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.output.append(self.process.communicate()[0] or "")
        self.process = None


@pytest.fixture
def private_broker(transactional_db, settings, tmp_path):
    if connection.vendor != "postgresql":
        missing("the fault tests need PostgreSQL (set DATABASE_URL)")
    if shutil.which("redis-server") is None:
        missing("this fault test needs redis-server (apt-get install redis-server)")
    server = PrivateRedis(tmp_path)
    server.start()
    settings.DELIVERY_STALE_SECONDS = 3

    def reset_pools():
        # TRICKY: as in test_faults: forget pools bound to another broker.
        app._pool = None
        app.amqp._producer_pool = None

    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = server.url, False
    reset_pools()
    yield server
    app.conf.broker_url, app.conf.task_always_eager = saved
    reset_pools()
    server.stop()
    print("".join(server.output)[-2000:])  # shown when the test fails


@pytest.fixture
def slow_sink():
    server = SlowSink(SINK_DELAY)
    yield server
    server.close()


@pytest.fixture
def redis_workers(private_broker):
    started = Workers()
    yield started
    started.stop()


def _start_worker(workers: Workers, broker: PrivateRedis):
    # Workers.start's own CELERY_BROKER_URL is test_faults' broker: this one wins.
    return workers.start(CELERY_BROKER_URL=broker.url, DISPATCH_SHARD_SIZE=str(SHARD),
                         DELIVERY_PER_HOST_CONCURRENCY="2")  # fmt: skip


def _check_delivered(dispatch: Dispatch, received: list[tuple[str, str]], prefix: str) -> dict:
    """Every row delivered and received, duplicates only for resent rows, under one ID."""
    rows = {d.message_id: d for d in Delivery.objects.filter(dispatch=dispatch)}
    assert {d.status for d in rows.values()} == {"delivered"}
    mine = [(path, mid) for path, mid in received if path.startswith(prefix + "/")]
    counts = Counter(mid for _, mid in mine)
    assert set(counts) == set(rows)  # every recipient got it, nothing unknown came
    ids_per_path = defaultdict(set)
    for path, mid in mine:
        ids_per_path[path].add(mid)
    assert len(ids_per_path) == len(rows)
    assert all(len(ids) == 1 for ids in ids_per_path.values())  # one ID per recipient
    duplicates = {mid for mid, n in counts.items() if n > 1}
    resent = {mid for mid, d in rows.items() if d.resends > 0}
    assert duplicates <= resent, {mid: rows[mid].resends for mid in duplicates}
    dispatch.refresh_from_db()
    assert dispatch.status == "done"
    assert dispatch.delivered_count == len(rows)
    shards = DispatchShard.objects.filter(dispatch=dispatch)
    assert shards.count() == dispatch.shards_total == dispatch.shards_done
    assert set(shards.values_list("status", flat=True)) == {"done"}
    return {"rows": len(rows), "resent": len(resent), "duplicates": len(duplicates)}


def test_a_redis_restart_under_a_running_send_loses_nothing(
    api, slow_sink, private_broker, redis_workers
):
    Profile.objects.bulk_create(
        Profile(external_id=f"r{i}", email=f"r{i}@example.test") for i in range(PROFILES)
    )
    worker = _start_worker(redis_workers, private_broker)
    response = api.post(
        "/messages/send", {"broadcast": True, "messages": _webhook(slow_sink.url + "/b")}
    )
    assert response.status_code == 201
    broadcast = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])

    # The send is under way: the broker goes, with every task message it holds.
    assert _wait(lambda: len(slow_sink.received) >= STOP_AFTER, timeout=60, every=0.02), (
        "the broadcast never started"
    )
    private_broker.stop()
    stopped_at = time.monotonic()
    at_stop = {
        "received": len(slow_sink.received),
        "shards": Counter(
            DispatchShard.objects.filter(dispatch=broadcast).values_list("status", flat=True)
        ),
    }
    assert not _done(broadcast.pk), f"the send ended before Redis stopped: {at_stop}"

    # Accepted while Redis is down: stored, answered, marked for the sweeper.
    started = time.monotonic()
    response = api.post(
        "/messages/send", {"external_user_ids": SMALL, "messages": _webhook(slow_sink.url + "/s")}
    )
    answer_seconds = time.monotonic() - started
    assert response.status_code == 201, response.content
    small = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])
    assert Dispatch.objects.filter(pk=small.pk, status="queued", needs_enqueue=True).exists()
    assert answer_seconds < 10

    time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - stopped_at)))
    private_broker.start()  # same port, empty
    if worker.poll() is not None:  # it died with its broker: a fresh one
        _start_worker(redis_workers, private_broker)

    # The sweeper, in-process every second (beat would run it every minute). The first
    # sweep after the restart finds the marker gone and publishes again what Redis lost:
    # the small send at least (the shards it held too, unless a worker has one).
    republished = [dispatch_sweep_task.apply().get()]
    assert republished[0] >= 1
    assert not Dispatch.objects.filter(pk=small.pk, needs_enqueue=True).exists()

    def swept_and_done() -> bool:
        republished.append(dispatch_sweep_task.apply().get())
        return _done(broadcast.pk) and _done(small.pk)

    assert _wait(swept_and_done, timeout=45, every=1.0), list(
        Dispatch.objects.filter(pk__in=[broadcast.pk, small.pk]).values(
            "pk", "status", "needs_enqueue", "shards_done", "shards_total", "delivered_count"
        )
    ) + [Counter(DispatchShard.objects.values_list("dispatch_id", "status"))]

    received = list(slow_sink.received)
    big = _check_delivered(broadcast, received, "/b")
    assert big["rows"] == PROFILES
    little = _check_delivered(small, received, "/s")
    assert little == {"rows": len(SMALL), "resent": 0, "duplicates": 0}
    assert not Dispatch.objects.filter(needs_enqueue=True).exists()
    print(
        f"Redis stopped after {at_stop['received']} requests, shards {dict(at_stop['shards'])};"
        f" send while down answered in {answer_seconds:.2f} s;"
        f" {len(republished)} sweeps enqueued {republished};"
        f" broadcast {big}; worker restarted: {len(redis_workers.processes) > 1}"
    )
