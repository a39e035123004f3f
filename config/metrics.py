"""Prometheus metrics that processes count themselves (prometheus-client).

Counted where they happen: requests by the web processes (config.middleware), deliveries
and provider latency by whichever process runs the delivery (a Celery worker, or the web
process when tasks run eagerly). With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several
workers, Celery's prefork children, the demo's web server and worker), every process
writes its figures to files in that directory and `/metrics` adds them up; that
directory must be emptied when the processes start (gunicorn.conf.py, manage.py demo).
Figures that no process counts (queue depth, rollup lag, workers alive) are read when
`/metrics` is scraped (messaging.views.ops).

NOTE: prometheus-client picks its storage when it is imported: PROMETHEUS_MULTIPROC_DIR
must be in the environment before, which is why no setting can turn it on.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter(
    "herald_http_requests_total",
    "HTTP requests answered, by route (the URL pattern, or `unmatched`), method and status.",
    ["endpoint", "method", "status"],
)
DELIVERIES = Counter(
    "herald_deliveries_total",
    "Deliveries recorded with a final outcome, by channel, outcome and provider (adapter).",
    ["channel", "outcome", "provider"],
)
PROVIDER_LATENCY = Histogram(
    "herald_provider_latency_seconds",
    "Time a chunk of deliveries spent at its provider (its sends go concurrently, so about "
    "the slowest of them), by provider.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def exposition(extra) -> bytes:  # type: ignore[no-untyped-def]
    """The text format of every counted metric (summed over processes in multiprocess
    mode) plus the collector `extra`, which reads its figures at scrape time."""
    registry = CollectorRegistry()
    if MULTIPROCESS:
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (REQUESTS, DELIVERIES, PROVIDER_LATENCY):
            registry.register(collector)
    registry.register(extra)
    return generate_latest(registry)
