"""Herald's URLs plus the baselines of bench/send_throughput.py, each as small as its kind
of request gets, under the same server, settings and middleware as Herald's own views.

- `POST /bench/accept/bare`: checks the key (Herald's own lookup), parses the JSON body,
  answers 201 — no validation, no write;
- `POST /bench/accept/durable`: the same plus the least a send must do before its 201:
  one committed row holding the body (jsonb) and one push to Redis;
- `GET /bench/accept/select`: checks the key and answers one indexed SELECT of the
  campaigns as JSON — the floor of `GET /campaigns/list`.
"""

import json
import os

import redis
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from config.api.envelope import ApiError
from config.urls import handler404, handler500  # noqa: F401 - the same error views
from config.urls import urlpatterns as herald_urlpatterns
from messaging.access.auth import authenticate, presented_key

TABLE = "bench_accept"  # created by bench/send_throughput.py
_redis: dict[int, redis.Redis] = {}


def _push(value: bytes) -> None:
    pid = os.getpid()  # per gunicorn worker: a forked process must not share the socket
    if pid not in _redis:
        _redis[pid] = redis.Redis.from_url(os.environ["BENCH_ACCEPT_REDIS_URL"])
    _redis[pid].lpush("bench:accept", value)


def _refused(request: HttpRequest) -> JsonResponse | None:
    try:
        authenticate(presented_key(request))
    except ApiError as error:
        return JsonResponse({"message": error.message}, status=error.status)
    return None


@csrf_exempt
@require_POST
def bare(request: HttpRequest) -> JsonResponse:
    refused = _refused(request)
    if refused:
        return refused
    json.loads(request.body)
    return JsonResponse({"message": "success", "dispatch_id": "bench"}, status=201)


@csrf_exempt
@require_POST
def durable(request: HttpRequest) -> JsonResponse:
    refused = _refused(request)
    if refused:
        return refused
    json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (body) VALUES (%s::jsonb) RETURNING id",
            [request.body.decode()],
        )
        (row_id,) = cursor.fetchone()
    _push(str(row_id).encode())
    return JsonResponse({"message": "success", "dispatch_id": str(row_id)}, status=201)


@require_GET
def select(request: HttpRequest) -> JsonResponse:
    refused = _refused(request)
    if refused:
        return refused
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_id, name, updated_at FROM campaigns_campaign ORDER BY id LIMIT 100"
        )
        campaigns = [
            {"id": str(api_id), "name": name, "last_edited": updated.isoformat()}
            for api_id, name, updated in cursor.fetchall()
        ]
    return JsonResponse({"message": "success", "campaigns": campaigns})


urlpatterns = [
    path("bench/accept/bare", bare),
    path("bench/accept/durable", durable),
    path("bench/accept/select", select),
    *herald_urlpatterns,
]
