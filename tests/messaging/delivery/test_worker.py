"""End to end on PostgreSQL + Redis with a real `celery -A config worker` process.

The API call commits a dispatch and enqueues it on Redis (database 13); a separate worker
process picks it up, renders, and delivers the email to a real SMTP server and the
webhook to a real HTTP listener, both started by this test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection

from campaigns.models import Campaign, MessageVariation
from config.celery import app
from messaging.models import ContentCard, Delivery, Dispatch, DispatchShard, Profile
from messaging.tasks import dispatch_deliver_task
from tests.conftest import missing

from ..channels.test_email_smtp import Inbox, _free_port
from ..channels.test_webhook import Listener

BROKER = os.environ.get("HERALD_TEST_BROKER_URL", "redis://127.0.0.1:6379/13")
ROOT = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.worker]


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return False


@pytest.fixture
def broker(transactional_db):
    if connection.vendor != "postgresql":
        missing("the worker test needs PostgreSQL (set DATABASE_URL)")
    if not _redis_up():
        missing(f"the worker test needs Redis at {BROKER}")
    redis.Redis.from_url(BROKER).flushdb()

    def reset_pools():
        # TRICKY: an eager .apply() earlier in the session may have bound the app to the
        # default broker's pool; forget it as Celery does after a fork (kombu keeps the
        # pools themselves in a global registry, so they must not be closed here).
        app._pool = None
        app.amqp._producer_pool = None

    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = BROKER, False
    reset_pools()
    assert app.pool.connection.transport.driver_type == "redis"
    yield app
    app.conf.broker_url, app.conf.task_always_eager = saved
    reset_pools()


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def worker_env():
    """Extra environment of the worker process (a test may parametrize it)."""
    return {}


@pytest.fixture
def worker(broker, smtp_server, listener, worker_env):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": BROKER,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "DATABASE_CONN_MAX_AGE": "0",
        **worker_env,
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output[-4000:])  # shown when the test fails


def _wait(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def test_worker_process_delivers_a_send_made_through_the_api(worker, api, smtp_server, listener):
    campaign = Campaign.objects.create(name="Worker", status=Campaign.Status.ACTIVE)
    email = MessageVariation.objects.create(campaign=campaign, channel="email", name="Email")
    hook = MessageVariation.objects.create(campaign=campaign, channel="webhook", name="Hook")
    card = MessageVariation.objects.create(campaign=campaign, channel="content_card", name="Card")
    # Profiles arrive through the REST API, as a developer would create them.
    tracked = api.post(
        "/users/track",
        {
            "attributes": [
                {"external_id": n.lower(), "first_name": n, "email": f"{n.lower()}@example.test"}
                for n in ("Ada", "Grace", "Linus")
            ]
        },
    )
    assert tracked.status_code == 201, tracked.json()
    assert Profile.objects.count() == 3

    response = api.post(
        "/messages/send",
        {
            "campaign_id": campaign.campaign_id,
            "external_user_ids": ["ada", "grace", "linus"],
            "messages": {
                "email": {
                    "app_id": "a",
                    "message_variation_id": email.message_variation_id,
                    "from": "Acme <o@acme.test>",
                    "subject": "Hello {{${first_name}}}",
                    "body": "<p>Hi</p>",
                },
                "webhook": {
                    "message_variation_id": hook.message_variation_id,
                    "request_method": "POST",
                    "url": listener.url + "/u/{{${user_id}}}",
                    "body": "{{${first_name}}}",
                },
                "content_card": {
                    "message_variation_id": card.message_variation_id,
                    "type": "CLASSIC",
                    "title": "For {{${first_name}}}",
                    "description": "d",
                    "time_to_live": 600,
                },
            },
        },
    )
    assert response.status_code == 201
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])

    done = _wait(lambda: Dispatch.objects.filter(pk=dispatch.pk, status="done").exists())
    assert done, f"worker did not finish; exit code {worker.poll()}"
    assert sorted(m["Subject"] for _, m in smtp_server.messages) == [
        "Hello Ada",
        "Hello Grace",
        "Hello Linus",
    ]
    assert sorted((path, body) for _, path, _, body in listener.requests) == [
        ("/u/ada", "Ada"),
        ("/u/grace", "Grace"),
        ("/u/linus", "Linus"),
    ]
    assert sorted(ContentCard.objects.values_list("title", flat=True)) == [
        "For Ada",
        "For Grace",
        "For Linus",
    ]
    assert Delivery.objects.filter(dispatch=dispatch, status="delivered").count() == 9
    feed = api.get("/content_cards/feed", {"external_id": "grace"}).json()
    assert [card["title"] for card in feed["cards"]] == ["For Grace"]
    dispatch.refresh_from_db()
    assert (dispatch.recipients_resolved, dispatch.delivered_count) == (3, 9)

    # A duplicated task message (as after a redelivery) sends nothing twice.
    Dispatch.objects.filter(pk=dispatch.pk).update(status="running")
    dispatch_deliver_task.delay(dispatch.pk)
    assert _wait(lambda: Dispatch.objects.filter(pk=dispatch.pk, status="done").exists())
    assert len(smtp_server.messages) == 3 and len(listener.requests) == 3
    assert Delivery.objects.filter(dispatch=dispatch).count() == 9


@pytest.mark.parametrize(
    "worker_env", [{"DISPATCH_SHARD_SLICE_SECONDS": "0", "DELIVERY_CHUNK_SIZE": "2"}]
)
def test_a_broadcast_in_time_slices_reaches_everyone_once(worker, api, listener, make_profile):
    """Each slice sends one chunk and publishes its continuation to the bulk queue."""
    for n in range(9):
        make_profile(external_id=f"p{n}")
    response = api.post(
        "/messages/send",
        {
            "broadcast": True,
            "messages": {
                "webhook": {"request_method": "POST", "url": listener.url + "/b/{{${user_id}}}"}
            },
        },
    )
    assert response.status_code == 201, response.json()
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])
    done = _wait(lambda: Dispatch.objects.filter(pk=dispatch.pk, status="done").exists())
    assert done, f"worker did not finish; exit code {worker.poll()}"
    assert sorted(path for _, path, _, _ in listener.requests) == sorted(
        f"/b/p{n}" for n in range(9)
    )
    (shard,) = DispatchShard.objects.filter(dispatch=dispatch)
    assert shard.status == DispatchShard.Status.DONE
    # Taken once per slice; a slice sends the chunk in flight and the one prepared
    # meanwhile: 9 rows, 2 a chunk, at least 3 slices.
    assert shard.attempts >= 3
    assert set(Delivery.objects.filter(dispatch=dispatch).values_list("status", "attempts")) == {
        ("delivered", 1)
    }
