"""The REST API's gate: API key, IP allowlist, permission, rate limit, body size, JSON.

`guard(endpoint)` wraps a view registered with config.api.endpoint. Every answer,
errors included, carries Braze's X-RateLimit-* headers (empty when the key is unknown,
as recorded on Braze's 401s, spec §2.5).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from config.api import ApiError, Endpoint, json_body

from . import ratelimit
from .models import ApiKey

EMPTY_RATE_HEADERS = {"X-RateLimit-Limit": "", "X-RateLimit-Remaining": "", "X-RateLimit-Reset": ""}
# last_used_at is written at most this often per key, to keep writes off the hot path.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _presented_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return header.strip()
    # Legacy: `api_key` in the query string (spec §2.2); the body form is read by the caller.
    return request.GET.get("api_key") or None


def authenticate(request: HttpRequest, presented: str | None) -> ApiKey:
    if not presented:
        raise ApiError(401, "Unauthorized", headers=EMPTY_RATE_HEADERS)
    api_key = (
        ApiKey.objects.filter(prefix=ApiKey.prefix_of(presented), revoked_at__isnull=True)
        .only("id", "digest", "permissions", "allowed_networks", "last_used_at")
        .first()
    )
    if api_key is None or not api_key.matches(presented):
        raise ApiError(401, f"Invalid API key: {presented[:80]}", headers=EMPTY_RATE_HEADERS)
    return api_key


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def check_network(api_key: ApiKey, request: HttpRequest) -> None:
    if not api_key.allowed_networks:
        return
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        raise ApiError(401, "Invalid whitelisted IPs") from None
    for network in api_key.allowed_networks:
        if address in ipaddress.ip_network(network, strict=False):
            return
    raise ApiError(401, "Invalid whitelisted IPs")


def _touch(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)


def guard(endpoints: dict[str, Endpoint]) -> Callable[[HttpRequest], HttpResponse]:
    """One Django view for a path, dispatching on method to the registered endpoints."""

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        rate_headers: dict[str, str] = {}
        try:
            endpoint = endpoints.get(request.method or "")
            if endpoint is None:
                raise ApiError(405, "Method Not Allowed",
                               headers={"Allow": ", ".join(sorted(endpoints))})
            if len(request.body) > settings.API_MAX_BODY_BYTES:
                raise ApiError(413, "Request body too large",
                               [f"body: at most {settings.API_MAX_BODY_BYTES} bytes"])
            request.json = json_body(request) if request.method == "POST" else {}
            request.api_key = None
            if endpoint.permission is not None:
                presented = _presented_key(request)
                if presented is None and isinstance(request.json.get("api_key"), str):
                    presented = request.json["api_key"]
                api_key = authenticate(request, presented)
                check_network(api_key, request)
                if not api_key.has_permission(endpoint.permission):
                    raise ApiError(403, "Access Denied",
                                   [f"this API key lacks the {endpoint.permission} permission"])
                rate_headers = ratelimit.hit(key_id=api_key.pk, scope=endpoint.rate_limit)
                request.api_key = api_key
                _touch(api_key)
            response = endpoint.view(request)
        except ApiError as error:
            if not rate_headers and "X-RateLimit-Limit" not in error.headers:
                error.headers = {**EMPTY_RATE_HEADERS, **error.headers}
            response = error.response()
        for name, value in rate_headers.items():
            response.setdefault(name, value)
        return response

    return view
