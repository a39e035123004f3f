"""CORS for the web SDK's paths (/sdk/…): preflights answered here, origins echoed.

Every answer under /sdk/ names the caller's Origin in Access-Control-Allow-Origin, without
credentials (the SDK sends no cookies). That lets any page *read* an answer, which is safe
because each endpoint refuses a browser whose Origin its web app does not allow with a 403
before reading or writing anything (messaging.sdk.access), so the only answers a foreign
origin can read are refusals, which say why. The SDK's files (messaging.sdk.assets) are
public and say `*` themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PREFIX = "/sdk/"
EXPOSED = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"


class SdkCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        origin = request.headers.get("Origin")
        if (request.method == "OPTIONS" and origin
                and "Access-Control-Request-Method" in request.headers):
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, POST"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "86400"
        else:
            response = self.get_response(request)
        if origin and not response.has_header("Access-Control-Allow-Origin"):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = EXPOSED
            response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "Origin"]))
        return response
