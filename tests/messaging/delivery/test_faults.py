"""Fault tests on PostgreSQL + Redis with real `celery -A config worker` processes.

- A worker (main process and its prefork children) SIGKILLed in the middle of a
  broadcast, by the engine's own failpoint (HERALD_FAILPOINT_KILL_AFTER_ATTEMPTS: after N
  deliveries handed to the adapter, before their outcomes are recorded), then a fresh
  worker and the sweeper: every recipient gets the message; the only duplicates are rows
  whose attempt had started, always under the same message ID (X-Herald-Message-Id).
- A receiver that hangs far longer than DELIVERY_STALE_SECONDS: the worker's heartbeat
  keeps its rows alive, the sweeper leaves them alone, each message arrives once.

The broker is Redis database HERALD_TEST_BROKER_URL (flushed here); heartbeats are
shortened (1 s, stale after 3 s) so the whole stage takes well under a minute.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from django.db import connection

from config.celery import app
from messaging.models import Delivery, Dispatch, DispatchShard, Profile
from messaging.tasks import dispatch_sweep_task
from tests.conftest import missing

BROKER = os.environ.get("HERALD_TEST_BROKER_URL", "redis://127.0.0.1:6379/13")
ROOT = Path(__file__).resolve().parents[3]
PROFILES = 300
SHARD = 100
CHUNK = 20
KILL_AFTER = 50  # deliveries handed over by one worker child before it kills the worker
HANG_SECONDS = 5

pytestmark = [pytest.mark.worker, pytest.mark.fault]


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return False


class Sink:
    """Webhook receiver that records (path, X-Herald-Message-Id) of every request;
    paths under /hang/ are answered after HANG_SECONDS."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if self.path.startswith("/hang/"):
                    time.sleep(HANG_SECONDS)
                with sink.lock:
                    sink.received.append(
                        (self.path, self.headers.get("X-Herald-Message-Id", ""))
                    )
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def broker(transactional_db, settings):
    if connection.vendor != "postgresql":
        missing("the fault tests need PostgreSQL (set DATABASE_URL)")
    if not _redis_up():
        missing(f"the fault tests need Redis at {BROKER}")
    redis.Redis.from_url(BROKER).flushdb()
    settings.DELIVERY_STALE_SECONDS = 3

    def reset_pools():
        # TRICKY: as in test_worker: forget pools bound to another broker.
        app._pool = None
        app.amqp._producer_pool = None

    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = BROKER, False
    reset_pools()
    yield app
    app.conf.broker_url, app.conf.task_always_eager = saved
    reset_pools()
    redis.Redis.from_url(BROKER).flushdb()


@pytest.fixture
def sink():
    server = Sink()
    yield server
    server.close()


class Workers:
    """Starts `celery worker` processes, each in its own session; stops them all."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, **extra_env: str) -> subprocess.Popen:
        db = connection.settings_dict
        env = dict(os.environ)
        env.pop("REDIS_URL", None)
        env.pop("HERALD_FAILPOINT_KILL_AFTER_ATTEMPTS", None)
        env |= {
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}"
                f"/{db['NAME']}"
            ),
            "CELERY_BROKER_URL": BROKER,
            "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "DATABASE_CONN_MAX_AGE": "0",
            "DISPATCH_SHARD_SIZE": str(SHARD),
            "DELIVERY_CHUNK_SIZE": str(CHUNK),
            "DELIVERY_HEARTBEAT_SECONDS": "1",
            "DELIVERY_STALE_SECONDS": "3",
            **extra_env,
        }
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-Q", "transactional,bulk,sweeper", "-c", "2", "--loglevel=INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # the failpoint kills this worker's group, nothing else
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate()[0] if process.stdout else ""
            print(output[-3000:])  # shown when the test fails


@pytest.fixture
def workers(broker):
    started = Workers()
    yield started
    started.stop()


def _wait(condition, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def _webhook(url: str) -> dict:
    return {
        "webhook": {
            "request_method": "POST",
            "url": url + "/{{${user_id}}}",
            "request_headers": {"Content-Type": "application/json"},
            "body": '{"user": "{{${user_id}}}"}',
        }
    }


def _done(dispatch_pk: int) -> bool:
    return Dispatch.objects.filter(pk=dispatch_pk, status="done").exists()


def test_a_worker_killed_mid_broadcast_loses_nothing_and_resends_under_the_same_id(
    api, sink, workers
):
    Profile.objects.bulk_create(
        Profile(external_id=f"k{i}", email=f"k{i}@example.test") for i in range(PROFILES)
    )
    doomed = workers.start(HERALD_FAILPOINT_KILL_AFTER_ATTEMPTS=str(KILL_AFTER))
    response = api.post("/messages/send", {"broadcast": True, "messages": _webhook(sink.url)})
    assert response.status_code == 201
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])

    # The failpoint SIGKILLs the worker's whole process group mid-broadcast.
    assert _wait(lambda: doomed.poll() is not None, timeout=60), "the failpoint never fired"
    assert doomed.returncode == -signal.SIGKILL
    assert not _done(dispatch.pk)
    in_flight = Delivery.objects.filter(dispatch=dispatch, status="sending").count()
    assert in_flight >= CHUNK  # at least the chunk handed over and never recorded

    # A fresh worker, and the sweeper (beat would run it every minute; here every second).
    workers.start()

    def swept_and_done() -> bool:
        dispatch_sweep_task.apply()
        return _done(dispatch.pk)

    assert _wait(swept_and_done, timeout=90, every=1.0), Dispatch.objects.filter(
        pk=dispatch.pk
    ).values("status", "shards_done", "shards_total", "delivered_count").first()

    rows = {d.message_id: d for d in Delivery.objects.filter(dispatch=dispatch)}
    assert len(rows) == PROFILES
    assert {d.status for d in rows.values()} == {"delivered"}
    received = Counter(message_id for _, message_id in sink.received)
    # Every recipient got it; every request carried its row's message ID.
    assert set(received) == set(rows)
    paths = defaultdict(set)
    for path, message_id in sink.received:
        paths[path].add(message_id)
    assert all(len(ids) == 1 for ids in paths.values())  # one ID per recipient, always
    duplicates = {message_id for message_id, n in received.items() if n > 1}
    resent = {message_id for message_id, d in rows.items() if d.resends > 0}
    assert duplicates, "the killed chunk should have been received, then resent"
    assert duplicates <= resent  # only rows whose attempt had started came twice
    assert max(received.values()) == 2
    dispatch.refresh_from_db()
    assert dispatch.delivered_count == PROFILES
    assert dispatch.resent_count == len(resent)
    assert DispatchShard.objects.filter(dispatch=dispatch, status="done").count() == 3
    print(
        f"killed with {in_flight} rows in flight; {len(resent)} resent, "
        f"{len(duplicates)} received twice (same message ID), {len(sink.received)} requests"
    )


def test_a_hanging_receiver_keeps_its_rows_while_the_worker_lives(api, sink, workers):
    ids = ["h0", "h1"]  # the webhook adapter of this branch sends a chunk one by one
    Profile.objects.bulk_create(Profile(external_id=x) for x in ids)
    workers.start()
    response = api.post(
        "/messages/send", {"external_user_ids": ids, "messages": _webhook(sink.url + "/hang")}
    )
    assert response.status_code == 201
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])
    assert _wait(
        lambda: Delivery.objects.filter(dispatch=dispatch, status="sending").count() == 2,
        timeout=30, every=0.1,
    )
    # Well past DELIVERY_STALE_SECONDS (3 s) while the receiver holds every request.
    started = time.monotonic()
    while time.monotonic() - started < 2 * HANG_SECONDS - 2:
        dispatch_sweep_task.apply()
        time.sleep(0.5)
        # Never released while its worker lives: still sending, or answered.
        assert not Delivery.objects.filter(dispatch=dispatch, status="pending").exists()
    assert _wait(lambda: _done(dispatch.pk), timeout=30)
    rows = list(Delivery.objects.filter(dispatch=dispatch))
    assert {(d.status, d.resends) for d in rows} == {("delivered", 0)}
    assert Counter(message_id for _, message_id in sink.received) == {
        d.message_id: 1 for d in rows
    }
