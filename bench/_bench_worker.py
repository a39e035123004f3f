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

It also times the two steps that make delivery rows (messaging.delivery.send calls
`rows_render`, then `rows_create`), wrapped where send.py looks them up: each record
carries the seconds spent in each and the rows inserted, so the bench can set rows
written per second of writing them (and of rendering plus writing) beside a raw COPY,
whatever the sends in between.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_process_init

from config.celery import app

__all__ = ["app"]

log = logging.getLogger(__name__)
LOG_URL = os.environ.get("BENCH_TASK_LOG_URL", "")
LOG_KEY = os.environ.get("BENCH_TASK_LOG_KEY", "bench:tasks")
_started: dict[str, float] = {}
_client: dict[int, Any] = {}  # per process: prefork children must not share a socket
# This task's so far (one task at a time: -c 1): seconds rendering rows, seconds writing
# them (insert, events, counters, commit), rows written.
_creating = {"render": 0.0, "write": 0.0, "rows": 0}


def _timed(function: Any, *, step: str) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = function(*args, **kwargs)
        finally:
            _creating[step] += time.perf_counter() - started
        if step == "write":
            _creating["rows"] += getattr(result, "rows", 0)
        return result

    return wrapper


@worker_process_init.connect
def _time_row_creation(**_: Any) -> None:
    from messaging.delivery import send  # needs Django set up: so in the pool's child

    send.rows_render = _timed(send.rows_render, step="render")
    send.rows_create = _timed(send.rows_create, step="write")


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
    _creating.update(render=0.0, write=0.0, rows=0)


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
        "render_seconds": _creating["render"],
        "write_seconds": _creating["write"],
        "rows_created": _creating["rows"],
    }
    try:
        _redis().rpush(LOG_KEY, json.dumps(record))
    except Exception:  # noqa: BLE001 - counting must never break the task it counts
        log.warning("bench task log: could not record %s", record["task"], exc_info=True)
