"""Middleware of Herald's own: request metrics."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .metrics import REQUESTS


def request_metrics(get_response: Callable[[HttpRequest], HttpResponse]):  # type: ignore[no-untyped-def]
    """Counts each answer by route, method and status (herald_http_requests_total).

    The route is the URL pattern (`messaging/campaigns/<str:campaign_id>/`), never the
    path itself, so that IDs in URLs do not make a new series each.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        match = getattr(request, "resolver_match", None)
        route = getattr(match, "route", None)
        if route is not None:
            endpoint = "/" + route
        elif request.path.startswith(_STATIC):
            endpoint = "static"  # answered by whitenoise, before any URL is resolved
        else:
            endpoint = "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        return response

    return middleware


_STATIC = "/" + settings.STATIC_URL.lstrip("/")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
