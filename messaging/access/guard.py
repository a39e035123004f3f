"""The REST API's gate: method, body size, API key, IP allowlist, rate limit, permission,
then the declared input validated once, idempotency where declared, and the view.

`guard(endpoints)` makes one Django view of a path's registered endpoints (config.api);
config/urls.py is the only module that wires it in. Every answer, errors included, carries
Braze's X-RateLimit-* headers (empty when the key is unknown, as recorded on Braze's 401s,
spec §2.5). Errors are answered in Braze's envelope: an `ApiError` as it is, a `DomainError`
through the domain error table (config/braze_errors.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from config.api import ApiError, DomainError, Endpoint, api_error
from config.api.body import json_body, screen_body
from config.api.inputs import view_arguments

from .auth import (
    EMPTY_RATE_HEADERS,
    authenticate_counted,
    check_permission,
    presented_key,
    touch,
)
from .idempotency import idempotent
from .networks import check_network


def _error_response(error: ApiError, rate_headers: dict[str, str]) -> HttpResponse:
    if not rate_headers and "X-RateLimit-Limit" not in error.headers:
        error.headers = {**EMPTY_RATE_HEADERS, **error.headers}
    return error.response()


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
            screen_body(request)
            request.api_key = None
            if endpoint.permission is not None:
                # The key is checked before the body, so a stranger learns nothing about
                # what a valid request would look like.
                api_key, window, used = authenticate_counted(presented_key(request),
                                                             scope=endpoint.rate_limit)
                check_network(api_key, request)
                rate_headers = window.unknown() if used is None else window.answer(used)
                check_permission(api_key, endpoint.permission)
                request.api_key = api_key
                touch(api_key)
            request.json = json_body(request) if request.method == "POST" else {}
            arguments = view_arguments(endpoint, request, request.json)
            if endpoint.idempotent:
                response = idempotent(request, request.json,
                                      lambda: endpoint.view(request, **arguments))
            else:
                response = endpoint.view(request, **arguments)
        except DomainError as exc:
            response = _error_response(api_error(exc), rate_headers)
        except ApiError as error:
            response = _error_response(error, rate_headers)
        for name, value in rate_headers.items():
            response.setdefault(name, value)
        return response

    return view
