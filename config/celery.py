"""The Celery app: `celery -A config worker` runs a worker.

Broker and eagerness come from Django settings (CELERY_* names), which read the
environment: with no broker configured, tasks run in-process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("herald")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
