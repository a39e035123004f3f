"""A scheduled message, end to end on PostgreSQL + Redis with real worker processes.

The schedule is made through the API; a `celery -A config worker -B` process (the beat
schedule embedded) is started, killed before the schedule's time, and another started in
its place: the message reaches a real SMTP server once, within a minute of its time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign, MessageVariation
from messaging.models import Dispatch, ScheduledMessage

from ..delivery.test_worker import BROKER, ROOT, _wait, broker, smtp_server  # noqa: F401

pytestmark = [pytest.mark.worker]


def _start_worker(smtp_port: int, schedule_file: str, log_file) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": BROKER,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "DATABASE_CONN_MAX_AGE": "0",
    }
    env.pop("REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "-s", schedule_file,
         "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        # A file, not a pipe: a pipe nobody reads fills up and stalls the worker.
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_scheduled_message_is_delivered_once_within_a_minute_across_a_worker_restart(
    broker, smtp_server, api, make_profile, tmp_path  # noqa: F811
):
    campaign = Campaign.objects.create(name="Later", status=Campaign.Status.ACTIVE)
    email = MessageVariation.objects.create(campaign=campaign, channel="email", name="Email")
    make_profile(external_id="ada", first_name="Ada", email="ada@example.test")
    due = (timezone.now() + timedelta(seconds=30)).replace(microsecond=0)
    response = api.post("/messages/schedule/create", {
        "campaign_id": campaign.campaign_id,
        "external_user_ids": ["ada"],
        "schedule": {"time": due.isoformat()},
        "messages": {"email": {
            "app_id": "a", "message_variation_id": email.message_variation_id,
            "from": "Acme <o@acme.test>", "subject": "Later, {{${first_name}}}",
            "body": "<p>Hi</p>",
        }},
    })
    assert response.status_code == 201, response.json()
    answer = response.json()

    schedule_file = str(tmp_path / "beat-schedule")
    log_path = tmp_path / "workers.log"
    with open(log_path, "wb") as log_file:
        try:
            first = _start_worker(smtp_server.port, schedule_file, log_file)
            time.sleep(12)
            assert first.poll() is None, "the first worker did not stay up"
            # Killed outright, as a crash or a deploy's hard stop would.
            _stop(first, signal.SIGKILL)
            assert smtp_server.messages == []  # not before its time
            second = _start_worker(smtp_server.port, schedule_file, log_file)
            try:
                arrived = _wait(lambda: len(smtp_server.messages) >= 1, timeout=90)
                received_at = timezone.now()
                assert arrived, f"nothing delivered; worker exit code {second.poll()}"
                assert due - timedelta(seconds=1) <= received_at <= due + timedelta(seconds=60)
                # Two more ticks of the schedule (15 s each): still once.
                time.sleep(35)
            finally:
                _stop(second)
        finally:
            print(log_path.read_text(errors="replace")[-6000:])  # shown when the test fails

    (recipients, message), = smtp_server.messages
    assert recipients == ["ada@example.test"]
    assert message["Subject"] == "Later, Ada"
    row = ScheduledMessage.objects.get(schedule_id=answer["schedule_id"])
    assert row.status == "sent"
    dispatch = Dispatch.objects.get()
    assert dispatch.dispatch_id == answer["dispatch_id"] and dispatch.status == "done"
