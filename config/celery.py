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
app.autodiscover_tasks(["messaging.tracking"])

# Every periodic task of Herald, in one place.
app.conf.beat_schedule = {
    # Every minute, re-enqueue dispatches still queued after DISPATCH_SWEEP_AFTER_MINUTES
    # (default 5): their task message was lost, e.g. while the broker was down. It also
    # deletes Idempotency-Key answers older than 24 hours.
    "dispatch-sweep": {
        "task": "messaging.tasks.dispatch_sweep_task",
        "schedule": 60.0,
    },
    # Opens and clicks wait as raw hits until folded into the rollups. Each hit queues a
    # fold within a second; this one catches any fold whose task message was lost.
    "tracking-fold": {
        "task": "messaging.tracking.tasks.tracking_hits_fold_task",
        "schedule": 30.0,
    },
}
