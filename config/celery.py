"""The Celery app: `celery -A config worker` runs a worker, `celery -A config beat` the schedule.

Broker and eagerness come from Django settings (CELERY_* names), which read the
environment: with no broker configured, tasks run in-process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("herald")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks outside an app's top-level tasks.py (autodiscovery only looks there).
app.autodiscover_tasks(["messaging.tracking", "messaging.scheduling"])

# Every periodic task of Herald, in one place.
app.conf.beat_schedule = {
    # Every minute, on its own queue: deliveries and shards whose worker died (stale
    # heartbeat) go back to pending and are enqueued again; dispatches and shards whose
    # task message never reached the broker, or that a Redis restart lost, are enqueued
    # again (messaging.delivery.sweeper). It also deletes Idempotency-Key answers older
    # than 24 hours.
    "dispatch-sweep": {
        "task": "messaging.tasks.dispatch_sweep_task",
        "schedule": 60.0,
        "options": {"queue": "sweeper"},
    },
    # Every 15 seconds, on the sweeper's queue: scheduled sends whose time has come become
    # dispatches (messaging.scheduling), so one fires within a minute of its time even when
    # a worker restarts in between; a local-time one fires zone by zone.
    "schedules-fire": {
        "task": "messaging.scheduling.tasks.schedules_fire_task",
        "schedule": 15.0,
        "options": {"queue": "sweeper"},
    },
    # Opens and clicks wait as raw hits until folded into the rollups. Each hit queues a
    # fold within a second; this one catches any fold whose task message was lost.
    "tracking-fold": {
        "task": "messaging.tracking.tasks.tracking_hits_fold_task",
        "schedule": 30.0,
    },
}
