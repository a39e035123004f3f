"""Celery app of the bench workers: Herald's own app, plus one record per task run.

    celery -A _bench_worker worker ...   (with bench/ on PYTHONPATH; see _harness.py)

The app is `config.celery.app` unchanged: same tasks, routes and settings. This module
only connects two Celery signals that append, after every task, a JSON record to the
Redis list `BENCH_TASK_LOG_KEY` (default `bench:tasks`) of `BENCH_TASK_LOG_URL` (the
bench's own Redis database, flushed by the bench before and after): worker name, task
name, arguments, state, start and end (wall clock) and the process's peak RSS. The
bench reads that list to count tasks per worker and per 1,000 recipients, whatever the
tasks are called or however the delivery engine splits its work. Nothing here changes
what a task does; a failure to record is logged and ignored.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from typing import Any

from celery.signals import task_postrun, task_prerun

from config.celery import app

__all__ = ["app"]

log = logging.getLogger(__name__)
LOG_URL = os.environ.get("BENCH_TASK_LOG_URL", "")
LOG_KEY = os.environ.get("BENCH_TASK_LOG_KEY", "bench:tasks")
_started: dict[str, float] = {}
_client: dict[int, Any] = {}  # per process: prefork children must not share a socket


def _redis() -> Any:
    import redis  # imported where used: only the bench workers need it here

    pid = os.getpid()
    if pid not in _client:
        _client.clear()
        _client[pid] = redis.Redis.from_url(LOG_URL)
    return _client[pid]


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


@task_prerun.connect
def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.time()


@task_postrun.connect
def _task_finished(
    task_id: str | None = None,
    task: Any = None,
    args: Any = None,
    kwargs: Any = None,
    state: str | None = None,
    **_: Any,
) -> None:
    if not LOG_URL:
        return
    ended = time.time()
    record = {
        "worker": getattr(getattr(task, "request", None), "hostname", "") or "",
        "task": getattr(task, "name", ""),
        "args": _plain(list(args or [])),
        "kwargs": _plain(dict(kwargs or {})),
        "state": state,
        "started": _started.pop(task_id or "", ended),
        "ended": ended,
        "pid": os.getpid(),
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    try:
        _redis().rpush(LOG_KEY, json.dumps(record))
    except Exception:  # noqa: BLE001 - counting must never break the task it counts
        log.warning("bench task log: could not record %s", record["task"], exc_info=True)
