"""Health endpoints for load balancers and orchestrators.

- `/health/live`: the process answers (no dependency is checked: restarting a web process
  because the database is down would not help).
- `/health/ready`: it can serve, i.e. the database and the cache answer now. Celery
  workers are not checked: the API accepts sends while they restart, and their health
  shows on Settings › System and in `/metrics`.

Both answer JSON, 200 or 503, and are never cached.
"""

from __future__ import annotations

import time
import uuid

from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


def _check_database(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache(alias: str) -> None:
    key, value = f"herald:health:{uuid.uuid4().hex}", "ok"
    cache = caches[alias]
    cache.set(key, value, timeout=5)
    if cache.get(key) != value:
        raise RuntimeError("the cache did not keep a value")
    cache.delete(key)


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, object]] = {}
    for name, check in (
        *((f"database:{alias}", lambda a=alias: _check_database(a)) for alias in connections),
        *((f"cache:{alias}", lambda a=alias: _check_cache(a)) for alias in caches),
    ):
        started = time.monotonic()
        try:
            check()
        except Exception as error:  # noqa: BLE001 - whatever failed, the answer is "not ready"
            checks[name] = {"ok": False, "error": type(error).__name__}
            # A broken connection must not be reused by the next request of this thread.
            if name.startswith("database:"):
                connections[name.partition(":")[2]].close_if_unusable_or_obsolete()
        else:
            checks[name] = {"ok": True}
        checks[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                        status=200 if ok else 503)  # fmt: skip
